// transferkit's DICOM reader against pydicom on pydicom's own test files (python3-pydicom ships them): every
// file pydicom decodes here decodes to the same values (after the Modality LUT, YBR as RGB in float), exactly
// when lossless; every other file is a counted skip with transferkit's one-line reason.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { readDicom } from '../src/data/dicom.js';
import { ROOT, cli, readNpy, tempDir } from './helpers.js';

const PYTHON = '/usr/bin/python3';

interface Entry {
  file: string;
  path: string;
  status: 'decoded' | 'skip';
  reason?: string;
  values?: string;
  frames?: number;
  shape?: number[];
  syntax?: string;
  photometric?: string;
  handler?: string;
  lossy?: boolean;
}

/** pydicom's decoding of its test files (test/python/pydicom_reference.py), or null with a notice. */
function pydicomReference(): { files: Entry[]; pydicom: string } | null {
  const probe = spawnSync(PYTHON, ['-c', 'import pydicom, numpy'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    process.stderr.write('NOTICE: /usr/bin/python3 with pydicom is absent (apt-get install python3-pydicom): the pydicom comparison is skipped\n');
    return null;
  }
  const out = tempDir('transferkit-pydicom-');
  const r = spawnSync(PYTHON, [path.join(ROOT, 'test', 'python', 'pydicom_reference.py'), out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
}

const reference = pydicomReference();

/** A float64 file's values (a copy: small files come back inside Node's shared buffer pool, at any offset). */
function readF64(file: string): Float64Array {
  const b = readFileSync(file);
  return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

/** The largest and mean absolute difference between transferkit's values and pydicom's. */
function difference(ours: Float32Array, theirs: Float64Array, clip = false): { max: number; mean: number } {
  let [max, sum] = [0, 0];
  for (let i = 0; i < ours.length; i++) {
    const d = Math.abs(ours[i] - Math.fround(clip ? Math.min(255, Math.max(0, theirs[i])) : theirs[i]));
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / ours.length };
}

/** A message a user can read: one line, no JavaScript internals. */
function assertCleanReason(file: string, message: string): void {
  assert.ok(!message.includes('\n'), `${file}: '${message}' spans lines`);
  assert.doesNotMatch(message, /is not a function|Cannot read prop|undefined|Invalid typed array|at .*\.js:/, `${file}: '${message}'`);
}

describe('pydicom test files decode as pydicom decodes them', { skip: reference ? false : 'python3-pydicom absent' }, () => {
  test('every file pydicom decodes is equal (lossless exactly, lossy JPEG close); every other file a clean skip', async (t) => {
    const files = reference?.files ?? [];
    const counts = { equal: 0, close: 0, skipped: 0, extra: 0 };
    const failures: string[] = [];
    for (const e of files) {
      if (e.status === 'skip') {
        try {
          const img = await readDicom(e.path);
          counts.extra++;
          t.diagnostic(`${e.file}: pydicom skips it (${e.reason}); transferkit decodes ${img.rows}×${img.columns}×${img.channels}`);
        } catch (err) {
          const message = (err as Error).message;
          assertCleanReason(e.file, message);
          counts.skipped++;
          t.diagnostic(`${e.file}: skipped by both; pydicom: ${e.reason}; transferkit: ${message}`);
        }
        continue;
      }
      const all = readF64(e.values as string);
      const per = all.length / (e.frames as number);
      for (let f = 0; f < (e.frames as number); f++) {
        const label = `${e.file}${(e.frames as number) > 1 ? ` frame ${f + 1}` : ''} (${e.syntax}, ${e.photometric}, ${e.handler})`;
        let img: Awaited<ReturnType<typeof readDicom>>;
        try {
          img = await readDicom(e.path, f);
        } catch (err) {
          failures.push(`${label}: transferkit refuses it: ${(err as Error).message}`);
          continue;
        }
        const shape = [img.rows, img.columns, img.channels];
        if (shape.join() !== (e.shape as number[]).join()) {
          failures.push(`${label}: shape ${shape} against pydicom's ${e.shape}`);
          continue;
        }
        // Lossless: equal after float32 rounding. JPEG baseline: libjpeg-turbo's integer colour conversion and
        // upsampling (clipped to 0–255) against Pillow's YCbCr converted here in float, within rounding.
        const jpeg = e.syntax?.startsWith('1.2.840.10008.1.2.4.5') ?? false;
        const d = difference(img.values, all.subarray(f * per, (f + 1) * per), jpeg);
        const ok = jpeg ? d.max < 1 : d.max === 0;
        if (!ok) failures.push(`${label}: max difference ${d.max}, mean ${d.mean.toFixed(4)}`);
        else if (d.max === 0) counts.equal++;
        else counts.close++;
        t.diagnostic(`${label}: ${d.max === 0 ? 'equal' : `max difference ${d.max}, mean ${d.mean.toFixed(3)}`}`);
      }
    }
    t.diagnostic(
      `pydicom ${reference?.pydicom}: ${files.length} files; frames equal ${counts.equal}, lossy close ${counts.close}; skipped by both ${counts.skipped}; decoded only by transferkit ${counts.extra}`,
    );
    assert.deepEqual(failures, []);
    assert.ok(counts.equal >= 60, `${counts.equal} frames equal`);
  });

  test('lossless files pydicom cannot decode here equal their uncompressed twins pydicom decodes', async () => {
    const twins = [
      ['test_files/MR_small_jpeg_ls_lossless.dcm', 'test_files/MR_small.dcm'],
      ['test_files/SC_rgb_jpeg_gdcm.dcm', 'test_files/SC_rgb_rle.dcm'],
    ];
    for (const [ours, theirs] of twins) {
      const [a, b] = [ours, theirs].map((f) => reference?.files.find((e) => e.file === f) as Entry);
      assert.equal(b.status, 'decoded', theirs);
      assert.equal(difference((await readDicom(a.path)).values, readF64(b.values as string)).max, 0, ours);
    }
  });

  test('show --raw writes pydicom values for a 1-bit segmentation, the deflated syntax and uncompressed YBR_FULL_422', () => {
    const wanted = ['test_files/liver_1frame.dcm', 'test_files/image_dfl.dcm', 'test_files/SC_ybr_full_422_uncompressed.dcm'];
    const entries = wanted.map((f) => reference?.files.find((e) => e.file === f) as Entry);
    for (const e of entries) assert.equal(e?.status, 'decoded', `${e?.file}: ${e?.reason}`);
    const out = tempDir();
    const r = cli(['show', ...entries.map((e) => e.path), '--raw', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    for (const e of entries) {
      const raw = readNpy(path.join(out, `${path.basename(e.file, '.dcm')}.npy`));
      const theirs = readF64(e.values as string);
      assert.equal(raw.data.length, theirs.length, e.file);
      assert.equal(difference(raw.data, theirs).max, 0, e.file);
    }
  });
});
