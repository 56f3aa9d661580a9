// Per format: the command a user runs on such a file, and the mutations a case draws from.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { unzipSync } from 'fflate';
import { jpegDimensions, mutateHdf5, mutateTiff, mutateZip, plainEntry, pngDimensions, writeZip } from './containers.js';
import { type Rng, int, mutateBytes, mutateJson, pick } from './mutate.js';
import { type Format, type Seed, TINY } from './seeds.js';

/** A case's damage: the files (relative to the seed's folder) replaced, and what was done. */
export interface Damage {
  label: string;
  files: Record<string, Buffer | string>;
}

export interface FormatSpec {
  /** Who fixes what the fuzzer finds in this format (the other's failures are listed as known). */
  owner: 'fuzz26' | 'inputs26';
  command(seed: Seed): string[];
  mutate(rng: Rng, seed: Seed, outside: string): Damage;
}

const read = (seed: Seed, rel: string) => readFileSync(path.join(seed.dir, rel));
const mainFile = (seed: Seed) => seed.files.find((f) => !f.endsWith('.png')) as string;

function bytes(rng: Rng, seed: Seed, rel = pick(rng, seed.files)): Damage {
  const m = mutateBytes(rng, read(seed, rel));
  return { label: `${rel}: ${m.label}`, files: { [rel]: m.bytes } };
}

function json(rng: Rng, seed: Seed, rel: string, outside: string): Damage {
  const m = mutateJson(rng, JSON.parse(read(seed, rel).toString('utf8')), outside);
  return { label: `${rel}: ${m.label}`, files: { [rel]: m.text } };
}

/** The JSON text starting at `start` (a balanced object), for editing an HDF5 string attribute in place. */
function jsonSpan(b: Buffer, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < b.length; i++) {
    const c = b[i];
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b) depth++;
    else if (c === 0x7d && --depth === 0) return i + 1;
  }
  return -1;
}

/** A Keras 2 .h5's model_config mutated in place: same length, padded with spaces (else a byte mutation). */
function h5Config(rng: Rng, seed: Seed, rel: string, outside: string): Damage {
  const b = read(seed, rel);
  const start = b.indexOf('{"class_name"');
  const end = start < 0 ? -1 : jsonSpan(b, start);
  if (end > 0) {
    const m = mutateJson(rng, JSON.parse(b.toString('utf8', start, end)), outside);
    const text = Buffer.from(m.text);
    if (text.length <= end - start) {
      const out = Buffer.from(b);
      out.fill(0x20, start, end);
      text.copy(out, start);
      return { label: `${rel} model_config: ${m.label}`, files: { [rel]: out } };
    }
  }
  return bytes(rng, seed, rel);
}

function kerasZip(rng: Rng, seed: Seed, outside: string): Damage {
  const rel = mainFile(seed);
  const unzipped = unzipSync(new Uint8Array(read(seed, rel)));
  const entries = Object.entries(unzipped).map(([name, data]) => plainEntry(name, Buffer.from(data)));
  const target = pick(rng, ['config.json', 'model.weights.h5']);
  const kind = int(rng, 0, 3);
  if (kind === 0) {
    const m = mutateZip(rng, entries, target);
    return { label: `${rel}: ${m.label}`, files: { [rel]: m.bytes } };
  }
  if (kind === 1 || kind === 2) {
    const data = Buffer.from(unzipped[target]);
    const m =
      target === 'config.json'
        ? (({ label, text }) => ({ label, bytes: Buffer.from(text) }))(mutateJson(rng, JSON.parse(data.toString('utf8')), outside))
        : rng() < 0.5
          ? mutateHdf5(rng, data)
          : mutateBytes(rng, data);
    return { label: `${rel}: ${target}: ${m.label}`, files: { [rel]: writeZip(entries.map((e) => (e.name === target ? plainEntry(target, m.bytes) : e))) } };
  }
  return bytes(rng, seed, rel);
}

const show = (seed: Seed) => ['show', seed.main, '--out', 'out', '--input-size', '32'];
const predictKeras = (seed: Seed) => ['predict', '--model', mainFile(seed), '--preprocessing', 'unit', seed.files.find((f) => f.endsWith('.png')) as string];
const trainFeatures = (seed: Seed) => ['train', '--features', seed.main, ...TINY, '--epochs', '1', '--out', 'out'];

