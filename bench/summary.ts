// The bench's result file and what it prints: every row with each side's spread, a ratio only with its range.
import type { BrowserBench } from './browser.js';
import type { EndToEnd } from './processes.js';
import type { StepMemory, StepScaling } from './memory.js';
import type { Row } from './rows.js';
import { type ShardBench, describeShardBench } from './shards.js';
import { formatRatio, formatSpread } from './spread.js';
import { textTable } from '../src/report/tables.js';
import { duration } from '../src/util/progress.js';

export interface BenchResult {
  date: string;
  quick: boolean;
  machine: object;
  peers: object[];
  /** The PyTorch of the sections outside `workloads` (end to end, seed workflow, step memory): the first peer's. */
  anchorTorch: string | null;
  method: string;
  startup: Array<{ command: string; ms: number }>;
  endToEnd: EndToEnd[];
  workloads: Row[];
  seedWorkflow: { images: number; epochsPerPhase: number; transferkitS: number | null; torchNaiveS: number | null; ratio: number | null };
  stepMemory: StepMemory[];
  stepScaling: StepScaling | null;
  extractPeakRssMb: number | null;
  trainPeakRssMb: { memory: number | null; disk: number | null };
  shardedExtract: ShardBench | null;
  /** The browser's step beside Node's and TensorFlow.js's (bench/browser.ts), where it ran. */
  browser?: BrowserBench | null;
  /** The whole run's wall time (s), its last section included. */
  wallS?: number;
}

function describeBrowser(b: BrowserBench): string[] {
  const e = b.featureEpochs;
  return [
    `\nin the browser (Chromium ${b.chromium}, cross-origin isolated: ${b.crossOriginIsolated}), ms/step (range):`,
    ...b.steps.flatMap((w) => [
      `${w.workload}:`,
      ...w.sides.map((s) => `  ${s.engine}: ${s.spread ? formatSpread(s.spread) : '-'}${s.note ? ` (${s.note})` : ''}`),
      ...w.ratios.map((r) => `  ${r.name}: ${formatRatio(r.median, r.range)}`),
      ...(w.webgpuVsWasm
        ? [`  WebGPU's first step vs wasm's: loss ${w.webgpuVsWasm.loss.toExponential(1)}, weights ${w.webgpuVsWasm.worstWeights.toExponential(1)} relative`]
        : []),
    ]),
    `an epoch of ${e.rows} rows of ${e.rowSize} floats, batch ${e.batch}: ${e.stores.map((s) => `${s.engine.split(' ').pop()} ${s.spread ? formatSpread(s.spread) : '-'} ms`).join(', ')}; opfs/memory ${formatRatio(e.opfsOverMemory.median, e.opfsOverMemory.range)}`,
    `WebGL: ${b.webgl}; WebGPU: ${b.webgpu}`,
  ];
}

const fmt = (v: number | null | undefined, d = 1) => (v === null || v === undefined ? '-' : v.toFixed(d));
/** "12.3 (11.0-15.2)": a side's median over the rounds and the range of its round medians. */
const ms = (r: Row) => (r.msPerStep === null ? '-' : `${fmt(r.msPerStep)}${r.range ? ` (${fmt(r.range[0])}-${fmt(r.range[1])})` : ''}`);

/** The row's note, and the load from other processes in its turns where it was notable (over 10% of the CPUs). */
function note(w: Row): string {
  const l = w.load;
  const pct = (v: number) => `${(100 * v).toFixed(0)}%`;
  const retimed = l?.retried ? `, ${l.retried} turns retimed` : '';
  const load = l && (l.maxOthers > 0.1 || l.retried) ? `others had ${pct(l.meanOthers)} of the CPUs (up to ${pct(l.maxOthers)})${retimed}` : '';
  return [w.note, load].filter(Boolean).join('; ');
}

export function describeResult(r: BenchResult): string {
  const lines = [
    textTable(
      ['Workload', 'Engine', 'ms/step (range)', 'GFLOP/s', 'vs torch (range)', 'Note'],
      r.workloads.map((w) => [w.name, w.engine, ms(w), fmt(w.gflops), formatRatio(w.vsTorch, w.spread), note(w)]),
      [false, false, true, true, true, false],
    ),
    `Start-up (whole process, median): ${r.startup.map((s) => `${s.command} ${s.ms.toFixed(0)} ms`).join(', ')}`,
    ...r.endToEnd.map(
      (e) => `${e.name}: transferkit ${e.transferkitS.toFixed(2)} s, PyTorch ${r.anchorTorch ?? ''} ${fmt(e.torchS, 2)} s, ${formatRatio(e.vsTorch, e.spread)}`,
    ),
  ];
  const s = r.seedWorkflow;
  lines.push(
    `\nseed workflow (${s.images} images, ${s.epochsPerPhase}+${s.epochsPerPhase} epochs): transferkit ${fmt(s.transferkitS)} s, PyTorch ${r.anchorTorch ?? ''} the Keras way ${fmt(s.torchNaiveS)} s, ratio ${fmt(s.ratio, 2)} (one run each)`,
  );
  if (r.extractPeakRssMb !== null) lines.push(`extract over the 10,000 CIFAR-10 test images at 32x32: peak RSS ${r.extractPeakRssMb.toFixed(0)} MB`);
  if (r.trainPeakRssMb.memory !== null)
    lines.push(
      `train on the 10,000 images at 96x96: peak RSS ${r.trainPeakRssMb.memory.toFixed(0)} MB with features in memory, ${fmt(r.trainPeakRssMb.disk, 0)} MB with --feature-cache disk`,
    );
  for (const m of r.stepMemory)
    lines.push(
      `vit_b_16 last 2 blocks + head, batch ${m.batch}: peak RSS ${fmt(m.ours?.peakRssMb, 0)} MB (${fmt(m.ours?.msPerStep)} ms/step), PyTorch ${r.anchorTorch ?? ''} ${fmt(m.torch?.peakRssMb, 0)} MB (${fmt(m.torch?.msPerStep)} ms/step)`,
    );
  const sc = r.stepScaling;
  if (sc) lines.push(`${sc.workload}: ${fmt(sc.oneCore?.imagesPerS)} images/s at 1 thread on 1 core, ${fmt(sc.twoCores?.imagesPerS)} at 2 threads`);
  if (r.shardedExtract) lines.push(describeShardBench(r.shardedExtract).trimEnd());
  if (r.browser) lines.push(...describeBrowser(r.browser));
  if (r.wallS !== undefined) lines.push(`the run took ${duration(r.wallS)}`);
  return `${lines.join('\n')}\n`;
}
