import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { cli, makeRasterFolder, rasterPixel, tempDir } from './helpers.js';
import { writeGeoTiff } from './tiff-writer.js';

const SMALL = ['--base', 'mobilenet', '--alpha', '0.25', '--weights', 'none', '--input-size', '32'];

describe('map --shard and map merge', () => {
  test('3 shards of tile rows stitch into the map and GeoJSON of one run; gaps and other models are refused', async () => {
    const dir = tempDir();
    const data = await makeRasterFolder(path.join(dir, 'sat'), { perClass: 3 });
    const model = path.join(dir, 'model');
    assert.equal(cli(['train', data, ...SMALL, '--epochs', '1', '--bands', '4,3,2', '--out', model]).code, 0);
    const scene = path.join(dir, 'scene.tif');
    let seed = 3;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    writeGeoTiff(scene, {
      width: 120,
      height: 200,
      bands: 13,
      dtype: 'uint16',
      pixel: (x, y, b) => rasterPixel(x < 60 ? 0 : y < 100 ? 1 : 2, b, rand),
      geo: { origin: [600000, 5000000], pixelSize: [10, 10], epsg: 32632 },
    });
    const flags = ['--tile', '32', '--stride', '16'];
    const whole = cli(['map', model, scene, ...flags, '--out', path.join(dir, 'whole.png'), '--geojson', path.join(dir, 'whole.geojson')]);
    assert.equal(whole.code, 0, whole.stderr);

    const pieces = path.join(dir, 'pieces', 'map.png');
    for (const k of [0, 1, 2]) {
      const r = cli(['map', model, scene, ...flags, '--out', pieces], { BATCH_TASK_INDEX: String(k), BATCH_TASK_COUNT: '3' });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`shard ${k}/3 \\(from BATCH_TASK_INDEX/BATCH_TASK_COUNT \\(Google Batch\\)\\)`));
    }
    const piece = (k: number, ext: string) => path.join(dir, 'pieces', `map-0000${k}-of-00003.${ext}`);
    // 11 tile rows: 4, 4 and 3.
    assert.deepEqual(
      [0, 1, 2].map((k) => JSON.parse(readFileSync(piece(k, 'geojson'), 'utf8')).features.length),
      [4 * 6, 4 * 6, 3 * 6],
    );
    const merged = cli([
      'map',
      'merge',
      piece(2, 'geojson'),
      piece(0, 'geojson'),
      piece(1, 'geojson'),
      '--out',
      path.join(dir, 'merged.png'),
      '--geojson',
      path.join(dir, 'merged.geojson'),
      '--json',
    ]);
    assert.equal(merged.code, 0, merged.stderr);
    assert.deepEqual([JSON.parse(merged.stdout).cols, JSON.parse(merged.stdout).rows], [6, 11]);
    assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'merged.geojson'), 'utf8')), JSON.parse(readFileSync(path.join(dir, 'whole.geojson'), 'utf8')));
    const pixels = async (f: string) => (await sharp(path.join(dir, f)).raw().toBuffer()).toString('base64');
    assert.equal(await pixels('merged.png'), await pixels('whole.png'));

    const gap = cli(['map', 'merge', piece(0, 'geojson'), piece(2, 'geojson'), '--out', path.join(dir, 'gap.png')]);
    assert.equal(gap.code, 1);
    assert.match(gap.stderr, /missing shard 1\/3 of the map of scene\.tif: run transferkit map … --shard 1\/3/);
    const other = path.join(dir, 'other');
    assert.equal(cli(['train', data, ...SMALL, '--epochs', '1', '--bands', '4,3,2', '--out', other]).code, 0);
    assert.equal(cli(['map', other, scene, ...flags, '--shard', '1/3', '--out', path.join(dir, 'o', 'map.png')]).code, 0);
    const mixed = cli([
      'map',
      'merge',
      piece(0, 'geojson'),
      path.join(dir, 'o', 'map-00001-of-00003.geojson'),
      piece(2, 'geojson'),
      '--out',
      path.join(dir, 'mixed.png'),
    ]);
    assert.equal(mixed.code, 1);
    assert.match(mixed.stderr, /map-00001-of-00003\.geojson maps scene\.tif with another model, tile, stride or shard count .*re-run shard 1\/3/);
  });
});
