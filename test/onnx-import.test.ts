// ONNX models as bases: the reader (round trip, every tensor data field, external data), forward parity with
// PyTorch on torchvision exports, the Transformers.js folder layout end to end from the CLI, and the registry.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import ort from 'onnxruntime-node';
import { loadImageBatch } from '../src/data/batches.js';
import { graphPredictor } from '../src/engine/graph-predictor.js';
import { fineTuneCut, graphBlocks, prefixGraph } from '../src/engine/onnx/cut.js';
import { defaultFeatures } from '../src/engine/onnx/default-features.js';
import { decodeModel, readOnnxFile } from '../src/engine/onnx/decode.js';
import { DataType, type ModelValue, encodeModelValue } from '../src/engine/onnx/proto.js';
import { concat } from '../src/engine/onnx/protobuf.js';
import { encodeBase, encodeFeatureBase, loadOnnxBase } from '../src/engine/onnx-base.js';
import { onnxPhotoSource } from '../src/train/model/onnx-base.js';
import { ROOT, cli, makeImageFolder, tempDir } from './helpers.js';
import { run } from './onnx-parity.js';
import { foreignModel } from './onnx-fixtures.js';
import { matmulElements } from './token-steps.js';

// --- a few protobuf fields by hand, for what transferkit's writer never emits (float_data, int64_data, external data)
const cat = (...parts: Uint8Array[]) => concat(parts);
function varint(v: bigint): Uint8Array {
  let x = BigInt.asUintN(64, v);
  const out: number[] = [];
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return Uint8Array.from(out);
}
const int = (f: number, v: number | bigint) => cat(varint(BigInt((f << 3) | 0)), varint(BigInt(v)));
const ld = (f: number, b: Uint8Array) => cat(varint(BigInt((f << 3) | 2)), varint(BigInt(b.length)), b);
const str = (f: number, s: string) => ld(f, new TextEncoder().encode(s));
const floatsLE = (v: number[]) => new Uint8Array(Float32Array.from(v).buffer);
const valueInfo = (name: string, dims: number[], elem = 1) =>
  cat(str(1, name), ld(2, ld(1, cat(int(1, elem), ld(2, cat(...dims.map((d) => ld(1, int(1, d)))))))));
const node = (op: string, inputs: string[], outputs: string[], name: string) =>
  cat(...inputs.map((i) => str(1, i)), ...outputs.map((o) => str(2, o)), str(3, name), str(4, op));

/** y = reshape((x + w1) * w2, shape): w1 in float_data (packed), w2 external (w.bin at offset 8), shape in int64_data. */
function handMadeModel(location: string): Uint8Array {
  const w1 = cat(int(1, 2), int(2, 1), str(8, 'w1'), ld(4, floatsLE([1, 2])));
  const external = cat(
    ld(13, cat(str(1, 'location'), str(2, location))),
    ld(13, cat(str(1, 'offset'), str(2, '8'))),
    ld(13, cat(str(1, 'length'), str(2, '8'))),
  );
  const w2 = cat(int(1, 2), int(2, 1), str(8, 'w2'), external, int(14, 1));
  const shape = cat(int(1, 2), int(2, 7), str(8, 'shape'), ld(7, cat(varint(1n), varint(2n))));
  const graph = cat(
    ld(1, node('Add', ['x', 'w1'], ['a'], 'add')),
    ld(1, node('Mul', ['a', 'w2'], ['b'], 'mul')),
    ld(1, node('Reshape', ['b', 'shape'], ['y'], 'reshape')),
    str(2, 'hand'),
    ld(5, w1),
    ld(5, w2),
    ld(5, shape),
    ld(11, valueInfo('x', [2])),
    ld(12, valueInfo('y', [1, 2])),
  );
  return cat(int(1, 8), str(2, 'test'), ld(7, graph), ld(8, cat(str(1, ''), int(2, 17))));
}

const floats = (raw: Uint8Array) => Array.from(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)));