export const FORMATS: Record<Format, FormatSpec> = {
  photo: {
    owner: 'fuzz26',
    command: show,
    mutate: (rng, seed) => {
      const rel = seed.files[0];
      if (rng() < 0.8) return bytes(rng, seed, rel);
      const m = rel.endsWith('.png') ? pngDimensions(rng, read(seed, rel)) : jpegDimensions(rng, read(seed, rel));
      return { label: `${rel}: ${m.label}`, files: { [rel]: m.bytes } };
    },
  },
  geotiff: {
    owner: 'fuzz26',
    command: show,
    mutate: (rng, seed) => {
      const rel = seed.files[0];
      if (rng() < 0.4) return bytes(rng, seed, rel);
      const m = mutateTiff(rng, read(seed, rel));
      return { label: `${rel}: ${m.label}`, files: { [rel]: m.bytes } };
    },
  },
  keras: { owner: 'fuzz26', command: predictKeras, mutate: kerasZip },
  'keras-h5': {
    owner: 'fuzz26',
    command: predictKeras,
    mutate: (rng, seed, outside) => {
      const rel = mainFile(seed);
      const kind = int(rng, 0, 2);
      if (kind === 0) return h5Config(rng, seed, rel, outside);
      if (kind === 1) {
        const m = mutateHdf5(rng, read(seed, rel));
        return { label: `${rel}: ${m.label}`, files: { [rel]: m.bytes } };
      }
      return bytes(rng, seed, rel);
    },
  },
  'weights-h5': {
    owner: 'fuzz26',
    command: (seed) => ['summary', 'mobilenet', '--alpha', '0.25', '--no-top', '--weights', seed.main, '--input-shape', '32,32,3'],
    mutate: (rng, seed) => {
      if (rng() < 0.5) return bytes(rng, seed);
      const m = mutateHdf5(rng, read(seed, seed.main));
      return { label: `${seed.main}: ${m.label}`, files: { [seed.main]: m.bytes } };
    },
  },
  'saved-model': {
    owner: 'fuzz26',
    command: () => ['predict', 'model', 'frog.png'],
    mutate: (rng, seed, outside) => {
      const rel = pick(rng, ['model/model.json', 'model/weights.bin', 'model/transferkit.json']);
      if (rel === 'model/weights.bin' && rng() < 0.4) {
        const b = read(seed, rel);
        const fill = pick(rng, [0xff, 0x7f]);
        const from = rng() < 0.5 ? 0 : int(rng, 0, b.length - 4) & ~3;
        return { label: `${rel}: fill ${fill} from ${from}`, files: { [rel]: Buffer.from(b).fill(fill, from) } };
      }
      if (rel !== 'model/weights.bin' && rng() < 0.6) return json(rng, seed, rel, outside);
      return bytes(rng, seed, rel);
    },
  },
  dicom: { owner: 'inputs26', command: show, mutate: (rng, seed) => bytes(rng, seed, seed.files[0]) },
  onnx: {
    owner: 'inputs26',
    command: (seed) => ['extract', 'data', '--base', seed.files[0], '--out', 'features.npy'],
    mutate: (rng, seed) => bytes(rng, seed, seed.files[0]),
  },
  parquet: { owner: 'inputs26', command: trainFeatures, mutate: (rng, seed) => bytes(rng, seed) },
  arrow: { owner: 'inputs26', command: trainFeatures, mutate: (rng, seed) => bytes(rng, seed) },
  csv: {
    owner: 'inputs26',
    command: () => ['train', 'targets.csv', ...TINY, '--epochs', '1', '--out', 'out'],
    mutate: (rng, seed, outside) => {
      if (rng() < 0.5) return bytes(rng, seed, 'targets.csv');
      const lines = read(seed, 'targets.csv').toString('utf8').trimEnd().split('\n');
      const i = int(rng, 1, lines.length - 1);
      const [file] = lines[i].split(',');
      const row = pick(rng, [
        `${file},NaN`,
        `${file},Infinity`,
        `${file},1e400`,
        `${outside},1`,
        `../../../etc/passwd,1`,
        `${file},1,2,3`,
        `${file}`,
        `"${file},1`,
      ]);
      lines[i] = row;
      return { label: `targets.csv row ${i}: ${row}`, files: { 'targets.csv': lines.join('\n') + '\n' } };
    },
  },
};
