// GeoTIFF in the page by Node's reader (the geotiff package behind Node's structure check): tiles written by
// GDAL itself (test/fuzz/gdal_tiles.py, libgdal through ctypes) decode to Node's values at their own size and
// enlarged; the rasters the page does not read (13-band uint16 deflated, 4-band float LZW) are refused naming why.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatOf } from '../src/data/formats.js';
import { noChromium, withPickedFolder } from './browser.js';
import { ROOT, tempDir } from './helpers.js';
import { type StaticServer, serveStatic } from './static-server.js';

const WEB = path.join(ROOT, 'dist', 'web');
const tiles = (() => {
  const dir = tempDir('tk-web-gdal-');
  const r = spawnSync('/usr/bin/python3', [path.join(ROOT, 'test', 'fuzz', 'gdal_tiles.py'), dir], { encoding: 'utf8' });
  return r.status === 0 ? dir : undefined;
})();
const skip = noChromium || (tiles ? false : 'libgdal (Debian libgdal32) is not loadable by /usr/bin/python3: browser GeoTIFF not tested');

describe("GeoTIFF in the browser: Node's reader, the same pixels", { skip }, () => {
  let server: StaticServer;
  let dir: string;
  before(async () => {
    dir = path.join(tempDir('tk-web-geotiff-'), 'tiles');
    for (const [c, f] of [
      ['rgb', 'rgb-byte-tiled.tif'],
      ['multi', 's2-13band-deflate.tif'],
      ['multi', 'float-4band-lzw.tif'],
    ]) {
      mkdirSync(path.join(dir, c), { recursive: true });
      copyFileSync(path.join(tiles as string, f), path.join(dir, c, f));
    }
    server = await serveStatic(WEB);
  });
  after(() => server?.close());

  it("an 8-bit RGB tile decodes to Node's values at its own size (64) and enlarged (96); multi-band rasters are counted skips", async () => {
    const inPage = await withPickedFolder<{ listed: number; decoded: Record<number, number[]>; screened: string[] | string }>(
      server.url,
      dir,
      `(async () => {
        const lib = globalThis.transferkit;
        const folder = lib.imageFolderFromFiles(document.getElementById('folder').files);
        const rgb = folder.blobs.get('rgb/rgb-byte-tiled.tif');
        const out = { listed: folder.files.length, decoded: {} };
        for (const size of [64, 96]) out.decoded[size] = Array.from(await lib.decodeImage(rgb, size));
        // Two classes left to train once the multi-band rasters are skipped: the RGB tile listed under both.
        out.screened = await lib.screenFolder({ ...folder, files: [...folder.files, { file: 'rgb/rgb-byte-tiled.tif', label: 0 }] }).then(
          (f) => f.skipped.map((s) => s.file + ': ' + s.reason),
          (e) => e.message,
        );
        return out;
      })()`,
    );
    assert.equal(inPage.listed, 3);
    const file = path.join(dir, 'rgb', 'rgb-byte-tiled.tif');
    for (const size of [64, 96]) {
      const want = await (await formatOf(file)).decode(file, { height: size, width: size });
      const got = inPage.decoded[size];
      assert.equal(got.length, want.length);
      const worst = Math.max(...want.map((v, i) => Math.abs(v - got[i])));
      process.stderr.write(`GeoTIFF at ${size}×${size}: page vs Node largest difference ${worst} (0–255)\n`);
      assert.equal(worst, 0, `at ${size}`);
    }
    assert.deepEqual(inPage.screened, [
      'multi/float-4band-lzw.tif: a 4-band float32 raster: the page reads 8-bit grey or RGB TIFFs (Node trains multi-band rasters with --bands)',
      'multi/s2-13band-deflate.tif: a 13-band uint16 raster: the page reads 8-bit grey or RGB TIFFs (Node trains multi-band rasters with --bands)',
    ]);
  });
});