describe('reading ONNX files', () => {
  test('float_data, int64_data and external data beside the model load; the rewritten model runs the same in ORT', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'w.bin'), cat(floatsLE([9, 9]), floatsLE([10, 100])));
    writeFileSync(path.join(dir, 'model.onnx'), handMadeModel('w.bin'));
    const model = readOnnxFile(path.join(dir, 'model.onnx'));
    const byName = new Map(model.graph.initializers.map((t) => [t.name, t]));
    assert.deepEqual(floats(byName.get('w1')?.raw as Uint8Array), [1, 2]);
    assert.deepEqual(floats(byName.get('w2')?.raw as Uint8Array), [10, 100]);
    const shape = byName.get('shape');
    assert.ok(shape);
    assert.equal(shape.dataType, DataType.INT64);
    assert.deepEqual(Array.from(new BigInt64Array(shape.raw.slice().buffer)), [1n, 2n]);
    // Rewritten (weights inline), read back: the same graph; ORT gives the same outputs as from the original file.
    const bytes = encodeModelValue(model);
    assert.deepEqual(decodeModel(bytes), { ...model, graph: { ...model.graph } });
    const x = new ort.Tensor('float32', Float32Array.from([0.5, -3]), [2]);
    const original = await ort.InferenceSession.create(path.join(dir, 'model.onnx'));
    const rewritten = await ort.InferenceSession.create(bytes);
    const a = (await original.run({ x })).y.data as Float32Array;
    const b = (await rewritten.run({ x })).y.data as Float32Array;
    assert.deepEqual(Array.from(b), Array.from(a));
    assert.deepEqual(Array.from(a), [15, -100]);
  });

  test('external data outside the model folder, missing or too short is refused with the file named', () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'm'));
    writeFileSync(path.join(dir, 'secret.bin'), new Uint8Array(16));
    for (const [location, why] of [
      ['../secret.bin', /outside the model's folder/],
      ['/etc/passwd', /outside the model's folder/],
      ['absent.bin', /missing beside the model/],
      ['short.bin', /runs past the file/],
    ] as const) {
      writeFileSync(path.join(dir, 'm', 'short.bin'), new Uint8Array(4));
      writeFileSync(path.join(dir, 'm', 'model.onnx'), handMadeModel(location));
      assert.throws(
        () => readOnnxFile(path.join(dir, 'm', 'model.onnx')),
        (e: Error) => e.message.includes('model.onnx') && why.test(e.message),
      );
    }
    writeFileSync(path.join(dir, 'junk.onnx'), Uint8Array.from([0x0a, 0xff, 0xff]));
    assert.throws(() => readOnnxFile(path.join(dir, 'junk.onnx')), /junk\.onnx: not a readable ONNX model/);
  });

  test('every attribute kind round-trips (ints past 2^53, strings, tensors, subgraphs, opset imports)', () => {
    const t = { name: 't', dims: [2], dataType: DataType.FLOAT, raw: floatsLE([1.5, -2]) };
    const body = {
      name: 'body',
      nodes: [{ opType: 'Identity', inputs: ['t'], outputs: ['u'], name: 'id', attributes: {} }],
      initializers: [],
      inputs: [],
      outputs: [{ name: 'u', dims: [2] }],
    };
    const model: ModelValue = {
      irVersion: 8,
      producerName: 'p',
      opsetImports: [
        { domain: '', version: 17 },
        { domain: 'com.microsoft', version: 1 },
      ],
      graph: {
        name: 'g',
        nodes: [
          {
            opType: 'Custom',
            domain: 'com.microsoft',
            inputs: ['x', ''],
            outputs: ['y'],
            name: 'n',
            attributes: {
              i: -3,
              big: 9223372036854775807n,
              ints: [1, -2, 3],
              bigs: { ints: [1, -9223372036854775807n] },
              f: { float: 0.25 },
              fs: { floats: [0.5, -1] },
              s: 'same',
              ss: { strings: ['a', 'b'] },
              t: { tensor: t },
              g: { graph: body },
            },
          },
        ],
        initializers: [t],
        inputs: [{ name: 'x', dims: ['N', 3], elemType: DataType.INT64 }],
        outputs: [{ name: 'y', dims: undefined }],
        valueInfo: [{ name: 'z', dims: [1] }],
      },
    };
    const back = decodeModel(encodeModelValue(model));
    const again = decodeModel(encodeModelValue(back));
    assert.deepEqual(again, back);
    const attrs = back.graph.nodes[0].attributes;
    assert.equal(attrs.big, 9223372036854775807n);
    assert.deepEqual(attrs.bigs, { ints: [1, -9223372036854775807n] });
    assert.deepEqual(attrs.ints, [1, -2, 3]);
    assert.deepEqual(attrs.ss, { strings: ['a', 'b'] });
    assert.equal(back.graph.nodes[0].domain, 'com.microsoft');
    assert.deepEqual(back.opsetImports, model.opsetImports);
    assert.deepEqual(back.graph.inputs[0], { name: 'x', dims: ['N', 3], elemType: DataType.INT64 });
  });
});

