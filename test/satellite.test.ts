import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { describe, test } from 'node:test';
import { zipSync } from 'fflate';
import sharp from 'sharp';
import { buildBandBase } from '../src/applications/bands.js';
import { BandStats, parseBandScale, parseBands, preprocessBands, scaleBands } from '../src/data/bands.js';
import { openRaster } from '../src/data/geotiff.js';
import { initBackend, loadModel, scoreFiles } from '../src/index.js';
import { CLI, MOBILENET_H5, cli, makeRasterFolder, needsShared, rasterPixel, tempDir } from './helpers.js';
import { writeGeoTiff } from './tiff-writer.js';

const SMALL = ['--base', 'mobilenet', '--alpha', '0.25', '--weights', 'none', '--input-size', '32'];

describe('bands: selection, scaling and per-band preprocessing', () => {
  test('band specs, scale specs and training statistics', () => {
    assert.deepEqual(parseBands('4,3,2', 13), [3, 2, 1]);
    assert.deepEqual(parseBands('B04, b3, B02', 13), [3, 2, 1]);
    assert.deepEqual(parseBands('B8A', 13), [8]);
    assert.equal(parseBands('all', 5).length, 5);
    assert.throws(() => parseBands('14', 13), /band 14 does not exist; the rasters have 13/);
    assert.throws(() => parseBands('B04', 4), /Sentinel-2 band name \(of a 13-band raster/);
    assert.deepEqual(parseBandScale('percentile:2,98'), { mode: 'percentile', percentiles: [2, 98] });
    assert.throws(() => parseBandScale('log'), /--band-scale must be minmax, percentile:LOW,HIGH/);
    const stats = new BandStats(2);
    stats.add(Float32Array.from({ length: 200 }, (_, i) => (i % 2 ? 1000 + i : i)));
    const minmax = stats.scale({ mode: 'minmax' });
    assert.deepEqual(minmax, { mode: 'minmax', low: [0, 1001], high: [198, 1199] });
    const x = scaleBands(Float32Array.of(0, 1001, 198, 1199, -5, 5000), 2, minmax);
    assert.deepEqual(Array.from(x), [0, 0, 255, 255, 0, 255]);
    // caffe: red, green and blue bands get their ImageNet means, other bands the average.
    const p = preprocessBands(Float32Array.of(200, 200, 200, 200), 'caffe', [2, 1, 0, -1]);
    assert.deepEqual(
      Array.from(p).map((v) => Number(v.toFixed(3))),
      [96.061, 83.221, 76.32, 85.201],
    );
  });
});

describe('band adaptation of an RGB-pretrained base', () => {
  test('repeat-mean: extra bands start from the mean RGB kernel, all scaled by 3/bands; caffe bases map BGR', async () => {
    await initBackend('cpu');
    const roles = [-1, 2, 1, 0, -1] as const; // B01, B02 (blue), B03 (green), B04 (red), B05
    const { base, firstConv } = await buildBandBase('vgg16', { weights: null, includeTop: false, inputShape: [32, 32, 3] }, [...roles], 'repeat-mean');
    assert.equal(firstConv, 'block1_conv1');
    assert.deepEqual(base.inputs[0].shape, [null, 32, 32, 5]);
    const k = base.getLayer('block1_conv1').getWeights()[0];
    assert.deepEqual(k.shape, [3, 3, 5, 64]);
    const w = k.arraySync() as number[][][][];
    const slice = (band: number) => w.flatMap((r) => r.flatMap((c) => c[band]));
    const [extra0, blue, green, red, extra4] = [0, 1, 2, 3, 4].map(slice);
    assert.deepEqual(extra0, extra4, 'every extra band starts from the same mean kernel');
    extra0.forEach((e, i) => assert.ok(Math.abs(blue[i] + green[i] + red[i] - 3 * e) < 1e-6, 'the extra kernel is the mean of the colour kernels'));
    const random = await buildBandBase('vgg16', { weights: null, includeTop: false, inputShape: [32, 32, 3] }, [...roles], 'random');
    const r = random.base.getLayer('block1_conv1').getWeights()[0].arraySync() as number[][][][];
    assert.notDeepEqual(
      r.flatMap((a) => a.flatMap((c) => c[0])),
      r.flatMap((a) => a.flatMap((c) => c[4])),
    );
  });

  test('the choices that cannot work are clear errors', async () => {
    await assert.rejects(
      buildBandBase('mobilenet', { weights: null, includeTop: false, inputShape: [32, 32, 3], alpha: 0.25 }, [0, 1, 2, -1], 'rgb'),
      /rgb takes exactly three bands .* use repeat-mean or random/,
    );
    await assert.rejects(
      buildBandBase('mobilenet', { weights: null, includeTop: false, inputShape: [32, 32, 3], alpha: 0.25 }, [0, 1, -1, -1], 'repeat-mean'),
      /needs the red, green and blue bands/,
    );
    await assert.rejects(
      buildBandBase('efficientnet_b0', { weights: null, includeTop: false, inputShape: [32, 32, 3] }, [0, 1, 2, -1], 'repeat-mean'),
      /first weighted layer is a convolution/,
    );
  });
});

describe('training on 13-band uint16 GeoTIFFs', () => {
  test('a 13-band dataset without --bands says what to choose', async () => {
    const data = await makeRasterFolder(path.join(tempDir(), 'sat'), { perClass: 3 });
    const r = cli(['train', data, ...SMALL, '--epochs', '1']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /13-band uint16 GeoTIFF; choose the bands to train on: --bands 4,3,2 \(Sentinel-2 red, green, blue\) or --bands all --band-adaptation repeat-mean/,
    );
    const all = cli(['train', data, ...SMALL, '--epochs', '1', '--bands', 'all']);
    assert.match(all.stderr, /13 bands for an RGB-pretrained base: choose --band-adaptation rgb\|repeat-mean\|random/);
  });

  for (const bands of [
    ['--bands', '4,3,2'],
    ['--bands', 'all', '--band-adaptation', 'repeat-mean'],
  ]) {
    test(`${bands.join(' ')}: trains, saves the band scaling, and the reloaded model predicts the same`, async () => {
      const dir = tempDir();
      const data = await makeRasterFolder(path.join(dir, 'sat'), { perClass: 5 });
      const out = path.join(dir, 'model');
      const r = cli(['train', data, ...SMALL, '--epochs', '2', ...bands, '--out', out, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      assert.ok(j.history.every((h: { loss: number }) => Number.isFinite(h.loss)));
      const meta = JSON.parse(readFileSync(path.join(out, 'transferkit.json'), 'utf8'));
      const n = bands[1] === 'all' ? 13 : 3;
      assert.deepEqual(meta.inputShape, [32, 32, n]);
      assert.equal(meta.bands.indices.length, n);
      assert.equal(meta.bands.scale.mode, 'percentile');
      assert.equal(meta.bands.scale.low.length, n);
      if (n === 13) {
        assert.equal(meta.bands.adaptation, 'repeat-mean');
        assert.match(r.stderr, /band adaptation repeat-mean over 13 bands: conv1 has new weights and trains in every phase/);
      } else assert.deepEqual(meta.bands.names, ['B04', 'B03', 'B02']);
      // In memory (a fresh training through the library) against the saved files: the same scaling and weights.
      const { model, metadata } = await loadModel(out);
      const files = readdirSync(path.join(data, 'Forest')).map((f) => path.join(data, 'Forest', f));
      const first = await scoreFiles(model, metadata, files);
      const again = await scoreFiles((await loadModel(out)).model, metadata, files);
      assert.deepEqual(first.scored, again.scored);
      const p = cli(['predict', out, path.join(data, 'Forest'), '--json']);
      assert.equal(p.code, 0, p.stderr);
      JSON.parse(p.stdout).forEach((row: { predictions: Array<{ probability: number }> }, i: number) => {
        const top = Math.max(...first.scored[i].probabilities);
        assert.ok(Math.abs(row.predictions[0].probability - top) < 1e-5, 'the CLI scales the bands as training did');
      });
    });
  }
});

describe('scene mapping', () => {
  /** Left half Forest, top right River, bottom right Residential (the classes of makeRasterFolder). */
  function writeScene(file: string, size: number): void {
    let seed = 5;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const regionOf = (x: number, y: number) => (x < size / 2 ? 0 : y < size / 2 ? 1 : 2);
    writeGeoTiff(file, {
      width: size,
      height: size,
      bands: 13,
      dtype: 'uint16',
      pixel: (x, y, b) => rasterPixel(regionOf(x, y), b, rand),
      geo: { origin: [600000, 5000000], pixelSize: [10, 10], epsg: 32632 },
    });
  }

  test('a 2,000x2,000 scene: the map shows the planted regions; GeoJSON tiles in the scene CRS; memory bounded', {
    skip: needsShared(MOBILENET_H5),
  }, async () => {
    const dir = tempDir();
    const data = await makeRasterFolder(path.join(dir, 'sat'), { perClass: 12, size: 32 });
    const model = path.join(dir, 'model');
    const t = cli([
      'train',
      data,
      '--base',
      'mobilenet',
      '--alpha',
      '0.25',
      '--weights',
      MOBILENET_H5,
      '--input-size',
      '64',
      '--epochs',
      '15',
      '--learning-rate',
      '0.0003',
      '--bands',
      'all',
      '--band-adaptation',
      'repeat-mean',
      '--out',
      model,
      '--json',
    ]);
    assert.equal(t.code, 0, t.stderr);
    assert.ok(JSON.parse(t.stdout).val.accuracy >= 0.9, `validation accuracy ${JSON.parse(t.stdout).val.accuracy}`);
    const scene = path.join(dir, 'scene.tif');
    writeScene(scene, 2000);
    const png = path.join(dir, 'map.png');
    const geojson = path.join(dir, 'tiles.geojson');
    const m = cli(['map', model, scene, '--tile', '32', '--out', png, '--geojson', geojson, '--json']);
    assert.equal(m.code, 0, m.stderr);
    const s = JSON.parse(m.stdout);
    assert.equal(s.cols * s.rows, 62 * 62);
    assert.ok(s.peakRssMB < 800, `peak RSS ${s.peakRssMB} MB for a 104 MB scene`);
    const features = JSON.parse(readFileSync(geojson, 'utf8'));
    assert.equal(features.crs.properties.name, 'urn:ogc:def:crs:EPSG::32632');
    assert.equal(features.features.length, 3844);
    const at = (col: number, row: number) => features.features[row * 62 + col];
    assert.deepEqual(at(0, 0).geometry.coordinates[0][0], [600000, 5000000]);
    assert.deepEqual(at(0, 0).geometry.coordinates[0][2], [600320, 4999680]);
    for (const [col, row, cls] of [
      [5, 5, 'Forest'],
      [20, 50, 'Forest'],
      [50, 5, 'River'],
      [45, 25, 'River'],
      [50, 50, 'Residential'],
      [40, 60, 'Residential'],
    ] as const) {
      assert.equal(at(col, row).properties.class, cls, `tile (${col}, ${row})`);
    }
    // The picture: the same colours at the same places.
    const { data: px, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    const cell = Math.floor(1000 / 62);
    const colour = (col: number, row: number) =>
      Array.from(
        px.subarray(((row * cell + 2) * info.width + col * cell + 2) * info.channels, ((row * cell + 2) * info.width + col * cell + 2) * info.channels + 3),
      );
    assert.deepEqual(colour(5, 5), [0x4e, 0x79, 0xa7], 'Forest is the first class colour');
    assert.notDeepEqual(colour(50, 5), colour(50, 50));
  });

  test('scenes that do not fit the model are clear errors; a small scene maps without georeferencing too', async () => {
    const dir = tempDir();
    const data = await makeRasterFolder(path.join(dir, 'sat'), { perClass: 3 });
    const model = path.join(dir, 'model');
    assert.equal(cli(['train', data, ...SMALL, '--epochs', '1', '--bands', '4,3,2', '--out', model]).code, 0);
    const four = path.join(dir, 'four.tif');
    writeGeoTiff(four, { width: 64, height: 64, bands: 3, dtype: 'uint16', pixel: () => 1000 });
    const bad = cli(['map', model, four, '--out', path.join(dir, 'x.png')]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /four\.tif: 3 band\(s\), the model reads band 4; map a scene with the bands it was trained on/);
    const plain = path.join(dir, 'plain.tif');
    writeGeoTiff(plain, { width: 100, height: 70, bands: 13, dtype: 'uint16', pixel: (_x, _y, b) => 1000 + b });
    const ok = cli([
      'map',
      model,
      plain,
      '--tile',
      '32',
      '--stride',
      '16',
      '--out',
      path.join(dir, 'm.png'),
      '--geojson',
      path.join(dir, 'm.geojson'),
      '--json',
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    const s = JSON.parse(ok.stdout);
    assert.deepEqual([s.cols, s.rows, s.georeferenced], [5, 3, false]);
    const g = JSON.parse(readFileSync(path.join(dir, 'm.geojson'), 'utf8'));
    assert.equal(g.crs, undefined);
    assert.deepEqual(g.features[1].geometry.coordinates[0][0], [16, 0], 'pixel coordinates');
    assert.equal((await openRaster(plain)).info.geo, undefined);
  });
});

describe('EuroSAT: the offline import path on generated archives of the same layout', () => {
  const ROOT_ALL = 'ds/images/remote_sensing/otherDatasets/sentinel_2/tif';

  async function rgbArchive(file: string): Promise<void> {
    const entries: Record<string, Uint8Array> = {};
    for (const [c, cls] of ['Forest', 'River', 'SeaLake'].entries()) {
      for (let i = 1; i <= 4; i++)
        entries[`2750/${cls}/${cls}_${i}.jpg`] = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 60 * c, g: 100, b: 40 * i } } })
          .jpeg()
          .toBuffer();
    }
    entries['2750/readme.txt'] = new TextEncoder().encode('not an image');
    writeFileSync(file, zipSync(entries));
  }

  test('import of an RGB archive: the class folders land in $TRANSFERKIT_HOME/datasets, ready to train', async () => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    const zip = path.join(dir, 'EuroSAT.zip');
    await rgbArchive(zip);
    const r = cli(['datasets', 'import', 'eurosat', zip, '--json'], { TRANSFERKIT_HOME: home });
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.variant, 'rgb');
    assert.equal(j.images, 12);
    assert.equal(j.verified, false);
    assert.match(j.note, /not the published EuroSAT\.zip \(md5 [0-9a-f]{32}, expected c8fa014336c82ac7804f0398fcb19387\)/);
    assert.match(j.reference, /98\.57%/);
    assert.deepEqual(readdirSync(j.folder).sort(), ['Forest', 'River', 'SeaLake']);
    const t = cli(['train', j.folder, ...SMALL, '--epochs', '1', '--json']);
    assert.equal(t.code, 0, t.stderr);
    const list = JSON.parse(cli(['datasets', 'list', '--json'], { TRANSFERKIT_HOME: home }).stdout);
    assert.deepEqual(
      list.datasets.map((d: { variant: string; installed: boolean }) => [d.variant, d.installed]),
      [
        ['rgb', true],
        ['all', false],
      ],
    );
  });

  test('import of an all-bands archive (13-band GeoTIFFs) trains with --bands 4,3,2', async () => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    const tiles = await makeRasterFolder(path.join(dir, 'tiles'), { classes: ['AnnualCrop', 'Forest'], perClass: 4 });
    const entries: Record<string, Uint8Array> = {};
    for (const cls of readdirSync(tiles))
      for (const f of readdirSync(path.join(tiles, cls))) entries[`${ROOT_ALL}/${cls}/${f}`] = readFileSync(path.join(tiles, cls, f));
    const zip = path.join(dir, 'my-copy.zip');
    writeFileSync(zip, zipSync(entries));
    const r = cli(['datasets', 'import', 'eurosat', zip, '--json'], { TRANSFERKIT_HOME: home });
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.variant, 'all');
    const t = cli(['train', j.folder, ...SMALL, '--epochs', '1', '--bands', '4,3,2', '--json']);
    assert.equal(t.code, 0, t.stderr);
    assert.deepEqual(JSON.parse(t.stdout).bands.names, ['B04', 'B03', 'B02']);
  });

  test('hostile or wrong archives are refused and leave nothing behind', async () => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    const evil = path.join(dir, 'EuroSAT.zip');
    writeFileSync(evil, zipSync({ '2750/Forest/a.jpg': new Uint8Array([1, 2, 3]), '../../escaped.jpg': new Uint8Array([1]) }));
    const r = cli(['datasets', 'import', 'eurosat', evil], { TRANSFERKIT_HOME: home });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refused the archive entry '\.\.\/\.\.\/escaped\.jpg'/);
    assert.ok(!existsSync(path.join(dir, 'escaped.jpg')) && !existsSync(path.join(home, 'escaped.jpg')));
    assert.ok(!existsSync(path.join(home, 'datasets', 'eurosat-rgb')));
    const other = path.join(dir, 'other.zip');
    writeFileSync(other, zipSync({ 'photos/cat.jpg': new Uint8Array([1]) }));
    assert.match(
      cli(['datasets', 'import', 'eurosat', other], { TRANSFERKIT_HOME: home }).stderr,
      /other\.zip: not a eurosat archive \(EuroSAT\.zip or EuroSATallBands\.zip\)/,
    );
    const unknown = cli(['datasets', 'fetch', 'imagenet'], { TRANSFERKIT_HOME: home });
    assert.match(unknown.stderr, /unknown dataset 'imagenet'/);
  });

  test('fetch from a mirror: progress and the hash check (a wrong archive is refused, nothing kept)', async () => {
    const dir = tempDir();
    const zip = path.join(dir, 'EuroSAT.zip');
    await rgbArchive(zip);
    const body = readFileSync(zip);
    const server = http.createServer((req, res) => {
      if (req.url === '/EuroSAT.zip') res.writeHead(200, { 'content-length': body.length }).end(body);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const home = path.join(dir, 'home');
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, 'datasets', 'fetch', 'eurosat'], {
        env: { ...process.env, TRANSFERKIT_HOME: home, TRANSFERKIT_MIRROR: `http://127.0.0.1:${port}` },
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d));
      child.on('exit', (code: number | null) => resolve({ code, stderr }));
    });
    server.close();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /md5 [0-9a-f]{32}, expected c8fa014336c82ac7804f0398fcb19387/);
    mkdirSync(path.join(home, 'datasets'), { recursive: true });
    assert.deepEqual(readdirSync(path.join(home, 'datasets')), [], 'no partial archive or folder');
  });
});
