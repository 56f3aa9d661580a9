// Direct checks of the guards the fuzz suite (fuzz.test.ts) relies on, on files written by GDAL and on crafted
// damage: transferkit's bounded LZW and deflate decoders read GDAL's files exactly as written, and each guard
// refuses its damage in one line before anything large is allocated.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { openRaster } from '../src/data/geotiff.js';
import { boundedInflate, boundedLzw, checkTiff } from '../src/data/tiff-check.js';
import { TransferkitError } from '../src/errors.js';
import { checkTopology } from '../src/keras/graph-check.js';
import { ROOT, tempDir } from './helpers.js';
import { deflatedZeros, tiffTags } from './fuzz/containers.js';
import { deflateSync } from 'node:zlib';

const gdal = (() => {
  const dir = tempDir('transferkit-gdal-');
  const r = spawnSync('/usr/bin/python3', [path.join(ROOT, 'test', 'fuzz', 'gdal_tiles.py'), dir, '--large'], { encoding: 'utf8' });
  return r.status === 0 ? dir : undefined;
})();
const noGdal = gdal ? false : 'NOTICE: libgdal (Debian libgdal32) is not loadable by /usr/bin/python3: GeoTIFF checks skipped';
if (noGdal) process.stderr.write(`${noGdal}\n`);

for (const name of ['large-lzw.tif', 'large-deflate-tiled.tif', 's2-13band-deflate.tif', 'float-4band-lzw.tif']) {
  test(`GDAL's ${name} decodes to the values GDAL wrote (bounded decoders)`, { skip: noGdal }, async () => {
    const file = path.join(gdal as string, name);
    const raw = readFileSync(`${file}.raw`);
    const r = await openRaster(file);
    const { width, height, bands, dtype } = r.info;
    const pixels = await r.read([0, 0, width, height], [...Array(bands).keys()]);
    await r.close();
    const Typed = dtype === 'float32' ? Float32Array : dtype === 'uint16' ? Uint16Array : Uint8Array;
    const written = new Typed(raw.buffer, raw.byteOffset, raw.length / Typed.BYTES_PER_ELEMENT);
    // GDAL's values are band after band; the raster reads pixels interleaved.
    for (let i = 0; i < width * height; i += 97)
      for (let b = 0; b < bands; b++) assert.equal(pixels[i * bands + b], written[b * width * height + i], `${name} pixel ${i} band ${b}`);
  });
}

const bytes = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;

const refuses = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (err: Error) => err instanceof TransferkitError && pattern.test(err.message) && !err.message.includes('\n'));

test('TIFF: a tag count past the file, SamplesPerPixel 0, a strip count that disagrees and an IFD loop are refused', { skip: noGdal }, () => {
  const src = readFileSync(path.join(gdal as string, 's2-13band-deflate.tif'));
  const dir = tempDir('transferkit-tiff-');
  const damaged = (edit: (b: Buffer, tags: Map<number, number>) => void) => {
    const b = Buffer.from(src);
    edit(b, tiffTags(b));
    const file = path.join(dir, 'x.tif');
    writeFileSync(file, b);
    return file;
  };
  refuses(() => checkTiff(damaged((b, t) => b.writeUInt32LE(2 ** 31, (t.get(258) as number) + 4))), /tag 258 claims 2147483648 values/);
  refuses(() => checkTiff(damaged((b, t) => b.writeUInt16LE(0, (t.get(277) as number) + 8))), /SamplesPerPixel is 0/);
  refuses(() => checkTiff(damaged((b, t) => b.writeUInt32LE(0, (t.get(273) as number) + 4))), /tag 273 lists 0 strips/);
  refuses(() => checkTiff(damaged((b) => b.writeUInt32LE(b.readUInt32LE(4), b.readUInt32LE(4) + 2 + b.readUInt16LE(b.readUInt32LE(4)) * 12))), /loop/);
  checkTiff(damaged(() => {}));
});

test('a deflated strip that inflates to 2 GiB stops at its block size; LZW too', () => {
  const bomb = Buffer.concat([deflateSync(Buffer.alloc(0)).subarray(0, 2), deflatedZeros(2 ** 31)]);
  assert.ok(bomb.length < 4e6, `the bomb is ${bomb.length} bytes on disk`);
  const before = process.memoryUsage().rss;
  refuses(() => boundedInflate(bytes(bomb), 1 << 20), /inflates past the 1048576 bytes/);
  assert.ok(process.memoryUsage().rss - before < 200e6, 'no gigabytes allocated');
  assert.equal(boundedInflate(bytes(deflateSync(Buffer.alloc(1000, 7))), 1000).byteLength, 1000);
  // 0xFF bytes are 9-bit code 511, never defined: refused, not decoded into an ever-growing array.
  refuses(() => boundedLzw(bytes(Buffer.alloc(4096, 0xff)), 1 << 20), /undefined code/);
});

test('model topologies: a dangling input, a cycle, deep nesting and a missing call are refused without building', () => {
  const layer = (name: string, inputs: string[]) => ({
    class_name: 'Dense',
    name,
    config: { name, units: 2 },
    inbound_nodes: inputs.length ? [inputs.map((i) => [i, 0, 0, {}])] : [],
  });
  const functional = (layers: unknown[]) => ({
    class_name: 'Functional',
    config: { name: 'm', layers, input_layers: [['in', 0, 0]], output_layers: [['d2', 0, 0]] },
  });
  const input = { class_name: 'InputLayer', name: 'in', config: { name: 'in', batch_input_shape: [null, 4] }, inbound_nodes: [] };
  checkTopology(functional([input, layer('d1', ['in']), layer('d2', ['d1'])]), 'm.json');
  refuses(() => checkTopology(functional([input, layer('d1', ['ghost']), layer('d2', ['d1'])]), 'm.json'), /^m\.json: layer d1 takes its input from ghost/);
  refuses(() => checkTopology(functional([input, layer('d1', ['d2']), layer('d2', ['d1'])]), 'm.json'), /cycle/);
  refuses(() => checkTopology(functional([input, layer('d1', ['d1']), layer('d2', ['d1'])]), 'm.json'), /cycle/);
  const twice = layer('d2', ['d1']);
  twice.inbound_nodes[0][0][1] = 3;
  refuses(() => checkTopology(functional([input, layer('d1', ['in']), twice]), 'm.json'), /call 3 of d1/);
  let deep: unknown = { class_name: 'Dense', config: { name: 'x' } };
  for (let i = 0; i < 5000; i++) deep = { class_name: 'Sequential', config: { name: `s${i}`, layers: [deep] } };
  refuses(() => checkTopology(deep, 'm.json'), /levels deep/);
});