describe('an ONNX base from a Transformers.js folder, from the CLI', () => {
  test('extract → train (feature extraction) → predict → export onnx, which ORT runs with the same predictions', async () => {
    const dir = tempDir();
    const folder = path.join(dir, 'my-model');
    mkdirSync(path.join(folder, 'onnx'), { recursive: true });
    await foreignModel(path.join(folder, 'onnx', 'model.onnx'), 16, 5);
    writeFileSync(
      path.join(folder, 'preprocessor_config.json'),
      JSON.stringify({
        do_normalize: true,
        do_rescale: true,
        image_mean: [0.5, 0.5, 0.5],
        image_std: [0.5, 0.5, 0.5],
        rescale_factor: 1 / 255,
        size: { height: 16, width: 16 },
      }),
    );
    writeFileSync(path.join(folder, 'config.json'), JSON.stringify({ id2label: { 0: 'v', 1: 'w', 2: 'x', 3: 'y', 4: 'z' } }));
    const data = await makeImageFolder(path.join(dir, 'data'), { classes: ['red', 'green', 'blue'], perClass: 6 });

    const summary = cli(['summary', folder, '--json']);
    assert.equal(summary.code, 0, summary.stderr);
    const s = JSON.parse(summary.stdout);
    assert.equal(s.preprocessing.size, 16);
    assert.deepEqual(s.labels, ['v', 'w', 'x', 'y', 'z']);
    assert.match(s.features.rule, /input of the classifier/);

    const ex = cli(['extract', data, '--base', folder, '--out', path.join(dir, 'f.npy'), '--json']);
    assert.equal(ex.code, 0, ex.stderr);
    assert.deepEqual(JSON.parse(ex.stdout).shape, [18, 6]);

    const out = path.join(dir, 'run');
    const tr = cli(['train', data, '--base', folder, '--epochs', '3', '--out', out, '--json']);
    assert.equal(tr.code, 0, tr.stderr);
    const meta = JSON.parse(readFileSync(path.join(out, 'transferkit.json'), 'utf8'));
    assert.equal(meta.onnxBase.file, 'base.onnx');
    assert.equal(meta.onnxBase.features.size, 6);
    assert.equal(meta.preprocessing, 'none');

    const pr = cli(['predict', out, data, '--json', '--top-k', '3']);
    assert.equal(pr.code, 0, pr.stderr);
    const predictions = JSON.parse(pr.stdout) as Array<{ file: string; predictions: Array<{ label: string; probability: number }> }>;
    assert.equal(predictions.length, 18);
    const ev = cli(['evaluate', out, data, '--json']);
    assert.equal(ev.code, 0, ev.stderr);
    assert.equal(JSON.parse(ev.stdout).confusionMatrix.length, 3);

    const exported = path.join(dir, 'whole.onnx');
    const exp = cli(['export', out, '--format', 'onnx', '--out', exported]);
    assert.equal(exp.code, 0, exp.stderr);
    const session = await ort.InferenceSession.create(exported);
    const batch = await loadImageBatch(
      predictions.map((p) => ({ file: p.file })),
      { height: 16, width: 16, source: onnxPhotoSource(meta.onnxBase.preprocessing) },
    );
    const probs = (await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', batch.x, [18, 16, 16, 3]) }))[session.outputNames[0]]
      .data as Float32Array;
    const classNames = ['blue', 'green', 'red'];
    predictions.forEach((p, i) => {
      for (const q of p.predictions) assert.ok(Math.abs(probs[i * 3 + classNames.indexOf(q.label)] - q.probability) < 1e-5, `${p.file} ${q.label}`);
    });

    const tfjs = cli(['export', out, '--format', 'tfjs']);
    assert.equal(tfjs.code, 2);
    assert.match(tfjs.stderr, /imported ONNX base: export --format onnx .*only for zoo bases/);
  });

  test('fine-tuning an ONNX base: names are checked, a missing cut is one line; ONNX-only flags on a zoo base are refused', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'model.onnx');
    await foreignModel(file, 16, 3);
    const data = await makeImageFolder(path.join(dir, 'data'), { perClass: 2 });
    const blocks = graphBlocks(readOnnxFile(file).graph);
    assert.deepEqual(
      blocks.map((b) => [b.name, b.params, b.numbered]),
      [
        ['(top)', 0, false],
        ['features.0', 6 * 27 + 6, true],
        ['pool', 0, false],
        ['classifier', 6 * 3 + 3, false],
      ],
    );
    const noCut = cli(['train', data, '--base', file, '--strategy', 'fine-tune']);
    assert.equal(noCut.code, 2);
    assert.match(noCut.stderr, /fine-tuning an ONNX base needs where to cut: --unfreeze-last-blocks N or --unfreeze-from BLOCK/);
    assert.equal(noCut.stderr.trim().split('\n').length, 1);
    const unknown = cli(['train', data, '--base', file, '--unfreeze-from', 'encoder.layer.99']);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /--unfreeze-from encoder\.layer\.99: no node or value named 'encoder\.layer\.99'.*its blocks: features\.0/);
    const tooMany = cli(['train', data, '--base', file, '--unfreeze-last-blocks', '50']);
    assert.match(tooMany.stderr, /--unfreeze-last-blocks 50: the graph has 1 numbered block\(s\), so not the last 50/);
    const decay = cli(['train', data, '--base', file, '--unfreeze-last-blocks', '1', '--lr-decay', '0.5', '--validation-split', '0']);
    assert.notEqual(decay.code, 0);
    assert.match(decay.stderr, /--lr-decay applies to zoo bases/);
    assert.equal(decay.stderr.trim().split('\n').length, 1, decay.stderr);
    const zoo = cli(['train', data, '--base', 'mobilenet', '--features-from', 'x']);
    assert.equal(zoo.code, 2);
    assert.match(zoo.stderr, /--features-from applies to ONNX bases/);
  });

  test('the suffix after a cut is a graph of its own, with its trainable initializers listed', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'model.onnx');
    await foreignModel(file, 16, 3);
    const base = loadOnnxBase(file);
    const suffix = fineTuneCut(base.model.graph, { block: base.features.value }).suffix;
    assert.equal(suffix.graph.inputs[0].name, base.features.value);
    assert.ok(suffix.graph.nodes.some((n) => n.opType === 'MatMul' || n.opType === 'Gemm'));
    assert.equal(suffix.trainable.length, 2, suffix.trainable.join(', '));
    const cut = fineTuneCut(base.model.graph, { lastBlocks: 1 });
    assert.equal(cut.block, 'features.0');
    assert.deepEqual(cut.suffix.trainable.sort(), ['classifier_B', 'classifier_W', 'conv_B', 'conv_W']);
    assert.deepEqual(cut.suffix.shared, []);
  });
});

