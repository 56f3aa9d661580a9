// Gradient checks of ONNX graphs against central finite differences, both run in ONNX Runtime: the analytic
// gradients from differentiate() and the forward graph evaluated at perturbed inputs (loss summed in float64).
import { spawnSync } from 'node:child_process';
import type * as OrtTypes from 'onnxruntime-node';
import { GraphBuilder } from '../src/engine/onnx/graph.js';
import { differentiate } from '../src/engine/onnx/grad/index.js';
import { inferShapes } from '../src/engine/onnx/grad/shapes.js';
import type { GraphValue } from '../src/engine/onnx/proto.js';
import { type Ort, loadOrt } from '../src/engine/ort-runtime.js';

/** A seeded generator of uniform and normal numbers. */
export function rng(seed: number) {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}

const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

/**
 * Makers of test inputs, each drawing its seed from `next`: `input` keeps values at least 0.1 away from kinks
 * (`avoid`: ReLU's 0, Clip's bounds) or makes them positive; `distinct` spaces them 0.05 apart in random order
 * (max pooling and Max/Min without near-ties).
 */
export function inputMaker(next: () => number) {
  const input = (name: string, dims: number[], options: { scale?: number; avoid?: number[]; positive?: boolean } = {}): GradInput => {
    const r = rng(next());
    const values = Float32Array.from({ length: size(dims) }, () => {
      for (;;) {
        const v = options.positive ? 0.5 + 1.5 * r.uniform() : r.normal() * (options.scale ?? 1);
        if (!(options.avoid ?? []).some((k) => Math.abs(v - k) < 0.1)) return v;
      }
    });
    return { name, dims, values };
  };
  const distinct = (name: string, dims: number[]): GradInput => {
    const r = rng(next());
    const n = size(dims);
    const v = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.05);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(r.uniform() * (i + 1));
      [v[i], v[j]] = [v[j], v[i]];
    }
    return { name, dims, values: Float32Array.from(v) };
  };
  return { input, distinct };
}

export interface GradInput {
  name: string;
  dims: number[];
  /** Values (default: standard normal). */
  values?: Float32Array;
}

export interface GradCase {
  opset?: number;
  inputs: GradInput[];
  /** Builds the op(s) on the inputs (by name) and returns the output to check. */
  build(g: GraphBuilder, x: Record<string, string>): string;
  /** The loss is already a scalar output of `build`: differentiate it directly instead of seeding Σ out·R. */
  scalarLoss?: boolean;
  /**
   * Finite-difference step (default 1e-2). The float32 forward pass rounds the loss at ~1e-7·|loss|, an error
   * divided by 2h: larger graphs with larger losses need a larger step (their inputs kept as far from kinks).
   */
  h?: number;
}

export interface GradReport {
  /** Worst |analytic − fd| / (|fd| + 0.1·max|fd| + 1e-3) over all checked elements. */
  worst: number;
  where: string;
  checked: number;
  backwardNodes: number;
  /** The inputs' values and their analytic gradients, by input name. */
  values: Record<string, Float32Array>;
  gradients: Record<string, Float32Array>;
  /** R of the loss Σ out·R (one 1 for a scalar loss), for checking the same gradients elsewhere. */
  seed: Float32Array;
}

async function session(ort: Ort, graph: GraphValue, opset: number): Promise<OrtTypes.InferenceSession> {
  const g = new GraphBuilder(graph.name);
  g.adopt(graph);
  for (const o of graph.outputs) g.output(o.name, o.dims);
  return ort.InferenceSession.create(g.encode(opset), { intraOpNumThreads: 1, graphOptimizationLevel: 'basic' });
}

