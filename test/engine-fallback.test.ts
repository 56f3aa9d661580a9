import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { addHead, applications, initBackend, unfreezeFrom } from '../src/index.js';
import { OrtTrainer } from '../src/engine/ort-trainer.js';
import { TfjsTrainer } from '../src/engine/tfjs-trainer.js';
import type { OptimizerSpec } from '../src/engine/optimizers.js';
import { cli, makeImageFolder, tempDir, withoutOrt, TINY_BASE } from './helpers.js';
import { seedWeights } from './seed-weights.js';

const relErr = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return worst;
};

describe('wasm convolution gradients (the kernels tfjs-wasm lacks) match the cpu backend', () => {
  after(async () => void (await initBackend('cpu')));
  const cases: Array<{ s: number; pad: 'same' | 'valid'; h: number; w: number; k: number; depthwise: boolean; m: number }> = [];
  for (const s of [1, 2])
    for (const pad of ['same', 'valid'] as const)
      for (const [h, w] of [
        [7, 7],
        [8, 6],
        [5, 9],
      ])
        for (const k of [1, 3, 5])
          for (const [depthwise, m] of [
            [false, 1],
            [true, 1],
            [true, 2],
          ] as const)
            if (!(pad === 'valid' && k > Math.min(h, w))) cases.push({ s, pad, h, w, k, depthwise, m });
  test(`${cases.length} shapes: strides 1/2, same/valid, odd/even sizes, conv and depthwise (multiplier 1 and 2)`, async () => {
    for (const c of cases) {
      await initBackend('cpu');
      const x = tf.randomNormal([2, c.h, c.w, 3], 0, 1, 'float32', 1);
      const f = tf.randomNormal(c.depthwise ? [c.k, c.k, 3, c.m] : [c.k, c.k, 3, 4], 0, 1, 'float32', 2);
      const loss = (a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(
          tf.square(
            c.depthwise ? tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad) : tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad),
          ),
        );
      const grads = async (backend: 'wasm' | 'cpu') => {
        await initBackend(backend);
        const [gx, gf] = tf.grads(loss)([tf.tensor(x.dataSync(), x.shape), tf.tensor(f.dataSync(), f.shape)]);
        return [await gx.data(), await gf.data()];
      };
      const want = await grads('cpu');
      const got = await grads('wasm');
      for (const q of [0, 1]) assert.ok(relErr(got[q], want[q]) < 1e-4, `${JSON.stringify(c)} d${q ? 'W' : 'X'}: ${relErr(got[q], want[q])}`);
    }
  });
});