describe('the default feature value of Hugging Face exports', () => {
  /** pixel_values (N, 3, 4, 4) → last_hidden_state (N, 16, 3): token t is pixel t's channels; pooler_output = tanh(token 5). */
  function hfGraph(withPooler: boolean): Uint8Array {
    const ints = (name: string, v: number[]) => ({
      name,
      dims: [v.length],
      dataType: DataType.INT64,
      raw: new Uint8Array(BigInt64Array.from(v.map(BigInt)).buffer),
    });
    const nodes: ModelValue['graph']['nodes'] = [
      { opType: 'Reshape', inputs: ['pixel_values', 'shape'], outputs: ['flat'], name: '/embeddings/Reshape', attributes: {} },
      { opType: 'Transpose', inputs: ['flat'], outputs: ['last_hidden_state'], name: '/encoder/layer.0/Transpose', attributes: { perm: [0, 2, 1] } },
    ];
    if (withPooler) {
      nodes.push({ opType: 'Gather', inputs: ['last_hidden_state', 'five'], outputs: ['token'], name: '/pooler/Gather', attributes: { axis: 1 } });
      nodes.push({ opType: 'Tanh', inputs: ['token'], outputs: ['pooler_output'], name: '/pooler/Tanh', attributes: {} });
    }
    const five = { name: 'five', dims: [], dataType: DataType.INT64, raw: new Uint8Array(BigInt64Array.from([5n]).buffer) };
    return encodeModelValue({
      irVersion: 8,
      producerName: 'test',
      opsetImports: [{ domain: '', version: 14 }],
      graph: {
        name: 'hf',
        nodes,
        initializers: [ints('shape', [0, 3, 16]), five],
        inputs: [{ name: 'pixel_values', dims: ['batch', 3, 4, 4] }],
        outputs: [{ name: 'last_hidden_state', dims: ['batch', 16, 3] }, ...(withPooler ? [{ name: 'pooler_output', dims: ['batch', 3] }] : [])],
      },
    });
  }

  for (const [withPooler, rule, token] of [
    [false, /CLS token/, 0],
    [true, /pooler_output/, 5],
  ] as const) {
    test(`${withPooler ? 'pooler_output' : 'last_hidden_state[:, 0]'} is the default`, async () => {
      const dir = tempDir();
      writeFileSync(path.join(dir, 'model.onnx'), hfGraph(withPooler));
      const base = loadOnnxBase(path.join(dir, 'model.onnx'), { mean: [0, 0, 0], std: [1, 1, 1], inputSize: 4 });
      assert.match(base.features.rule, rule);
      const predictor = await graphPredictor(encodeBase(base), { imageShape: [4, 4, 3], label: 'hf' });
      try {
        // Channels-last pixels 0..47; pixel t's channels are 3t, 3t+1, 3t+2 (÷255 by the default rescale).
        const x = Float32Array.from({ length: 48 }, (_, i) => i);
        const got = Array.from(await predictor.predict(x, 1));
        const want = [0, 1, 2].map((c) => (3 * token + c) / 255).map((v) => (withPooler ? Math.tanh(v) : v));
        got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) < 1e-6, `${got} vs ${want}`));
      } finally {
        await predictor.dispose();
      }
    });
  }
});

