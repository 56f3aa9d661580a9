import { modelBlocks } from '../../applications/blocks.js';
import { textTable } from '../../report/tables.js';
import { formatCount } from '../../util/format.js';
import { command, printJson } from '../command.js';
import { withHelp } from '../flag.js';
import { MODEL_OPTIONS } from '../flags/model.js';
import { json } from '../flags/output.js';
import { buildBase } from '../model-options.js';
import type { OnnxBase } from '../../engine/onnx-base.js';
import { onnxSource, resolveBase } from '../../bases/resolve.js';
import { graphBlocks } from '../../engine/onnx/cut.js';

export const layersCommand = command({
  name: 'layers',
  usage: '<model> [options]',
  positionals: [1, 1],
  help: [
    ...MODEL_OPTIONS,
    withHelp(json, 'print [{block, firstLayer, layers, params, paramsFromHere}] as JSON'),
    '',
    `'Trained from here' counts the parameters that --unfreeze-from FIRST-LAYER makes trainable in the base.

An ONNX model (a .onnx file, a Transformers.js folder, or a registry backbone such as vit_b16) is listed by
blocks of its node names (encoder.layer.10, features.3): --json prints [{block, firstNode, nodes, params,
paramsFromHere, numbered}]; numbered blocks are what --unfreeze-last-blocks counts.

Examples:
  transferkit layers resnet50 --no-top
  transferkit layers model.onnx`,
  ],
  async run(values, [id]) {
    const onnx = onnxSource(id) ? resolveBase({ base: id }) : null;
    if (onnx?.kind === 'onnx') return onnxLayers(Boolean(values.json), onnx.onnx);
    const blocks = modelBlocks(await buildBase(id, values, false));
    if (values.json) return printJson(blocks);
    process.stdout.write(
      textTable(
        ['Block', 'Cut point (first layer)', 'Layers', 'Params', 'Trained from here'],
        blocks.map((b) => [b.block, b.firstLayer, String(b.layers), formatCount(b.params), formatCount(b.paramsFromHere)]),
        [false, false, true, true, true],
      ),
    );
  },
});

/** An imported graph's blocks, with the parameters from each one to the end. */
function onnxLayers(json: boolean, onnx: OnnxBase): void {
  const blocks = graphBlocks(onnx.model.graph);
  let after = blocks.reduce((n, b) => n + b.params, 0);
  const rows = blocks.map((b) => {
    const row = { block: b.name, firstNode: b.firstNode, nodes: b.nodes, params: b.params, paramsFromHere: after, numbered: b.numbered };
    after -= b.params;
    return row;
  });
  if (json) {
    printJson(rows);
    return;
  }
  process.stdout.write(`${onnx.file}: features from ${onnx.features.value} (${onnx.features.rule})\n\n`);
  process.stdout.write(
    textTable(
      ['Block', 'First node', 'Nodes', 'Params', 'From here'],
      rows.map((r) => [r.block, r.firstNode, String(r.nodes), formatCount(r.params), formatCount(r.paramsFromHere)]),
      [false, false, true, true, true],
    ),
  );
}