describe('the tfjs-wasm trainer takes the same steps as the ONNX Runtime trainer', () => {
  after(async () => void (await initBackend('cpu')));
  const ZOO: Array<[string, number, string, string, OptimizerSpec]> = [
    ['vgg16', 32, 'block5_conv1', 'flatten, dense:16:relu, dropout:0.5, dense:1:sigmoid', { name: 'adam' }],
    ['mobilenet_v2', 32, 'Conv1', 'gap, dense:3:softmax', { name: 'sgd', momentum: 0.9 }],
    ['resnet50', 32, 'conv5_block1_1_conv', 'gap, dense:3:softmax', { name: 'rmsprop' }],
  ];
  for (const [id, size, cut, head, optimizer] of ZOO) {
    test(`${id} from ${cut}, ${optimizer.name}, 3 steps`, async () => {
      await initBackend('wasm');
      const base = await applications.getApplication(id).build({ weights: null, includeTop: false, inputShape: [size, size, 3] });
      // Seeded: with unseeded kernels one draw in many put a VGG16 weight's Adam step on a near-zero gradient whose
      // sign the two engines' roundings decide (a CI run: 0.01498 vs 0.01467).
      const model = addHead(base, head);
      seedWeights(model, { glorot: id === 'vgg16' });
      unfreezeFrom(model, cut);
      const prefix = tfl.model({ inputs: base.inputs, outputs: base.getLayer(cut).input as tfl.SymbolicTensor });
      const features = (prefix.predict(tf.randomUniform([4, size, size, 3], -1, 1, 'float32', 3)) as tf.Tensor).dataSync() as Float32Array;
      const binary = head.endsWith('sigmoid');
      const y = binary ? Float32Array.of(1, 0, 0, 1) : Float32Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0);
      const loss = binary ? 'binary_crossentropy' : 'categorical_crossentropy';
      const initial = model.getWeights().map((w) => w.dataSync().slice());
      const ort = await OrtTrainer.create(model, { from: cut, loss, optimizer, seed: 5 });
      const ortLosses: number[] = [];
      for (let s = 0; s < 3; s++) ortLosses.push((await ort.step(features, y, 4, 1e-3)).loss);
      ort.writeBack();
      await ort.dispose();
      const ortWeights = model.getWeights().map((w) => w.dataSync().slice());
      model.setWeights(initial.map((v, i) => tf.tensor(v, model.getWeights()[i].shape)));
      const wasm = await TfjsTrainer.create(model, { from: cut, loss, optimizer, seed: 5 }, 'wasm');
      const wasmLosses: number[] = [];
      for (let s = 0; s < 3; s++) wasmLosses.push((await wasm.step(features, y, 4, 1e-3)).loss);
      wasm.writeBack();
      const evaluated = await wasm.evaluate(features, y, 4);
      await wasm.dispose();
      assert.ok(Number.isFinite(evaluated.loss) && evaluated.output.length === y.length);
      wasmLosses.forEach((l, i) =>
        assert.ok(Math.abs(l - ortLosses[i]) < 1e-3 * Math.max(1, Math.abs(ortLosses[i])), `step ${i}: wasm ${l} vs ORT ${ortLosses[i]}`),
      );
      const wasmWeights = model.getWeights().map((w) => w.dataSync().slice());
      let changed = 0;
      // Adam and RMSprop move each weight by about the rate whatever its gradient: compare on that scale. Where a
      // gradient is within rounding of zero its normalised step is decided by the engines' roundings (ORT's
      // threaded sums differ run to run: a CI run moved one of ResNet50's 2.4M weights by 0.0008 vs 0.0011), so a
      // few such weights may differ — never by more than 3 steps can move one, and a wrong update moves thousands.
      const bound = 3 * 1e-3 * Math.sqrt(10) * 1.01;
      const off: string[] = [];
      let total = 0;
      wasmWeights.forEach((w, i) => {
        total += w.length;
        for (let k = 0; k < w.length; k++) {
          const d = Math.abs(w[k] - ortWeights[i][k]);
          assert.ok(d <= bound, `weight ${i}[${k}]: wasm ${w[k]} vs ORT ${ortWeights[i][k]}, beyond what 3 steps can move it`);
          if (d >= 2e-4 + 1e-3 * Math.abs(ortWeights[i][k])) off.push(`${i}[${k}]: wasm ${w[k]} vs ORT ${ortWeights[i][k]}`);
        }
        if (relErr(w, initial[i]) > 0) changed++;
      });
      assert.ok(off.length <= Math.max(2, 1e-5 * total), `${off.length} of ${total} weights differ: ${off.slice(0, 5).join('; ')}`);
      assert.ok(changed > 0, 'the steps changed the weights');
    });
  }
});

describe('without ONNX Runtime the CLI says so once and trains on tfjs-wasm', () => {
  const dir = tempDir();
  after(() => rmSync(dir, { recursive: true, force: true }));
  test('train and predict with onnxruntime-node failing to load', async () => {
    const data = await makeImageFolder(path.join(dir, 'data'), { perClass: 8 });
    const out = path.join(dir, 'model');
    const hook = withoutOrt(dir);
    const r = cli(
      ['train', data, ...TINY_BASE, '--strategy', 'fine-tune', '--unfreeze-from', 'conv_dw_13', '--epochs', '2', '--out', out, '--json'],
      {},
      undefined,
      hook,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr.match(/ONNX Runtime does not load here \(.*cannot open shared object file\); using tfjs on wasm/g)?.length, 1, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.history.length, 4);
    assert.ok(summary.history.every((h: { loss: number }) => Number.isFinite(h.loss)));
    assert.ok(existsSync(path.join(out, 'model.json')) && JSON.parse(readFileSync(path.join(out, 'transferkit.json'), 'utf8')).classNames.length === 2);
    const p = cli(['predict', out, path.join(data, 'alpha'), '--json'], {}, undefined, hook);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(JSON.parse(p.stdout).length, 8);
  });
});