describe('the default feature value of headless graphs', () => {
  /** x (N, 4, 3) → a LayerNorm-like residual (no classifier) → y: `flat` reshapes y to (N, 12). */
  function headless(flat: boolean): ModelValue['graph'] {
    const nodes: ModelValue['graph']['nodes'] = [
      { opType: 'Relu', inputs: ['x'], outputs: ['r'], name: '/blocks/blocks.0/Relu', attributes: {} },
      { opType: 'Add', inputs: ['x', 'r'], outputs: [flat ? 'seq' : 'y'], name: '/blocks/blocks.0/Add', attributes: {} },
    ];
    if (flat) nodes.push({ opType: 'Flatten', inputs: ['seq'], outputs: ['y'], name: '/Flatten', attributes: { axis: 1 } });
    return { name: 'g', nodes, initializers: [], inputs: [{ name: 'x', dims: ['N', 4, 3] }], outputs: [{ name: 'y', dims: flat ? ['N', 12] : ['N', 4, 3] }] };
  }

  test('a flat output with no classifier before it is the features; one that is not flat is refused naming --features-from', () => {
    const found = defaultFeatures(headless(true));
    assert.equal(found.value, 'y');
    assert.match(found.rule, /headless/);
    assert.throws(() => defaultFeatures(headless(false)), /found no features: .*--features-from NAME/);
  });
});

