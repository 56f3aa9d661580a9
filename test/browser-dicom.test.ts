// DICOM in the page by Node's decoder: pydicom's own test files (Debian's python3-pydicom keeps them under
// pydicom/data/test_files) picked as a folder of class folders; the page's pixels equal Node's, and the transfer
// syntaxes the browser build cannot decode yet are refused naming the file and the reason.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatOf } from '../src/data/formats.js';
import { noChromium, withPage, withPickedFolder } from './browser.js';
import { MOBILENET_H5, ROOT, tempDir } from './helpers.js';
import { type StaticServer, serveStatic } from './static-server.js';

const WEB = path.join(ROOT, 'dist', 'web');
const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const skip = noChromium || (existsSync(PYDICOM) ? false : `${PYDICOM} is absent (apt-get install python3-pydicom): browser DICOM not tested`);
const SIZE = 64;

/** Decoded in the browser as in Node: uncompressed (little, big endian, implicit VR), RLE, CT and MR, grey and colour. */
const DECODED = {
  ct: ['CT_small.dcm', 'liver_1frame.dcm', 'rtdose_1frame.dcm'],
  mr: ['MR_small.dcm', 'MR_small_RLE.dcm', 'MR_small_bigendian.dcm', 'MR_small_implicit.dcm', 'MR_small_padded.dcm'],
  rgb: ['SC_rgb_rle.dcm', 'SC_rgb_small_odd.dcm', 'SC_ybr_full_422_uncompressed.dcm', 'SC_rgb_rle_16bit.dcm'],
};
/** Refused in the browser for now (their codecs need zlib or a WebAssembly build), with the reason. */
const REFUSED: Record<string, RegExp> = {
  'image_dfl.dcm': /deflated transfer syntax/,
  'JPEG2000.dcm': /@cornerstonejs\/codec-openjpeg/,
  'MR_small_jpeg_ls_lossless.dcm': /@cornerstonejs\/codec-charls/,
  'SC_rgb_jpeg_gdcm.dcm': /jpeg-lossless-decoder-js/,
  'SC_rgb_small_odd_jpeg.dcm': /@cornerstonejs\/codec-libjpeg-turbo-8bit/,
};

describe("DICOM in the browser: Node's decoder, the same pixels", { skip }, () => {
  let server: StaticServer;
  let dir: string;
  before(async () => {
    dir = path.join(tempDir('tk-web-dicom-'), 'scans');
    for (const [c, files] of Object.entries({ ...DECODED, refused: Object.keys(REFUSED) })) {
      mkdirSync(path.join(dir, c), { recursive: true });
      for (const f of files) copyFileSync(path.join(PYDICOM, f), path.join(dir, c, f));
    }
    server = await serveStatic(WEB);
  });
  after(() => server?.close());

  it("decodes uncompressed and RLE files to Node's values at 64×64; refuses the others naming the file and the codec", async () => {
    const inPage = await withPickedFolder<{ listed: string[]; skipped: number; images: Record<string, number[] | string> }>(
      server.url,
      dir,
      `(async () => {
        const lib = globalThis.transferkit;
        const folder = lib.imageFolderFromFiles(document.getElementById('folder').files);
        const out = { listed: folder.files.map((f) => f.file), skipped: folder.skipped.length, images: {} };
        for (const f of folder.files)
          out.images[f.file] = await lib.decodeImage(folder.blobs.get(f.file), ${SIZE}).then((x) => Array.from(x), (e) => e.message);
        return out;
      })()`,
    );
    assert.equal(inPage.skipped, 0);
    assert.equal(inPage.listed.length, Object.values(DECODED).flat().length + Object.keys(REFUSED).length);
    let worst = 0;
    for (const [c, files] of Object.entries(DECODED))
      for (const f of files) {
        const got = inPage.images[`${c}/${f}`];
        assert.ok(Array.isArray(got), `${f}: ${got}`);
        const file = path.join(dir, c, f);
        const want = await (await formatOf(file)).decode(file, { height: SIZE, width: SIZE });
        assert.equal(got.length, want.length, f);
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
      }
    process.stderr.write(`DICOM in the page vs Node: ${Object.values(DECODED).flat().length} files, largest difference ${worst} (0–255)\n`);
    assert.equal(worst, 0);
    for (const [f, reason] of Object.entries(REFUSED)) {
      const got = inPage.images[`refused/${f}`];
      assert.equal(typeof got, 'string', `${f} decoded in the browser`);
      assert.ok((got as string).startsWith(`${f}: `), got as string);
      assert.match(got as string, reason);
      assert.match(got as string, /not in the browser build yet/);
    }
  });

  it('trains in the page on a folder of scans; the files it cannot decode are counted skips reported at the end', async () => {
    const scans = path.join(tempDir('tk-web-dicom-train-'), 'scans');
    const classes = { ct: [...DECODED.ct, 'JPEG2000.dcm', 'image_dfl.dcm'], mr: [...DECODED.mr, 'MR_small_jpeg_ls_lossless.dcm'] };
    for (const [c, files] of Object.entries(classes)) {
      mkdirSync(path.join(scans, c), { recursive: true });
      for (const f of files) copyFileSync(path.join(PYDICOM, f), path.join(scans, c, f));
    }
    const log = await withPage(async (page) => {
      await page.goto(server.url);
      await page.setInputFiles('#weights', MOBILENET_H5);
      await page.setInputFiles('#folder', scans);
      await page.click('#train');
      await page.waitForFunction(() => document.getElementById('val-accuracy')?.textContent !== '–', undefined, { timeout: 120_000 });
      return (await page.textContent('#log')) ?? '';
    });
    assert.doesNotMatch(log, /^error/m);
    assert.match(log, /^8 images in 2 classes \(ct, mr\); 3 skipped$/m);
    assert.match(log, /^trained on \d+, validated on \d+/m);
    for (const f of ['ct/JPEG2000.dcm', 'ct/image_dfl.dcm', 'mr/MR_small_jpeg_ls_lossless.dcm'])
      assert.match(log, new RegExp(`^skipped ${f.replace('.', '\\.')}: .*not in the browser build yet`, 'm'));
  });
});
