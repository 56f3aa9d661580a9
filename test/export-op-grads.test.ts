// The gradient rules of ops that PyTorch's exporters (TorchScript and dynamo) write into timm and Hugging Face
// backbones — ReduceL2 (ConvNeXtV2's GRN), InstanceNormalization (GroupNorm), Tile, Exp, Log, Abs, Max/Min,
// Softplus/Mish/Elu/Selu, GatherND, Resize, Einsum, ConvTranspose, Col2Im, BatchNormalization with frozen
// statistics — each against central finite differences in ONNX Runtime and against PyTorch autograd (float64) of
// the torch function the exporter translated (Debian's /usr/bin/python3 with torch; skipped with a notice where it
// is missing).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { GraphBuilder } from '../src/engine/onnx/graph.js';
import { type GradCase, type GradInput, type GradReport, TORCH_PY, gradCheck, inputMaker, torchOrSkip } from './grad-check.js';
import { ROOT } from './helpers.js';

let seed = 500;
const { input, distinct } = inputMaker(() => seed++);

interface Case extends GradCase {
  name: string;
  /** The same function in PyTorch: a Python expression over the inputs by name (torch, F imported). */
  torch?: string;
}
const CASES: Case[] = [];
const add = (name: string, inputs: GradInput[], build: GradCase['build'], torch?: string, opset?: number) => CASES.push({ name, inputs, build, torch, opset });

// Elementwise.
add('Exp', [input('a', [3, 4])], (g, x) => g.op('Exp', [x.a]), 'a.exp()');
add('Log', [input('a', [3, 4], { positive: true })], (g, x) => g.op('Log', [x.a]), 'a.log()');
add('Abs', [input('a', [3, 4], { avoid: [0] })], (g, x) => g.op('Abs', [x.a]), 'a.abs()');
add('Max with broadcasting', [distinct('a', [2, 3, 4]), distinct('b', [3, 1])], (g, x) => g.op('Max', [x.a, x.b]), 'torch.maximum(a, b)');
add('Softplus', [input('a', [3, 4], { scale: 2 })], (g, x) => g.op('Softplus', [x.a]), 'F.softplus(a)');
add('Mish (opset 18)', [input('a', [3, 4], { scale: 2 })], (g, x) => g.op('Mish', [x.a]), 'F.mish(a)', 18);
add('Elu alpha 0.7', [input('a', [3, 4], { avoid: [0] })], (g, x) => g.op('Elu', [x.a], { alpha: { float: 0.7 } }), 'F.elu(a, alpha=0.7)');
add('Selu', [input('a', [3, 4], { avoid: [0] })], (g, x) => g.op('Selu', [x.a]), 'F.selu(a)');
// At a tie each input gets half (PyTorch's rule; central differences see the same).
const tied = (name: string, values: number[]): GradInput => ({ name, dims: [2, 3], values: Float32Array.from(values) });
add(
  'Max with ties',
  [tied('a', [0.3, -0.2, 0.5, 1, -0.7, 0.2]), tied('b', [0.3, 0.1, 0.5, -1, -0.7, 0.9])],
  (g, x) => g.op('Max', [x.a, x.b]),
  'torch.maximum(a, b)',
);
add('Min with broadcasting', [distinct('a', [2, 3]), distinct('b', [3])], (g, x) => g.op('Min', [x.a, x.b]), 'torch.minimum(a, b)');

// Reductions.
add(
  'ReduceL2 over the channels, keepdims (GRN)',
  [input('a', [2, 3, 4, 5])],
  (g, x) => g.op('ReduceL2', [x.a], { axes: [1], keepdims: 1 }),
  'torch.linalg.vector_norm(a, dim=1, keepdim=True)',
);
add(
  'ReduceL2 axes input (opset 18), no keepdims',
  [input('a', [2, 4, 3])],
  (g, x) => g.op('ReduceL2', [x.a, g.ints('axes', [1, 2])], { keepdims: 0 }),
  'torch.linalg.vector_norm(a, dim=(1, 2))',
  18,
);
add('ReduceMin', [distinct('a', [2, 3, 4])], (g, x) => g.op('ReduceMin', [x.a], { axes: [2], keepdims: 0 }), 'a.amin(2)');
add('ReduceSumSquare', [input('a', [2, 3, 4])], (g, x) => g.op('ReduceSumSquare', [x.a], { axes: [0, 2] }), '(a * a).sum((0, 2), keepdim=True)');