describe("torch's dynamo exporter: blocks from node metadata, the batch size read from the input", () => {
  /**
   * x (N, 4, 6) → layers.0: x + x·W0 → layers.1: (r0·W1) reshaped to (N, 24) by a shape made of Shape(x)[0] (as
   * dynamo reads the dynamic batch once, at the top) → classifier Gemm. Nodes are named node_<Op>_<n>, their
   * module paths in metadata.
   */
  function dynamoGraph(): ModelValue {
    const floats = (name: string, dims: number[], seed: number) => {
      const v = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(seed * 7 + i * 1.3));
      return { name, dims, dataType: DataType.FLOAT, raw: new Uint8Array(v.buffer) };
    };
    const scopes = (...s: string[]) => ({ 'pkg.torch.onnx.name_scopes': `[${s.map((x) => `'${x}'`).join(', ')}]` });
    const node = (opType: string, inputs: string[], output: string, metadata: Record<string, string>, attributes = {}) => ({
      opType,
      inputs,
      outputs: [output],
      name: `node_${opType}_${output}`,
      attributes,
      metadata,
    });
    const top = scopes('_empty_nn_module_stack_from_metadata_hook', 'sym_size_int');
    return {
      irVersion: 8,
      producerName: 'pytorch',
      opsetImports: [{ domain: '', version: 18 }],
      graph: {
        name: 'main_graph',
        nodes: [
          node('Shape', ['x'], 'batch', top, { start: 0, end: 1 }),
          node('MatMul', ['x', 'w0'], 'h0', scopes('', 'layers', 'layers.0', 'layers.0.fc', 'linear')),
          node('Add', ['x', 'h0'], 'r0', scopes('', 'layers', 'layers.0', 'add')),
          node('MatMul', ['r0', 'w1'], 'h1', scopes('', 'layers', 'layers.1', 'layers.1.fc', 'linear_1')),
          node('Concat', ['batch', 'width'], 'shape', scopes('', 'layers', 'layers.1', 'view'), { axis: 0 }),
          node('Reshape', ['h1', 'shape'], 'flat', scopes('', 'layers', 'layers.1', 'view')),
          node('Gemm', ['flat', 'wc'], 'logits', scopes('', 'classifier', 'linear_2')),
        ],
        initializers: [
          floats('w0', [6, 6], 1),
          floats('w1', [6, 6], 2),
          floats('wc', [24, 3], 3),
          { name: 'width', dims: [1], dataType: DataType.INT64, raw: new Uint8Array(BigInt64Array.from([24n]).buffer) },
        ],
        inputs: [{ name: 'x', dims: ['batch_size', 4, 6] }],
        outputs: [{ name: 'logits', dims: ['batch_size', 3] }],
      },
    };
  }

  test('layers lists layers.0 and layers.1; cut before layers.1, the suffix reads the batch from the cut and gives the same logits', async () => {
    const model = decodeModel(encodeModelValue(dynamoGraph()));
    assert.deepEqual(model.graph.nodes[1].metadata, dynamoGraph().graph.nodes[1].metadata, 'metadata round-trips');
    const blocks = graphBlocks(model.graph).filter((b) => b.numbered);
    assert.deepEqual(
      blocks.map((b) => b.name),
      ['layers.0', 'layers.1'],
    );
    const cut = fineTuneCut(model.graph, { lastBlocks: 1 });
    assert.equal(cut.value, 'r0');
    assert.ok(!cut.suffix.graph.nodes.some((n) => n.inputs.includes('x')), 'the suffix no longer reads x');
    const x = new ort.Tensor(
      'float32',
      Float32Array.from({ length: 3 * 24 }, (_, i) => Math.cos(i)),
      [3, 4, 6],
    );
    const whole = (await run(model, { x })).data as Float32Array;
    const middle = await run({ ...model, graph: prefixGraph(model.graph, 'r0') }, { x });
    const split = (await run({ ...model, graph: cut.suffix.graph }, { r0: middle })).data as Float32Array;
    assert.deepEqual(Array.from(split), Array.from(whole));
  });
});

