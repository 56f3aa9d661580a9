// transferkit.json checked field by field before a saved model is used: a damaged file (by hand or by a disk)
// must be named as such, not surface later as `c.padEnd is not a function` or a NaN threshold.
import { PREPROCESS_MODES } from '../../data/preprocess.js';
import { TransferkitError } from '../../errors.js';

/** Larger than any input transferkit trains (ImageNet bases take 224–600 pixels). */
const MAX_SIDE = 8192;
const MAX_CLASSES = 100_000;
const TASKS = ['binary', 'categorical', 'regression'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isIndex = (v: unknown, max: number) => Number.isInteger(v) && (v as number) >= 0 && (v as number) < max;

/** The first field of `meta` that is not what transferkit writes, described; undefined when all are. */
function damagedField(meta: Record<string, unknown>): string | undefined {
  const shape = meta.inputShape;
  if (
    !Array.isArray(shape) ||
    shape.length !== 3 ||
    !shape.every((d) => Number.isInteger(d) && d > 0) ||
    shape[0] > MAX_SIDE ||
    shape[1] > MAX_SIDE ||
    shape[2] > 64
  )
    return `inputShape ${JSON.stringify(shape)} (height, width, channels)`;
  if (!(PREPROCESS_MODES as readonly unknown[]).includes(meta.preprocessing)) return `preprocessing ${JSON.stringify(meta.preprocessing)}`;
  if (!isObject(meta.base) || typeof meta.base.id !== 'string') return 'base';
  const names = meta.classNames;
  if (names !== undefined && (!Array.isArray(names) || names.length > MAX_CLASSES || !names.every((n) => typeof n === 'string')))
    return 'classNames (a list of names)';
  if (meta.task !== undefined && !TASKS.includes(meta.task as string)) return `task ${JSON.stringify(meta.task)}`;
  const t = meta.threshold;
  if (t !== undefined && (typeof t !== 'number' || !(t >= 0 && t <= 1))) return `threshold ${JSON.stringify(t)} (0 to 1)`;
  if (meta.dicom !== undefined && (!isObject(meta.dicom) || (meta.dicom.frame !== undefined && !isIndex(meta.dicom.frame, 1 << 16)))) return 'dicom';
  if (meta.bands !== undefined) {
    const b = meta.bands;
    if (!isObject(b) || !Array.isArray(b.indices) || b.indices.length !== shape[2] || !b.indices.every((i) => isIndex(i, 1024)) || !isObject(b.scale))
      return 'bands';
  }
  return undefined;
}

/** Refuses metadata that transferkit did not write (or that was damaged since), naming `file` and the field. */
export function checkMetadata(meta: Record<string, unknown>, file: string): void {
  const field = damagedField(meta);
  if (field) throw new TransferkitError(`${file}: ${field} is damaged; the model's metadata must be as transferkit wrote it (save or export the model again)`);
}

/** Refuses class names that do not match the model's outputs (units, or 2 names for one sigmoid unit). */
export function checkClassCount(names: string[] | undefined, units: number, task: string | undefined, file: string): void {
  if (!names || task === 'regression') return;
  const expected = units === 1 ? 2 : units;
  if (names.length !== expected)
    throw new TransferkitError(`${file}: ${names.length} class names for a model with ${expected} classes; the metadata is damaged`);
}