/** Checks every input's gradient of one case; `values` fills inputs without their own. */
export async function gradCheck(c: GradCase, seed = 1): Promise<GradReport> {
  const opset = c.opset ?? 17;
  const ort = await loadOrt();
  const r = rng(seed);
  const values: Record<string, Float32Array> = {};
  for (const i of c.inputs) values[i.name] = i.values ?? Float32Array.from({ length: size(i.dims) }, () => r.normal());

  const fwd = new GraphBuilder('forward');
  const x: Record<string, string> = {};
  for (const i of c.inputs) x[i.name] = fwd.input(i.name, i.dims);
  const out = c.build(fwd, x);
  const forward = fwd.graph();
  const facts = inferShapes(forward);
  const outDims = facts.get(out)?.dims;
  if (!outDims || outDims.some((d) => typeof d !== 'number')) throw new Error(`shape inference left ${out} as ${JSON.stringify(outDims)}`);
  const outSize = size(outDims as number[]);
  const weights = c.scalarLoss ? Float32Array.of(1) : Float32Array.from({ length: outSize }, () => r.normal());

  // Analytic: the forward graph, a seed input R = d(Σ out·R)/d(out), and the gradients as outputs.
  const back = new GraphBuilder('backward');
  back.adopt(forward);
  const seedName = c.scalarLoss ? undefined : back.input('seed', outDims);
  const before = back.graph().nodes.length;
  const grads = differentiate(back, forward, { loss: seedName ? { value: out, seed: seedName } : out, wrt: c.inputs.map((i) => x[i.name]), facts });
  const backwardNodes = back.graph().nodes.length - before;
  for (const i of c.inputs) {
    const gname = grads.get(x[i.name]);
    if (!gname) throw new Error(`no gradient reached input ${i.name}`);
    back.output(gname, i.dims);
  }
  const backSession = await ort.InferenceSession.create(back.encode(opset), { intraOpNumThreads: 1 });
  const feeds = (vals: Record<string, Float32Array>) => Object.fromEntries(c.inputs.map((i) => [x[i.name], new ort.Tensor('float32', vals[i.name], i.dims)]));
  const analytic = await backSession.run({ ...feeds(values), ...(seedName ? { [seedName]: new ort.Tensor('float32', weights, outDims as number[]) } : {}) });

  // Finite differences: Σ out·R in float64 from ORT's float32 forward pass, Richardson-extrapolated (h, 2h).
  const fwdSession = await session(ort, { ...forward, outputs: [{ name: out, dims: outDims }] }, opset);
  const loss = async (vals: Record<string, Float32Array>) => {
    const y = (await fwdSession.run(feeds(vals)))[out].data as Float32Array;
    let s = 0;
    for (let k = 0; k < y.length; k++) s += y[k] * weights[c.scalarLoss ? 0 : k];
    return s;
  };
  const h = c.h ?? 1e-2;
  let worst = 0;
  let where = '';
  let checked = 0;
  for (const i of c.inputs) {
    const got = analytic[grads.get(x[i.name]) as string].data as Float32Array;
    const fd = new Float64Array(got.length);
    for (let k = 0; k < got.length; k++) {
      const central = async (h: number) => {
        const v = values[i.name].slice();
        const x0 = v[k];
        v[k] = x0 + h;
        const up = v[k];
        const plus = await loss({ ...values, [i.name]: v });
        v[k] = x0 - h;
        const down = v[k];
        const minus = await loss({ ...values, [i.name]: v });
        return (plus - minus) / (up - down);
      };
      fd[k] = (4 * (await central(h)) - (await central(2 * h))) / 3;
    }
    const scale = fd.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (let k = 0; k < got.length; k++) {
      const err = Math.abs(got[k] - fd[k]) / (Math.abs(fd[k]) + 0.1 * scale + 1e-3);
      if (!(err <= worst)) {
        worst = Number.isNaN(err) ? Number.POSITIVE_INFINITY : err;
        where = `${i.name}[${k}]: analytic ${got[k]}, finite differences ${fd[k]}`;
      }
      checked++;
    }
  }
  await backSession.release();
  await fwdSession.release();
  const gradients = Object.fromEntries(c.inputs.map((i) => [i.name, analytic[grads.get(x[i.name]) as string].data as Float32Array]));
  return { worst, where, checked, backwardNodes, values, gradients, seed: weights };
}

/** Debian's Python with torch 1.13, what the PyTorch comparisons run on. */
export const TORCH_PY = '/usr/bin/python3';

/** Whether TORCH_PY has torch; where not, says so on stderr and skips test `t` (finite differences still ran). */
export function torchOrSkip(t: { skip(message: string): void }): boolean {
  if (spawnSync(TORCH_PY, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0) return true;
  process.stderr.write(`NOTICE: ${TORCH_PY} has no torch: the PyTorch comparison is skipped (finite differences still ran)\n`);
  t.skip('PyTorch is not installed');
  return false;
}
