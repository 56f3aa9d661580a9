import { tfl } from '../../tfjs.js';
import type { Activation } from '../../applications/common.js';
import { UsageError } from '../../errors.js';
import { LayerNamer } from '../../util/names.js';
import { isContainer } from '../../model/introspect.js';

/** One layer of a classifier head. */
export type HeadLayerSpec =
  | { type: 'flatten' }
  | { type: 'gap' }
  | { type: 'gmp' }
  | { type: 'dense'; units: number; activation: string }
  | { type: 'dropout'; rate: number };

export const HEAD_SPEC_HELP =
  "a comma-separated list of: flatten | gap (global average pooling) | gmp (global max pooling) | dense:UNITS[:ACTIVATION] | dropout:RATE, e.g. 'flatten, dense:256:relu, dense:1:sigmoid'";

/**
 * The dropout rate in the default head: `gap, dropout:RATE, dense:…` on a zoo base where the head does not train on
 * standardised features (`DEFAULT_STANDARDIZE`), `dropout:RATE, dense:…` on an imported ONNX base. On a frozen base the head is a logistic regression on fixed features, and dropout on its
 * inputs acts like an L2 penalty (Wager et al., 2013), the regulariser a cross-validated linear probe picks strongly
 * on small sets. Zoo, against no dropout (5 seeds, 4 CIFAR-10 pairs and ants/bees, bench/accuracy.ts --seeds):
 * cat/dog +1 point (to the cross-validated probe), the defaults +0.3 on average, every change within the seeds' spread. ONNX bases keep Keras's 0.2: on the exported MobileNet measured, 0.5 left the
 * defaults 0.7–1.8 points lower (3 seeds).
 */
export const DEFAULT_HEAD_DROPOUT = { zoo: 0.5, onnx: 0.2 } as const;

/**
 * Whether a new default head trains on standardised features (train/fit/standardize.ts), with `DEFAULT_L2` and
 * no dropout: the cross-validated linear probe's recipe (StandardScaler, then strong L2). Zoo, against dropout 0.5
 * on raw features (5 seeds, bench/accuracy.ts; defaults / --epochs 10): airplane/ship +0.2 / +1.2, automobile/truck
 * +0.8 / +0.7, cat/dog +0.9 / +0.9, deer/truck −0.3 / +0.2, ants/bees −0.4 / −1.2 (153 images, sd 0.8–2.1); --epochs
 * 8, 20 and constant 10 +0.1…+4.1 except ants/bees 20 (−0.7). ONNX bases: not measured, so off.
 */
export const DEFAULT_STANDARDIZE = { zoo: true, onnx: false } as const;

/** Whether a new default head standardises unless told: classification only (a regression's penalty was not measured). */
export const standardizesByDefault = (task: string, onnx: boolean): boolean => task !== 'regression' && DEFAULT_STANDARDIZE[onnx ? 'onnx' : 'zoo'];

/**
 * The L2 penalty (Keras's `kernel_regularizer=l2(…)`, on the mean loss) of the default head's Dense kernel on
 * standardised features, for n training rows: min(0.1, 64 / n). On the mean loss a penalty that stays right must
 * shrink as 1/n (scikit-learn's C is on the summed loss; its cross-validation picks C = 0.01 on 800 CIFAR-10
 * images, 1 / (2·C·640) ≈ 0.08): 0.1 measured best at 640 rows (0.03, 0.06, 0.2 lower), and on 8,000 rows of 10
 * classes (the README's first job) 0.1 lost 1.5 points of validation accuracy where 0.01 gained 0.4.
 */
export const DEFAULT_L2 = { max: 0.1, perRows: 64 } as const;

/** `DEFAULT_L2` for n training rows. */
export const defaultL2 = (rows: number): number => Math.min(DEFAULT_L2.max, DEFAULT_L2.perRows / Math.max(1, rows));

const ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'selu', 'sigmoid', 'softmax', 'tanh', 'softplus', 'softsign', 'swish', 'mish', 'gelu'];

