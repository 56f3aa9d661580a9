import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { TransferkitError } from '../errors.js';
import { IMAGE_EXTENSIONS, isImageFile } from './formats.js';

export interface LabelledFile {
  file: string;
  label: number;
}

export interface SkippedFile {
  file: string;
  reason: string;
}

/** A folder of class folders as Keras lists it: class names, labelled files, and what was skipped. */
export interface ImageFolder {
  /** Sorted sub-folder names, as Keras infers them; a label is an index into this list. */
  classNames: string[];
  /** Every image, class by class, files in sorted order. */
  files: LabelledFile[];
  /** Files that are not images (by extension) or cannot be read. */
  skipped: SkippedFile[];
  /** Class folders with no image. */
  emptyClasses: string[];
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Image files under `dir`, recursively (Keras follows sub-folders of a class folder too). */
async function imagesUnder(dir: string, skipped: SkippedFile[], seen: Set<string>): Promise<string[]> {
  const real = await fsp.realpath(dir);
  if (seen.has(real)) {
    skipped.push({ file: dir, reason: 'folder already visited (symlink loop)' });
    return [];
  }
  seen.add(real);
  const entries = (await fsp.readdir(dir, { withFileTypes: true })).sort((a, b) => byName(a.name, b.name));
  const out: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const full = path.join(dir, e.name);
    let isDir = e.isDirectory();
    if (e.isSymbolicLink()) {
      try {
        isDir = (await fsp.stat(full)).isDirectory();
      } catch {
        skipped.push({ file: full, reason: 'broken symbolic link' });
        continue;
      }
    }
    if (isDir) out.push(...(await imagesUnder(full, skipped, seen)));
    else if (await isImageFile(full)) out.push(full);
    else skipped.push({ file: full, reason: 'not an image file (by extension)' });
  }
  return out;
}

/**
 * Lists a folder of class folders (`dir/<class>/<image>`), as Keras's `image_dataset_from_directory` does:
 * classes from the sorted sub-folder names, files in sorted order. Fewer than two classes with images, or no
 * images at all, is an error naming the folder.
 */
export async function listImageFolder(dir: string, options: { minClasses?: number } = {}): Promise<ImageFolder> {
  let entries;
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new TransferkitError(`${dir}: cannot read the dataset folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const skipped: SkippedFile[] = [];
  const classNames: string[] = [];
  for (const e of entries.sort((a, b) => byName(a.name, b.name))) {
    if (e.name.startsWith('.')) continue;
    const full = path.join(dir, e.name);
    const isDir =
      e.isDirectory() ||
      (e.isSymbolicLink() &&
        (await fsp.stat(full).then(
          (s) => s.isDirectory(),
          () => false,
        )));
    if (isDir) classNames.push(e.name);
    else skipped.push({ file: full, reason: 'a file beside the class folders (expected <dir>/<class>/<image>)' });
  }
  const files: LabelledFile[] = [];
  const emptyClasses: string[] = [];
  const seen = new Set<string>();
  for (const [label, name] of classNames.entries()) {
    const images = await imagesUnder(path.join(dir, name), skipped, seen);
    if (images.length === 0) emptyClasses.push(name);
    for (const file of images) files.push({ file, label });
  }
  if (files.length === 0) throw new TransferkitError(`${dir}: no images found; expected ${dir}/<class>/<image>.jpg (extensions ${IMAGE_EXTENSIONS.join(' ')})`);
  const withImages = classNames.length - emptyClasses.length;
  const minClasses = options.minClasses ?? 1;
  if (withImages < minClasses) {
    throw new TransferkitError(`${dir}: ${withImages} class folder(s) with images; a classifier needs at least ${minClasses} (one sub-folder per class)`);
  }
  return { classNames, files, skipped, emptyClasses };
}

/** Image files named on the command line: files as given, folders searched (sorted, recursively). */
export async function listImageFiles(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const stat = await fsp.stat(p).catch(() => null);
    if (!stat) throw new TransferkitError(`${p}: no such file or folder`);
    if (stat.isDirectory()) {
      for (const e of (await fsp.readdir(p, { recursive: true })).map(String).sort()) {
        const file = path.join(p, e);
        if (!path.basename(e).startsWith('.') && (await isImageFile(file))) out.push(file);
      }
    } else out.push(p);
  }
  return out;
}