// Normalisations.
add(
  'InstanceNormalization on [N, C, H, W]',
  [input('a', [2, 3, 4, 5]), input('s', [3]), input('b', [3])],
  (g, x) => g.op('InstanceNormalization', [x.a, x.s, x.b], { epsilon: { float: 1e-3 } }),
  'F.instance_norm(a, weight=s, bias=b, eps=1e-3)',
);
add(
  'InstanceNormalization on [N, C, L]',
  [input('a', [2, 4, 6]), input('s', [4]), input('b', [4])],
  (g, x) => g.op('InstanceNormalization', [x.a, x.s, x.b]),
  'F.instance_norm(a, weight=s, bias=b, eps=1e-5)',
);
/** GroupNorm as both exporters write it: [N, G, −1], InstanceNormalization with unit scale, back, then affine. */
const groupNorm = (g: GraphBuilder, x: Record<string, string>) => {
  const grouped = g.op('Reshape', [x.a, g.ints('shape', [0, 2, -1])]);
  const normed = g.op('InstanceNormalization', [grouped, g.constant('ones', [1, 1], [2]), g.constant('zeros', [0, 0], [2])]);
  const back = g.op('Reshape', [normed, g.op('Shape', [x.a])]);
  return g.op('Add', [g.op('Mul', [back, x.w]), x.b]);
};
add(
  'GroupNorm (2 groups) as exported',
  [input('a', [2, 4, 3, 3]), input('w', [4, 1, 1]), input('b', [4, 1, 1])],
  groupNorm,
  'F.group_norm(a, 2, w.flatten(), b.flatten())',
);
add(
  'BatchNormalization with frozen statistics (Linear + BatchNorm1d)',
  [input('a', [4, 3]), input('s', [3]), input('b', [3])],
  (g, x) => g.op('BatchNormalization', [x.a, x.s, x.b, g.constant('mean', [0.1, -0.2, 0.3], [3]), g.constant('var', [0.5, 1.5, 0.8], [3])]),
  'F.batch_norm(a, torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64), torch.tensor([0.5, 1.5, 0.8], dtype=torch.float64), s, b, training=False)',
);

// Moving values.
add('Tile [2,3] by [2,1]', [input('a', [2, 3])], (g, x) => g.op('Tile', [x.a, g.ints('reps', [2, 1])]), 'a.repeat(2, 1)');
add(
  'Tile a learned query over the batch (repeats from a Shape)',
  [input('q', [1, 1, 4]), input('b', [3, 1, 8])],
  (g, x) => {
    const batch = g.op('Slice', [g.op('Shape', [x.b]), g.ints('start', [0]), g.ints('end', [1])]);
    const tiled = g.op('Tile', [x.q, g.op('Concat', [batch, g.ints('rest', [1, 2])], { axis: 0 })]);
    return g.op('Mul', [tiled, x.b]);
  },
  'q.repeat(3, 1, 2) * b',
);
add(
  'GatherND pairs, repeated and negative indices',
  [input('a', [2, 3, 4])],
  (g, x) => g.op('GatherND', [x.a, g.op('Reshape', [g.ints('idx', [0, 1, 1, 2, 0, 1, -1, 0]), g.ints('shape', [4, 2])])]),
  'a[[0, 1, 0, -1], [1, 2, 1, 0]]',
);
add(
  'GatherND full indices',
  [input('a', [2, 3, 4])],
  (g, x) => g.op('GatherND', [x.a, g.op('Reshape', [g.ints('idx', [1, 2, 3, 0, 0, 1]), g.ints('shape', [2, 3])])]),
  'a[[1, 0], [2, 0], [3, 1]]',
);