describe('the ONNX backbone registry', () => {
  test('weights import FOLDER --as vit_b16 pins its hashes; --base vit_b16 then resolves to the cached folder', async () => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    const folder = path.join(dir, 'copy');
    mkdirSync(path.join(folder, 'onnx'), { recursive: true });
    await foreignModel(path.join(folder, 'onnx', 'model.onnx'), 16, 3);
    writeFileSync(path.join(folder, 'preprocessor_config.json'), JSON.stringify({ size: 16, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5] }));
    const env = { TRANSFERKIT_HOME: home };
    const missing = cli(['layers', 'vit_b16'], env);
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /vit_b16 .* is not in the cache: transferkit weights fetch vit_b16, or offline: transferkit weights import FOLDER --as vit_b16/,
    );
    const imp = cli(['weights', 'import', folder, '--as', 'vit_b16', '--json'], env);
    assert.equal(imp.code, 0, imp.stderr);
    assert.match(imp.stderr, /no hash is published; recorded sha256/);
    const r = JSON.parse(imp.stdout);
    assert.deepEqual(r.files.map((f: { file: string }) => f.file).sort(), ['onnx/model.onnx', 'preprocessor_config.json']);
    const layers = cli(['layers', 'vit_b16', '--json'], env);
    assert.equal(layers.code, 0, layers.stderr);
    assert.ok(JSON.parse(layers.stdout).some((b: { block: string }) => b.block === 'features.0'));
    const list = JSON.parse(cli(['weights', 'list', '--json'], env).stdout);
    assert.equal(list.onnx.find((b: { id: string }) => b.id === 'vit_b16').cached, true);
    assert.ok(list.onnx.every((b: { urls: string[] }) => b.urls[0].startsWith('https://huggingface.co/')));
    // Another copy with other bytes does not match the pin.
    writeFileSync(path.join(folder, 'preprocessor_config.json'), JSON.stringify({ size: 16 }));
    const again = cli(['weights', 'import', folder, '--as', 'vit_b16'], env);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /is not the .* pinned at first download of vit_b16/);
  });
});

