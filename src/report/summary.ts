import type * as tfl from '@tensorflow/tfjs-layers';
import { countParams, isContainer } from '../model/introspect.js';
import { formatCount, formatShape, paramsMemory } from '../util/format.js';

type Shape = Array<number | null> | Array<Array<number | null>>;

/** One row of Keras's `model.summary()` table. */
export interface LayerSummary {
  name: string;
  /** Keras's type name: 'Conv2D', 'Functional' for a nested model, … */
  className: string;
  outputShape: Shape;
  params: number;
  /** Whether the layer's weights train now (its own flag and every container above it); null when it has none. */
  trainable: boolean | null;
  /** 0 for the model's own layers, 1 inside a nested model, … (only with `expandNested`). */
  depth: number;
}

/** Keras's `model.summary()` as data: the layers and the parameter counts. */
export interface ModelSummary {
  model: string;
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
  layers: LayerSummary[];
}

/** Keras's `model.summary()` options. */
export interface SummaryOptions {
  /** Add Keras's Trainable column (Y / N / - for layers without weights). */
  showTrainable?: boolean;
  /** Total width of the table in characters (Keras's `line_length`). */
  lineLength?: number;
  /** List the layers of nested models under their row, indented. */
  expandNested?: boolean;
}

function className(layer: tfl.layers.Layer): string {
  const name = layer.getClassName();
  return name === 'Model' ? 'Functional' : name;
}

function rows(model: tfl.LayersModel, expandNested: boolean, depth: number, ancestorsTrainable: boolean): LayerSummary[] {
  // Keras leaves a Sequential model's implicit input layer out of its summary.
  const layers = model.getClassName() === 'Sequential' ? model.layers.filter((l) => l.getClassName() !== 'InputLayer') : model.layers;
  return layers.flatMap((layer) => {
    const c = countParams(layer, ancestorsTrainable);
    const row: LayerSummary = {
      name: layer.name,
      className: className(layer),
      outputShape: layer.outputShape as Shape,
      params: c.total,
      trainable: c.total === 0 ? null : ancestorsTrainable && layer.trainable,
      depth,
    };
    if (!(expandNested && isContainer(layer))) return [row];
    return [row, ...rows(layer, true, depth + 1, ancestorsTrainable && layer.trainable)];
  });
}

/** The summary as data: what `summary` prints and `transferkit summary --json` returns. */
export function summarize(model: tfl.LayersModel, options: Pick<SummaryOptions, 'expandNested'> = {}): ModelSummary {
  const c = countParams(model);
  return {
    model: model.name,
    totalParams: c.total,
    trainableParams: c.trainable,
    nonTrainableParams: c.nonTrainable,
    layers: rows(model, options.expandNested ?? false, 0, model.trainable),
  };
}

const pad = (s: string, width: number, right: boolean) => {
  const text = s.length > width ? s.slice(0, Math.max(0, width - 1)) + '…' : s;
  return right ? text.padStart(width) : text.padEnd(width);
};

/**
 * Keras's model summary as text: one row per layer with its output shape and parameter count, then total,
 * trainable and non-trainable parameters with their float32 size.
 */
export function summary(model: tfl.LayersModel, options: SummaryOptions = {}): string {
  const s = summarize(model, options);
  const showTrainable = options.showTrainable ?? false;
  // Keras's column positions for a sequential-like table, widened for the Trainable column.
  let positions = [0.45, 0.84, 1.0];
  const lineLength = options.lineLength ?? (showTrainable ? 100 : 88);
  if (showTrainable) positions = [...positions.map((p) => p * 0.88), 1.0];
  const widths = positions.map((p, i) => Math.max(4, Math.round((p - (i ? positions[i - 1] : 0)) * lineLength) - 3));
  const right = [false, false, true, false];
  const header = ['Layer (type)', 'Output Shape', 'Param #', 'Trainable'].slice(0, widths.length);
  const line = (l: string, m: string, r: string, fill: string) => l + widths.map((w) => fill.repeat(w + 2)).join(m) + r;
  const row = (cells: string[], edge: string) => edge + cells.map((c, i) => ` ${pad(c, widths[i], right[i])} `).join(edge) + edge;
  const out = [`Model: "${s.model}"`, line('┏', '┳', '┓', '━'), row(header, '┃'), line('┡', '╇', '┩', '━')];
  for (const r of s.layers) {
    const cells = [`${'  '.repeat(r.depth)}${r.name} (${r.className})`, formatShape(r.outputShape), formatCount(r.params)];
    if (showTrainable) cells.push(r.trainable === null ? '-' : r.trainable ? 'Y' : 'N');
    out.push(row(cells, '│'));
  }
  out.push(line('└', '┴', '┘', '─'));
  out.push(` Total params: ${formatCount(s.totalParams)} (${paramsMemory(s.totalParams)})`);
  out.push(` Trainable params: ${formatCount(s.trainableParams)} (${paramsMemory(s.trainableParams)})`);
  out.push(` Non-trainable params: ${formatCount(s.nonTrainableParams)} (${paramsMemory(s.nonTrainableParams)})`);
  return out.join('\n');
}