// Resize: nearest and linear with each coordinate mode torch writes, cubic (DINOv2's position embeddings).
type ResizeAttributes = Record<string, string | number | number[] | { float: number }>;
const nearestFloor = { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' };
const linear = (coordinate_transformation_mode: string) => ({ mode: 'linear', coordinate_transformation_mode });
const bilinear = (size: string, alignCorners: boolean) => `F.interpolate(a, ${size}, mode='bilinear', align_corners=${alignCorners ? 'True' : 'False'})`;
// [name, attributes, the torch call (if any), scales, sizes, opset]
const RESIZES: Array<[string, ResizeAttributes, string | undefined, number[] | undefined, number[] | undefined, number?]> = [
  ['nearest ×2 (asymmetric, floor)', nearestFloor, "F.interpolate(a, scale_factor=2, mode='nearest')", [1, 1, 2, 2], undefined],
  ['nearest to 7×9 (asymmetric, floor)', nearestFloor, "F.interpolate(a, size=(7, 9), mode='nearest')", undefined, [2, 2, 7, 9]],
  [
    'nearest-exact to 3×7 (half_pixel, round_prefer_ceil)',
    { mode: 'nearest', nearest_mode: 'round_prefer_ceil' },
    "F.interpolate(a, size=(3, 7), mode='nearest-exact')",
    undefined,
    [2, 2, 3, 7],
  ],
  ['nearest ×1.5 defaults (half_pixel, round_prefer_floor)', {}, undefined, [1, 1, 1.5, 1.5], undefined],
  ['linear ×2 half_pixel', { mode: 'linear' }, bilinear('scale_factor=2', false), [1, 1, 2, 2], undefined],
  ['linear to 7×9 pytorch_half_pixel', linear('pytorch_half_pixel'), bilinear('size=(7, 9)', false), undefined, [2, 2, 7, 9]],
  ['linear to 3×2 pytorch_half_pixel (downscale)', linear('pytorch_half_pixel'), bilinear('size=(3, 2)', false), undefined, [2, 2, 3, 2]],
  ['linear to 7×9 align_corners', linear('align_corners'), bilinear('size=(7, 9)', true), undefined, [2, 2, 7, 9]],
  ['linear ×(1, 0.6) asymmetric', linear('asymmetric'), undefined, [1, 1, 1, 0.6], undefined],
  ['linear axes [2, 3] (opset 18)', { mode: 'linear', axes: [2, 3] }, bilinear('scale_factor=2', false), [2, 2], undefined, 18],
  ['linear half_pixel_symmetric (opset 19)', linear('half_pixel_symmetric'), undefined, [1, 1, 1.7, 0.7], undefined, 19],
  [
    'cubic ×2 half_pixel (a = −0.75)',
    { mode: 'cubic', cubic_coeff_a: { float: -0.75 } },
    "F.interpolate(a, scale_factor=2, mode='bicubic', align_corners=False)",
    [1, 1, 2, 2],
    undefined,
  ],
  ['cubic to 6×3 exclude_outside (a = −0.5)', { mode: 'cubic', exclude_outside: 1 }, undefined, undefined, [2, 2, 6, 3]],
];
for (const [name, attributes, torch, scales, sizes, opset] of RESIZES) {
  const build = (g: GraphBuilder, x: Record<string, string>) =>
    g.op('Resize', [x.a, '', scales ? g.constant('scales', scales, [scales.length]) : '', ...(sizes ? [g.ints('sizes', sizes)] : [])], attributes);
  add(`Resize ${name}`, [input('a', [2, 2, 4, 5])], build, torch, opset);
}

// Einsum as exporters write it.
add(
  'Einsum bqd,bd->bq',
  [input('a', [2, 3, 4]), input('b', [2, 4])],
  (g, x) => g.op('Einsum', [x.a, x.b], { equation: 'bqd,bd->bq' }),
  "torch.einsum('bqd,bd->bq', a, b)",
);
add(
  'Einsum bhid,bhjd->bhij (attention scores)',
  [input('a', [2, 2, 3, 4]), input('b', [2, 2, 5, 4])],
  (g, x) => g.op('Einsum', [x.a, x.b], { equation: 'bhid,bhjd->bhij' }),
  "torch.einsum('bhid,bhjd->bhij', a, b)",
);
add(
  'Einsum ...ij,...jk->...ik',
  [input('a', [2, 3, 4]), input('b', [2, 4, 5])],
  (g, x) => g.op('Einsum', [x.a, x.b], { equation: '...ij,...jk->...ik' }),
  "torch.einsum('...ij,...jk->...ik', a, b)",
);
add(
  'Einsum bij,jk (implicit output, an index summed in one operand)',
  [input('a', [2, 3, 4]), input('b', [4, 5])],
  (g, x) => g.op('Einsum', [x.a, x.b], { equation: 'bij,jk' }),
  "torch.einsum('bij,jk', a, b)",
);
add(
  'Einsum bij,bk->bk (indices summed within one operand)',
  [input('a', [2, 3, 4]), input('b', [2, 5])],
  (g, x) => g.op('Einsum', [x.a, x.b], { equation: 'bij,bk->bk' }),
  "torch.einsum('bij,bk->bk', a, b)",
);
add('Einsum i,j->ij', [input('a', [3]), input('b', [4])], (g, x) => g.op('Einsum', [x.a, x.b], { equation: 'i,j->ij' }), "torch.einsum('i,j->ij', a, b)");

// ConvTranspose (decoder-style upsampling).
const convT = (attributes: Record<string, number | number[]>) => (g: GraphBuilder, x: Record<string, string>) =>
  g.op('ConvTranspose', [x.a, x.w, x.b], attributes);
add(
  'ConvTranspose 3x3 stride 2 pads 1 output_padding 1',
  [input('a', [2, 3, 4, 4]), input('w', [3, 2, 3, 3]), input('b', [2])],
  convT({ strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }),
  'F.conv_transpose2d(a, w, b, stride=2, padding=1, output_padding=1)',
);
add(
  'ConvTranspose 2 groups, 2x2 stride 2',
  [input('a', [1, 4, 3, 3]), input('w', [4, 3, 2, 2]), input('b', [6])],
  convT({ strides: [2, 2], group: 2 }),
  'F.conv_transpose2d(a, w, b, stride=2, groups=2)',
);
add(
  'ConvTranspose dilation 2, asymmetric size',
  [input('a', [1, 2, 3, 4]), input('w', [2, 3, 3, 3]), input('b', [3])],
  convT({ dilations: [2, 2], pads: [1, 1, 1, 1] }),
  'F.conv_transpose2d(a, w, b, padding=1, dilation=2)',
);
add(
  'ConvTranspose 1-D stride 3',
  [input('a', [2, 2, 4]), input('w', [2, 3, 4]), input('b', [3])],
  convT({ strides: [3] }),
  'F.conv_transpose1d(a, w, b, stride=3)',
);

// Col2Im: torch's fold (Hugging Face MobileViTV2 patches), from the dynamo exporter at opset 18.
const col2Im = (image: number[], block: number[], attributes: Record<string, number[]>) => (g: GraphBuilder, x: Record<string, string>) =>
  g.op('Col2Im', [x.a, g.ints('image', image), g.ints('block', block)], attributes);
add('Col2Im 2x2 blocks stride 2 (fold)', [input('a', [2, 12, 6])], col2Im([4, 6], [2, 2], { strides: [2, 2] }), 'F.fold(a, (4, 6), (2, 2), stride=2)', 18);
add(
  'Col2Im 3x3 overlapping blocks, pads 1, dilation 2',
  [input('a', [1, 18, 6])],
  col2Im([5, 4], [3, 3], { pads: [1, 1, 1, 1], dilations: [2, 2] }),
  'F.fold(a, (5, 4), (3, 3), padding=1, dilation=2)',
  18,
);

const reports = new Map<string, GradReport>();

describe("the gradients of exported backbones' ops match finite differences", () => {
  for (const c of CASES) {
    test(c.name, async () => {
      const report = await gradCheck(c, seed++);
      assert.ok(report.checked > 0);
      assert.ok(report.worst < 1e-3, `worst relative error ${report.worst.toExponential(2)} at ${report.where}`);
      reports.set(c.name, report);
    });
  }
});

test('the same gradients match PyTorch autograd in float64 (optional: needs /usr/bin/python3 with torch)', (t) => {
  if (!torchOrSkip(t)) return;
  const checked = CASES.filter((c) => c.torch && reports.has(c.name));
  assert.equal(checked.length, CASES.filter((c) => c.torch).length, 'every finite-difference check ran first');
  const payload = checked.map((c) => {
    const r = reports.get(c.name) as GradReport;
    const inputs = c.inputs.map((i) => ({ name: i.name, dims: i.dims, values: Array.from(r.values[i.name]) }));
    return { name: c.name, expr: c.torch, inputs, seed: Array.from(r.seed) };
  });
  const run = spawnSync(TORCH_PY, [path.join(ROOT, 'test', 'python', 'torch_op_grads.py')], { input: JSON.stringify(payload), encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const torch = JSON.parse(run.stdout) as Record<string, Record<string, number[]>>;
  const failures: string[] = [];
  for (const c of checked) {
    const ours = (reports.get(c.name) as GradReport).gradients;
    for (const [name, theirs] of Object.entries(torch[c.name])) {
      const scale = Math.max(...theirs.map(Math.abs));
      const k = theirs.findIndex((v, i) => !(Math.abs(ours[name][i] - v) <= 1e-4 * scale + 1e-6));
      if (k >= 0) failures.push(`${c.name}: ${name}[${k}] ours ${ours[name][k]}, PyTorch ${theirs[k]}`);
    }
  }
  assert.deepEqual(failures, []);
});
