// Images the user picked in the page: a folder of class folders listed as Node lists one (classes and files in
// sorted order, so the same seed holds out the same images), decoded by the browser's own decoders, resized
// and scaled by the same code as in Node.
import type { LabelledFile, SkippedFile } from '../data/folders.js';
import { type PreprocessMode, preprocessPixels } from '../data/preprocess.js';
import { TransferkitError } from '../errors.js';
import { pixelsFromRgba } from './resize-rgba.js';
import { SCAN_EXTENSIONS, decodeScan, isScan, scanProblem } from './scans.js';

/** What the browser's decoders read, and DICOM and TIFF (Node's decoders: scans.ts). */
export const BROWSER_IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.bmp', ...SCAN_EXTENSIONS] as const;

/** A picked folder of class folders; each file's `file` is its path inside the folder, a key of `blobs`. */
export interface PickedFolder {
  classNames: string[];
  files: LabelledFile[];
  blobs: Map<string, Blob>;
  skipped: SkippedFile[];
}

/** What `<input type=file webkitdirectory>` gives: files with their path below the picked folder's parent. */
export type FolderFile = Blob & { readonly name: string; readonly webkitRelativePath: string };

/** Node's order: name by name at each level (readdir sorted), which a plain sort of whole paths is not. */
function byPath(a: string[], b: string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return a.length - b.length;
}

/** Lists `<picked>/<class>/…/<image>` as Node's listImageFolder does; fewer than two classes is an error. */
export function imageFolderFromFiles(files: Iterable<FolderFile>): PickedFolder {
  const skipped: SkippedFile[] = [];
  const images: string[][] = [];
  const blobs = new Map<string, Blob>();
  let root = '';
  for (const f of files) {
    const parts = (f.webkitRelativePath || f.name).split('/');
    root ||= parts[0];
    const inside = parts.slice(1);
    if (inside.some((p) => p.startsWith('.'))) continue;
    const file = inside.join('/');
    if (inside.length < 2) skipped.push({ file, reason: 'a file beside the class folders (expected <dir>/<class>/<image>)' });
    else if (!BROWSER_IMAGE_EXTENSIONS.some((e) => file.toLowerCase().endsWith(e)))
      skipped.push({ file, reason: 'not an image file the browser decodes (by extension)' });
    else {
      images.push(inside);
      blobs.set(file, f);
    }
  }
  images.sort(byPath);
  const classNames = [...new Set(images.map((p) => p[0]))].sort();
  if (classNames.length < 2)
    throw new TransferkitError(
      `${root || 'the picked folder'}: ${classNames.length} class folder(s) with images; a classifier needs at least 2 (one sub-folder per class)`,
    );
  const files2 = images.map((p) => ({ file: p.join('/'), label: classNames.indexOf(p[0]) }));
  return { classNames, files: files2, blobs, skipped };
}

/**
 * The picked folder less the scans this build cannot decode (DICOM with a codec not in the browser build yet, a
 * structured report, a damaged file; a TIFF that is not 8-bit grey or RGB, or deflated): each is read once here
 * and, when refused, becomes a counted skip with its reason, as Node's listing skips what it cannot read.
 * Photos are left to the browser.
 */
export async function screenFolder(folder: PickedFolder): Promise<PickedFolder> {
  const skipped = [...folder.skipped];
  const files: LabelledFile[] = [];
  for (const f of folder.files) {
    const reason = isScan(f.file) ? await scanProblem(folder.blobs.get(f.file) as Blob, f.file) : null;
    if (reason === null) files.push(f);
    else skipped.push({ file: f.file, reason });
  }
  const left = new Set(files.map((f) => f.label));
  if (left.size < 2)
    throw new TransferkitError(
      `the picked folder: images this page decodes in ${left.size} class folder(s) (${skipped.length} skipped: ${skipped[0]?.reason ?? ''}); a classifier needs at least 2`,
    );
  return { ...folder, files, skipped };
}

/**
 * An image as float32 RGB 0–255 at size × size (DICOM and TIFF files, by their names, by Node's decoders:
 * scans.ts): decoded at its own size by the browser (EXIF orientation applied, no colour conversion), then
 * resized in JavaScript as Node does (resize-rgba.ts).
 */
export async function decodeImage(blob: Blob, size: number): Promise<Float32Array> {
  const name = (blob as Partial<File>).name ?? '';
  if (isScan(name)) return decodeScan(blob, name, size);
  const bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none', imageOrientation: 'from-image' });
  const { width, height } = bitmap;
  const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new TransferkitError('this browser gives no 2D canvas to decode images with');
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  return pixelsFromRgba(ctx.getImageData(0, 0, width, height).data, width, height, size);
}

/** Images decoded, resized and scaled as the model's preprocessing asks, one after another into one batch. */
export async function loadBatch(blobs: Blob[], size: number, mode: PreprocessMode): Promise<Float32Array> {
  const row = size * size * 3;
  const x = new Float32Array(blobs.length * row);
  for (const [i, b] of blobs.entries()) x.set(preprocessPixels(await decodeImage(b, size), mode), i * row);
  return x;
}