/** /usr/bin/python3 with torch and torchvision, or null with a notice. */
function torchPython(): string | null {
  const python = '/usr/bin/python3';
  const r = spawnSync(python, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
  if (r.status === 0) return python;
  process.stderr.write(
    'NOTICE: /usr/bin/python3 with torch and torchvision is absent (apt-get install python3-torch python3-torchvision): forward-parity tests skipped\n',
  );
  return null;
}

describe('forward parity with PyTorch (torchvision exports, seeded random weights)', () => {
  const python = torchPython();
  // Each model at 64×64 (2 cores): a 2-layer ViT (vit_b_16's architecture, shrunk), and the whole torchvision models.
  const models = ['vit_tiny:64:17', 'resnet50:64:14', 'convnext_tiny:64:17', 'swin_t:64:17', 'efficientnet_v2_s:64:16', 'mobilenet_v3_large:64:15'];
  for (const spec of models) {
    const [name, size] = spec.split(':');
    test(`${name}: the file round-trips through reader and writer; transferkit's features equal PyTorch's (the input of the last Linear)`, {
      skip: python ? false : 'torch is absent',
    }, async () => {
      const dir = tempDir();
      const r = spawnSync(python as string, [path.join(ROOT, 'test', 'python', 'export_onnx.py'), dir, spec], { encoding: 'utf8', timeout: 300_000 });
      assert.equal(r.status, 0, r.stderr.slice(-2000));
      const f32 = (f: string) => {
        const b = readFileSync(path.join(dir, f));
        return new Float32Array(b.buffer, b.byteOffset, b.length / 4).slice();
      };
      // The file read, rewritten by transferkit's writer and read again: the same graph, the same logits in ORT.
      const file = path.join(dir, `${name}.onnx`);
      const read = readOnnxFile(file);
      const rewritten = encodeModelValue(read);
      assert.deepEqual(decodeModel(rewritten), read);
      const pixels = f32(`${name}.pixels.f32`);
      const x = new ort.Tensor('float32', pixels.slice(0, Number(size) ** 2 * 3), [1, 3, Number(size), Number(size)]);
      const logits = async (model: string | Uint8Array) => {
        // (two overloads of create: a path, or the bytes)
        const session = typeof model === 'string' ? await ort.InferenceSession.create(model) : await ort.InferenceSession.create(model);
        try {
          return Array.from((await session.run({ input: x })).logits.data as Float32Array);
        } finally {
          await session.release();
        }
      };
      const whole = await logits(file);
      assert.deepEqual(await logits(rewritten), whole);
      // Cut before the last block: the prefix, then the suffix (what fine-tuning would train), give the same logits.
      const cut = fineTuneCut(read.graph, { lastBlocks: 1 });
      assert.ok(cut.suffix.trainable.length > 0);
      const run = async (graph: ModelValue['graph'], feeds: Record<string, ort.Tensor>) => {
        const session = await ort.InferenceSession.create(encodeModelValue({ ...read, graph }));
        try {
          return (await session.run(feeds))[graph.outputs[0].name];
        } finally {
          await session.release();
        }
      };
      const middle = await run(prefixGraph(read.graph, cut.value), { input: x });
      const split = await run(cut.suffix.graph, { [cut.value]: middle });
      const gap = Math.max(...Array.from(split.data as Float32Array).map((v, i) => Math.abs(v - whole[i])));
      assert.ok(gap <= 1e-4 * Math.max(1, ...whole.map(Math.abs)), `${cut.block}: split logits differ by ${gap}`);
      const base = loadOnnxBase(file, { inputSize: Number(size) });
      assert.match(base.features.rule, /input of the classifier/);
      // The features as users compute them: the feature base, whose ViT computes its last block for the class token.
      const saved = encodeBase(base);
      const featureBase = encodeFeatureBase(base, saved);
      const work = (b: Uint8Array) => matmulElements(decodeModel(b).graph);
      if (name === 'vit_tiny') assert.ok(work(featureBase) < 0.9 * work(saved), `MatMul outputs ${work(saved)} → ${work(featureBase)}`);
      else {
        assert.equal(work(featureBase), work(saved));
        // The CNNs: nothing to prune, so the saved base's bytes themselves, not encoded again.
        if (name !== 'swin_t') assert.ok(featureBase === saved, 'the feature base encoded again');
      }
      const predictor = await graphPredictor(featureBase, { imageShape: [Number(size), Number(size), 3], label: name });
      try {
        const got = await predictor.predict(pixels, 2);
        const want = f32(`${name}.features.f32`);
        assert.equal(got.length, want.length);
        let diff = 0;
        let scale = 0;
        for (let i = 0; i < want.length; i++) {
          diff = Math.max(diff, Math.abs(got[i] - want[i]));
          scale = Math.max(scale, Math.abs(want[i]));
        }
        process.stderr.write(
          `${name}: max abs difference ${diff.toExponential(2)} (largest feature ${scale.toFixed(2)}); cut before ${cut.block}: ${cut.suffix.trainable.length} trainable tensors after it (${cut.suffix.shared.length} shared with the prefix)\n`,
        );
        // 1e-4 absolute; ResNet-50's random-weight features reach ~130, where float32 rounding alone is ~1e-5 relative.
        assert.ok(diff <= 1e-4 * Math.max(1, scale), `max abs difference ${diff} (largest feature ${scale})`);
      } finally {
        await predictor.dispose();
      }
    });
  }
});
