// The bench's method (issue 30): spread and ratio formatting, peer choice, CPU shares from /proc, and the ORT
// tuning the bench sets. Pure logic and one real session; nothing here is timed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../src/engine/backend.js';
import { compileInference } from '../src/engine/onnx/compile.js';
import { createSession, loadOrt, tunedOptions, tuneOrt } from '../src/engine/ort-runtime.js';
import { cpuShares, parsePidStat, parseProcStat } from '../bench/cpu-share.js';
import { choosePeers, compareVersions, paired, peerEnv } from '../bench/peer.js';
import { opShares, topNodes } from '../bench/op-profile.js';
import { correlation, formatRatio, formatSpread, spreadOf } from '../bench/spread.js';
import { benchLog } from '../bench/log.js';
import { duration } from '../src/util/progress.js';

describe('bench method', () => {
  test('spreadOf: quartiles by linear interpolation, the IQR relative to the median, order-free', () => {
    const s = spreadOf([10, 1, 4, 2, 3]);
    assert.deepEqual(s, { min: 1, q1: 2, median: 3, q3: 4, max: 10, relIqr: 2 / 3 });
    assert.equal(spreadOf([2, 4]).median, 3);
    assert.equal(spreadOf([5]).relIqr, 0);
    assert.throws(() => spreadOf([]), RangeError);
  });

  test('a ratio is shown only with its range; a spread as median (min-max)', () => {
    assert.equal(formatRatio(1.234, [0.98, 1.4]), '1.23x (0.98-1.40)');
    assert.equal(formatRatio(1.2, null), '-');
    assert.equal(formatRatio(null, [1, 2]), '-');
    assert.equal(formatSpread({ min: 0.444, median: 0.49, max: 60.04 }), '0.49 (0.44-60.0)');
    assert.equal(formatSpread({ min: 120.4, median: 130.6, max: 150 }), '131 (120-150)');
  });

  test("progress: a line on stderr per section and pairing, with the run's time so far", () => {
    assert.deepEqual([duration(4.2), duration(187), duration(3725)], ['5s', '3m07s', '1h02m']);
    const lines: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => lines.push(chunk) > 0) as typeof process.stderr.write;
    try {
      benchLog('section steps');
    } finally {
      process.stderr.write = write;
    }
    assert.equal(lines.length, 1);
    assert.match(lines[0], /^bench +\d+s section steps\n$/);
  });

  test('peers: newest PyTorch first, all of them only when asked', () => {
    const found = [
      { python: 'venv', torch: '2.13.0+cpu' },
      { python: '/usr/bin/python3', torch: '1.13.0a0' },
    ];
    assert.deepEqual(choosePeers(found, false), [found[0]]);
    assert.deepEqual(choosePeers(found, true), found);
    assert.deepEqual(choosePeers([], false), []);
    assert.ok(compareVersions('2.13.0+cpu', '1.13.0a0') > 0);
    assert.ok(compareVersions('2.2.0', '2.13.0') < 0);
    assert.equal(compareVersions('2.13.0+cpu', '2.13.0'), 0);
  });

  test("the peer's environment: threads as ORT's, OpenMP waits passive unless asked for PyTorch's default", () => {
    assert.deepEqual(peerEnv('passive'), { OMP_NUM_THREADS: '2', MKL_NUM_THREADS: '2', OPENBLAS_NUM_THREADS: '2', OMP_WAIT_POLICY: 'PASSIVE' });
    assert.deepEqual(peerEnv('default'), { OMP_NUM_THREADS: '2', MKL_NUM_THREADS: '2', OPENBLAS_NUM_THREADS: '2' });
    assert.equal(peerEnv().OMP_WAIT_POLICY, 'PASSIVE');
  });

  test('paired: the ratio is the median of the rounds’ ratios, with their range and each side’s', async () => {
    const ours = [10, 20, 10];
    const theirs = [20, 20, 40];
    const p = await paired(
      3,
      async () => ours.shift() as number,
      async () => theirs.shift() as number,
    );
    assert.deepEqual(p, { ours: 10, theirs: 20, oursRange: [10, 20], theirsRange: [20, 40], ratio: 2, spread: [1, 4] });
    // With a gate that never retimes (no limit), the load in the turns is on record and nothing is retried.
    const gated = await paired(
      2,
      async () => 1,
      async () => 2,
      { pids: [process.pid], maxOthers: 1, retries: 0, pauseMs: 0 },
    );
    assert.equal(gated.ratio, 2);
    assert.equal(gated.load?.retried, 0);
    assert.ok((gated.load?.maxOthers ?? -1) >= 0 && (gated.load?.maxOthers ?? 2) <= 1);
    const alone = await paired(2, async () => 5);
    assert.equal(alone.ratio, null);
    assert.equal(alone.spread, null);
  });

  test('CPU shares: /proc/stat and /proc/PID/stat parsed, others = busy − the watched processes', () => {
    assert.deepEqual(parseProcStat('cpu  100 0 50 800 10 0 0 40 0 0\ncpu0 1 2 3'), { busy: 190, total: 1000, steal: 40 });
    // A command name with spaces and a parenthesis: fields are counted after the last ')'.
    const stat = '123 (node (x) y) S 1 123 123 0 -1 4194560 100 0 0 0 70 30 6 4 20 0 11 0 500 1000 200';
    assert.equal(parsePidStat(stat), 110); // utime, stime and the waited-for children's
    const a = { busy: 1000, total: 2000, steal: 0, own: [100, 50] };
    const b = { busy: 1150, total: 2200, steal: 20, own: [120, 110] };
    const s = cpuShares(a, b);
    assert.ok(s);
    assert.deepEqual(s.own, [0.1, 0.3]);
    assert.ok(Math.abs(s.others - 0.35) < 1e-12);
    assert.equal(s.steal, 0.1);
    assert.equal(cpuShares(a, a), null);
    assert.equal(cpuShares(null, b), null);
  });

  test('correlation: ±1 on lines, null when undefined', () => {
    assert.ok(Math.abs((correlation([1, 2, 3, 4], [2, 4, 6, 8]) as number) - 1) < 1e-12);
    assert.ok(Math.abs((correlation([1, 2, 3], [3, 2, 1]) as number) + 1) < 1e-12);
    assert.equal(correlation([1, 1, 1], [1, 2, 3]), null);
    assert.equal(correlation([1, 2], [1, 2]), null);
  });

  test('ORT tuning: none by default; spinning off and threads as session options the Node binding takes', async () => {
    const base = { intraOpNumThreads: 0, interOpNumThreads: 1 };
    assert.deepEqual(tunedOptions(base, {}), base);
    assert.deepEqual(tunedOptions(base, { threads: 1, spinning: false }), {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    });
    assert.deepEqual(tunedOptions(base, { spinning: true }), base);
    assert.deepEqual(tunedOptions(base, { denormalsAsZero: true, profile: '/tmp/p' }), {
      ...base,
      enableProfiling: true,
      profileFilePrefix: '/tmp/p',
      extra: { session: { set_denormal_as_zero: '1' } },
    });
    await initBackend('wasm');
    const input = tfl.input({ shape: [3] });
    const y = tfl.layers.dense({ units: 2 }).apply(input) as tfl.SymbolicTensor;
    const onnx = compileInference(tfl.model({ inputs: input, outputs: y })).onnx;
    tuneOrt({ spinning: false, threads: 1, denormalsAsZero: true });
    try {
      const ort = await loadOrt();
      const session = await createSession(ort, onnx); // the binding throws on an extra entry that is not a string
      const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', new Float32Array(3), [1, 3]) });
      assert.equal(out[session.outputNames[0]].dims.join(), '1,2');
      await session.release();
    } finally {
      tuneOrt({});
    }
  });

  test("op shares: ORT's kernel_time events summed by op type over the runs, largest first", () => {
    const trace = [
      { cat: 'Session', name: 'model_run', dur: 999 },
      { cat: 'Node', name: 'conv_a_kernel_time', dur: 600, args: { op_name: 'Conv' } },
      { cat: 'Node', name: 'conv_a_fence_before', dur: 5, args: { op_name: 'Conv' } },
      { cat: 'Node', name: 'conv_b_kernel_time', dur: 200, args: { op_name: 'Conv' } },
      { cat: 'Node', name: 'conv_a_kernel_time', dur: 600, args: { op_name: 'Conv' } },
      { cat: 'Node', name: 'mul_kernel_time', dur: 600, args: { op_name: 'Mul' } },
    ];
    assert.deepEqual(opShares(trace, 2), [
      { op: 'Conv', nodes: 2, msPerStep: 0.7, share: 0.7 },
      { op: 'Mul', nodes: 1, msPerStep: 0.3, share: 0.3 },
    ]);
    assert.deepEqual(opShares([], 1), []);
    assert.deepEqual(topNodes(trace, 2, 1), [{ node: 'conv_a', op: 'Conv', msPerStep: 0.6, share: 0.6 }]);
  });
});
