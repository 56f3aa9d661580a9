// Public datasets transferkit can fetch (or import from a copy made elsewhere), beside the weights registry:
// each entry carries its URL, published hash and archive layout, so nothing downstream is told twice.
import { createReadStream, existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { Unzip, UnzipInflate } from 'fflate';
import { TransferkitError } from '../errors.js';
import { extractZip } from './unzip.js';
import { downloadFile } from '../util/download.js';
import { type RemoteFile, hashFile, hashMismatch, transferkitHome } from '../util/remote-file.js';

export interface DatasetEntry extends RemoteFile {
  id: string;
  variant: string;
  description: string;
  /** Approximate archive size, for the user deciding whether to fetch. */
  approxBytes: number;
  /** Folder inside the archive that holds the class folders. */
  root: string;
  /** Extension of the images. */
  extension: string;
  classes: string[];
  /** The published reference result a real run should approach. */
  reference: string;
}

const EUROSAT_CLASSES = [
  'AnnualCrop',
  'Forest',
  'HerbaceousVegetation',
  'Highway',
  'Industrial',
  'Pasture',
  'PermanentCrop',
  'Residential',
  'River',
  'SeaLake',
];
const EUROSAT_REFERENCE = 'Helber et al. 2019: 98.57% overall accuracy, ResNet-50 fine-tuned on the RGB bands (80/20 split)';

/** EuroSAT (Helber et al.): 27,000 Sentinel-2 tiles of 64×64 in 10 land-use classes. md5s as TorchGeo publishes them. */
export const DATASETS: DatasetEntry[] = [
  {
    id: 'eurosat',
    variant: 'rgb',
    description: 'EuroSAT RGB: 27,000 JPEG tiles, 64x64, 10 classes',
    file: 'EuroSAT.zip',
    url: 'https://hf.co/datasets/torchgeo/eurosat/resolve/c877bcd43f099cd0196738f714544e355477f3fd/EuroSAT.zip',
    md5: 'c8fa014336c82ac7804f0398fcb19387',
    approxBytes: 94e6,
    root: '2750',
    extension: '.jpg',
    classes: EUROSAT_CLASSES,
    reference: EUROSAT_REFERENCE,
    importCommand: 'transferkit datasets import eurosat EuroSAT.zip',
  },
  {
    id: 'eurosat',
    variant: 'all',
    description: 'EuroSAT all bands: 27,000 13-band uint16 GeoTIFF tiles, 64x64, 10 classes',
    file: 'EuroSATallBands.zip',
    url: 'https://hf.co/datasets/torchgeo/eurosat/resolve/1ce6f1bfb56db63fd91b6ecc466ea67f2509774c/EuroSATallBands.zip',
    md5: '5ac12b3b2557aa56e1826e981e8e200e',
    approxBytes: 2.0e9,
    root: 'ds/images/remote_sensing/otherDatasets/sentinel_2/tif',
    extension: '.tif',
    classes: EUROSAT_CLASSES,
    reference: EUROSAT_REFERENCE,
    importCommand: 'transferkit datasets import eurosat EuroSATallBands.zip',
  },
];

export function datasetsDir(): string {
  return path.join(transferkitHome(), 'datasets');
}

export function findDataset(id: string, variant: string): DatasetEntry {
  const entry = DATASETS.find((d) => d.id === id && d.variant === variant);
  if (!entry) {
    const known = DATASETS.map((d) => `${d.id} --bands ${d.variant}`).join(', ');
    throw new TransferkitError(`unknown dataset '${id}' with bands '${variant}'; known: ${known}`);
  }
  return entry;
}

/** Where a dataset's class folders live once installed. */
export function datasetFolder(entry: DatasetEntry): string {
  return path.join(datasetsDir(), `${entry.id}-${entry.variant}`);
}

/** Unpacks the class folders of `entry` (`<root>/<class>/<image>` entries only) into `dest`. */
async function unpack(zip: string, entry: DatasetEntry, dest: string): Promise<number> {
  const count = await extractZip(zip, createReadStream(zip) as AsyncIterable<Uint8Array>, dest, (name) => {
    const rel = name.startsWith(`${entry.root}/`) ? name.slice(entry.root.length + 1).split('/') : null;
    return rel && rel.length === 2 && entry.classes.includes(rel[0]) && path.extname(rel[1]).toLowerCase() === entry.extension ? rel.join('/') : null;
  });
  if (count === 0) {
    await fsp.rm(dest, { recursive: true, force: true });
    throw new TransferkitError(`${zip}: no ${entry.root}/<class>/*${entry.extension} entries; is it ${entry.file}?`);
  }
  return count;
}

export interface InstalledDataset {
  folder: string;
  images: number;
  /** True when the archive matched the published hash. */
  verified: boolean;
  note?: string;
}

/** Installs `entry` from a local zip (offline path): layout checked, hash compared with the published one. */
export async function importDataset(entry: DatasetEntry, zip: string): Promise<InstalledDataset> {
  if (!existsSync(zip)) throw new TransferkitError(`${zip}: no such file`);
  const hashes = await hashFile(zip);
  const mismatch = hashMismatch(entry, hashes);
  const folder = datasetFolder(entry);
  const images = await unpack(zip, entry, folder);
  return { folder, images, verified: !mismatch, ...(mismatch ? { note: `not the published ${entry.file} (${mismatch}): installed as a local variant` } : {}) };
}

/** Downloads the archive (progress bar, hash check, TRANSFERKIT_MIRROR honoured), then installs it. */
export async function fetchDataset(entry: DatasetEntry): Promise<InstalledDataset> {
  const archive = path.join(datasetsDir(), entry.file);
  await fsp.mkdir(datasetsDir(), { recursive: true });
  if (!existsSync(archive)) await downloadFile(entry, archive);
  return importDataset(entry, archive);
}

/** The variant an archive holds, from its first entries' layout. */
export async function detectVariant(id: string, zip: string): Promise<DatasetEntry> {
  const candidates = DATASETS.filter((d) => d.id === id);
  if (!candidates.length) throw new TransferkitError(`unknown dataset '${id}'; known: ${[...new Set(DATASETS.map((d) => d.id))].join(', ')}`);
  const byName = candidates.find((d) => d.file === path.basename(zip));
  if (byName) return byName;
  const names: string[] = [];
  const unzip = new Unzip((file) => void names.push(file.name));
  unzip.register(UnzipInflate);
  for await (const chunk of createReadStream(zip, { end: 1 << 20 })) unzip.push(chunk as Uint8Array);
  const found = candidates.find((d) => names.some((n) => n.startsWith(`${d.root}/`)));
  if (!found) throw new TransferkitError(`${zip}: not a ${id} archive (${candidates.map((d) => d.file).join(' or ')})`);
  return found;
}
