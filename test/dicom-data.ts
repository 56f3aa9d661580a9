// Generated DICOM datasets for the tests: CT-like 16-bit images (RescaleIntercept −1024) in class folders,
// written with the corpus's own writer (test/fixtures/dicom/dicom-writer.mjs).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './helpers.js';

export const DICOM_FIXTURES = path.join(ROOT, 'test', 'fixtures', 'dicom');

interface Writer {
  dicomFile(o: object): Buffer;
  words(values: ArrayLike<number>, signedOffset?: number): Buffer;
}
const writer = (): Promise<Writer> => import(path.join(DICOM_FIXTURES, 'dicom-writer.mjs')) as Promise<Writer>;

/**
 * `dir/blob/*.dcm` and `dir/plain/*.dcm`: noisy soft tissue (about 40 HU) with a few random darker
 * patches; each `blob` image has a bright disc (bone, ~700 HU) somewhere in its upper-left quadrant, which is the
 * only evidence of its class. Half the files have no extension (found by the DICM preamble).
 */
export async function makeBlobDicomFolder(dir: string, perClass: number, size = 64, seed = 11): Promise<string> {
  const { dicomFile, words } = await writer();
  let s = seed;
  const rand = () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (const cls of ['blob', 'plain']) {
    mkdirSync(path.join(dir, cls), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const hu = new Float64Array(size * size);
      const patches = Array.from({ length: 3 }, () => [rand() * size, rand() * size, 4 + rand() * 6]);
      const [by, bx, r] = [size * (0.1 + rand() * 0.18), size * (0.1 + rand() * 0.18), size * 0.09];
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          let v = 40 + (rand() - 0.5) * 60;
          for (const [py, px, pr] of patches) if ((y - py) ** 2 + (x - px) ** 2 < pr * pr) v -= 120;
          if (cls === 'blob' && (y - by) ** 2 + (x - bx) ** 2 < r * r) v = 700 + (rand() - 0.5) * 60;
          hu[y * size + x] = v + 1024;
        }
      }
      const name = `${cls}-${String(i).padStart(3, '0')}${i % 2 ? '' : '.dcm'}`;
      writeFileSync(
        path.join(dir, cls, name),
        dicomFile({ rows: size, cols: size, stored: 12, pixels: words(hu), slope: 1, intercept: -1024, center: 300, width: 1000 }),
      );
    }
  }
  return dir;
}