function parseLayer(token: string): HeadLayerSpec {
  const [kind, ...rest] = token.split(':').map((s) => s.trim());
  const bad = (why: string) => new UsageError(`head layer '${token}': ${why}; a head spec is ${HEAD_SPEC_HELP}`);
  switch (kind.toLowerCase()) {
    case 'flatten':
    case 'gap':
    case 'gmp':
      if (rest.length) throw bad('takes no arguments');
      return { type: kind.toLowerCase() as 'flatten' | 'gap' | 'gmp' };
    case 'dense': {
      const units = Number(rest[0]);
      if (rest.length < 1 || rest.length > 2 || !Number.isInteger(units) || units < 1)
        throw bad('needs dense:UNITS[:ACTIVATION] with UNITS a positive integer');
      const activation = (rest[1] || 'linear').toLowerCase();
      if (!ACTIVATIONS.includes(activation)) throw bad(`unknown activation '${rest[1]}' (known: ${ACTIVATIONS.join(', ')})`);
      return { type: 'dense', units, activation };
    }
    case 'dropout': {
      const rate = Number(rest[0]);
      if (rest.length !== 1 || !(rate >= 0 && rate < 1)) throw bad('needs dropout:RATE with 0 <= RATE < 1');
      return { type: 'dropout', rate };
    }
    default:
      throw bad('unknown layer type');
  }
}

/** 'flatten, dense:256:relu, dense:1:sigmoid' → the head's layers. */
export function parseHeadSpec(spec: string): HeadLayerSpec[] {
  const tokens = spec
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
  if (tokens.length === 0) throw new UsageError(`the head spec is empty; a head spec is ${HEAD_SPEC_HELP}`);
  return tokens.map(parseLayer);
}

/** The spec in its canonical string form (what `transferkit.json` records). */
export function formatHeadSpec(layers: HeadLayerSpec[]): string {
  return layers.map((l) => (l.type === 'dense' ? `dense:${l.units}:${l.activation}` : l.type === 'dropout' ? `dropout:${l.rate}` : l.type)).join(', ');
}

function layerNames(model: tfl.LayersModel): string[] {
  return model.layers.flatMap((l) => (isContainer(l) ? [l.name, ...layerNames(l)] : [l.name]));
}

function makeLayer(spec: HeadLayerSpec, names: LayerNamer, seed?: number): tfl.layers.Layer {
  switch (spec.type) {
    case 'flatten':
      return tfl.layers.flatten({ name: names.next('flatten') });
    case 'gap':
      return tfl.layers.globalAveragePooling2d({ name: names.next('global_average_pooling2d') });
    case 'gmp':
      return tfl.layers.globalMaxPooling2d({ name: names.next('global_max_pooling2d') });
    case 'dense':
      return tfl.layers.dense({
        units: spec.units,
        activation: spec.activation as Activation,
        kernelInitializer: seed === undefined ? 'glorotUniform' : tfl.initializers.glorotUniform({ seed }),
        name: names.next('dense'),
      });
    case 'dropout':
      return tfl.layers.dropout({ rate: spec.rate, name: names.next('dropout') });
  }
}

/**
 * `Sequential([base, ...head])`, as the Keras transfer-learning recipe writes it. The base stays one nested
 * layer, so freezing it, or unfreezing from one of its layers, acts on the same weights the new model trains.
 * With a seed, the new layers' initial weights are the same every run.
 */
export function addHead(base: tfl.LayersModel, spec: string | HeadLayerSpec[], options: { name?: string; seed?: number } = {}): tfl.Sequential {
  const name = options.name ?? 'sequential';
  const layers = typeof spec === 'string' ? parseHeadSpec(spec) : spec;
  const names = new LayerNamer([name, ...layerNames(base)]);
  const outputRank = (base.outputs[0].shape as number[]).length;
  if (outputRank > 2 && !layers.some((l) => l.type === 'flatten' || l.type === 'gap' || l.type === 'gmp')) {
    throw new UsageError(`the base ${base.name} outputs feature maps of shape [${base.outputs[0].shape.join(', ')}]: start the head with flatten, gap or gmp`);
  }
  const model = tfl.sequential({ name });
  model.add(base);
  for (const [i, l] of layers.entries()) {
    try {
      model.add(makeLayer(l, names, options.seed === undefined ? undefined : options.seed + i));
    } catch (err) {
      throw new UsageError(
        `head layer ${formatHeadSpec([l])} does not fit after ${model.layers[model.layers.length - 1].name}: ${(err as Error).message.split('\n')[0]}`,
      );
    }
  }
  return model;
}
