// Well-known ONNX backbones, as Transformers.js model folders on huggingface.co (onnx/model.onnx beside
// config.json and preprocessor_config.json). Nobody publishes their hashes: each file's sha256 and size are
// pinned at first download or import (trust on first use, as for Keras's unhashed MobileNet files) in the
// folder's hashes.json, and a later fetch or import must match them.
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { TransferkitError } from '../errors.js';
import { tempNameFor, writeFileAtomic } from '../util/fs.js';
import { downloadFile } from '../util/download.js';
import { type FileHashes, hashFile } from '../util/remote-file.js';
import { weightsDir } from './cache.js';

export interface OnnxBackbone {
  id: string;
  name: string;
  /** The huggingface.co repository (a Transformers.js folder). */
  repo: string;
  /** What the default feature rule takes: pooler_output / the CLS token, or the classifier's input. */
  features: string;
  /** Its image processor's size and normalisation (after x / 255), as its model card gives them. */
  inputSize: number;
  mean: [number, number, number];
  std: [number, number, number];
}

const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } as Pick<OnnxBackbone, 'mean' | 'std'>;
const HALF = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } as Pick<OnnxBackbone, 'mean' | 'std'>;

/** The folder's files: the model is required, the two configs give preprocessing and labels. */
export const BACKBONE_FILES = ['onnx/model.onnx', 'config.json', 'preprocessor_config.json'] as const;

export const ONNX_BACKBONES: readonly OnnxBackbone[] = [
  { id: 'vit_b16', name: 'ViT-B/16 (ImageNet-21k)', repo: 'Xenova/vit-base-patch16-224-in21k', features: 'pooler_output (768)', inputSize: 224, ...HALF },
  { id: 'deit_s', name: 'DeiT-S distilled', repo: 'Xenova/deit-small-distilled-patch16-224', features: 'classifier input (384)', inputSize: 224, ...IMAGENET },
  { id: 'dinov2_s', name: 'DINOv2-S/14', repo: 'Xenova/dinov2-small', features: 'pooler_output (384)', inputSize: 224, ...IMAGENET },
  { id: 'dinov2_b', name: 'DINOv2-B/14', repo: 'Xenova/dinov2-base', features: 'pooler_output (768)', inputSize: 224, ...IMAGENET },
  { id: 'convnext_t', name: 'ConvNeXt-T', repo: 'Xenova/convnext-tiny-224', features: 'classifier input (768)', inputSize: 224, ...IMAGENET },
  { id: 'swin_t', name: 'Swin-T', repo: 'Xenova/swin-tiny-patch4-window7-224', features: 'classifier input (768)', inputSize: 224, ...IMAGENET },
  {
    id: 'efficientnetv2_s',
    name: 'EfficientNetV2-S',
    repo: 'onnx-community/tf_efficientnetv2_s.in21k_ft_in1k',
    features: 'classifier input (1280)',
    inputSize: 300,
    ...HALF,
  },
  {
    id: 'mobilenetv3_l',
    name: 'MobileNetV3-L',
    repo: 'onnx-community/mobilenetv3_large_100.ra_in1k',
    features: 'classifier input (1280)',
    inputSize: 224,
    ...IMAGENET,
  },
];

export const backboneUrl = (b: OnnxBackbone, file: string) => `https://huggingface.co/${b.repo}/resolve/main/${file}`;

export function findBackbone(id: string): OnnxBackbone | undefined {
  return ONNX_BACKBONES.find((b) => b.id === id || b.repo === id || b.repo.split('/')[1] === id);
}

/** The backbone's folder in the cache. */
export const backboneDir = (b: OnnxBackbone) => path.join(weightsDir(), 'onnx', b.id);

type Pins = Record<string, { sha256: string; bytes: number }>;
const pinsFile = (b: OnnxBackbone) => path.join(backboneDir(b), 'hashes.json');

async function readPins(b: OnnxBackbone): Promise<Pins> {
  try {
    return JSON.parse(await fsp.readFile(pinsFile(b), 'utf8')) as Pins;
  } catch {
    return {};
  }
}

/** Checks a file against its pin, or pins it; returns a note when it was pinned now. */
function checkPin(b: OnnxBackbone, pins: Pins, file: string, h: FileHashes, where: string): string | null {
  const pin = pins[file];
  if (pin && (pin.sha256 !== h.sha256 || pin.bytes !== h.bytes))
    throw new TransferkitError(
      `${where}: sha256 ${h.sha256.slice(0, 16)}… (${h.bytes} bytes) is not the ${pin.sha256.slice(0, 16)}… (${pin.bytes} bytes) pinned at first download of ${b.id}; delete ${backboneDir(b)} to trust a new copy`,
    );
  if (pin) return null;
  pins[file] = { sha256: h.sha256, bytes: h.bytes };
  return `${b.id}/${file}: no hash is published; recorded sha256 ${h.sha256} (${h.bytes} bytes)`;
}

export interface BackboneResult {
  backbone: OnnxBackbone;
  dir: string;
  files: Array<{ file: string; sha256: string; bytes: number }>;
  notes: string[];
}

async function finish(b: OnnxBackbone, pins: Pins, notes: string[]): Promise<BackboneResult> {
  await writeFileAtomic(pinsFile(b), JSON.stringify(pins, null, 1) + '\n');
  return { backbone: b, dir: backboneDir(b), files: Object.entries(pins).map(([file, p]) => ({ file, ...p })), notes };
}

/** `transferkit weights fetch vit_b16`: downloads the folder's files (hash-pinned), skipping those cached. */
export async function fetchBackbone(b: OnnxBackbone): Promise<BackboneResult> {
  const pins = await readPins(b);
  const notes: string[] = [];
  for (const file of BACKBONE_FILES) {
    const dest = path.join(backboneDir(b), file);
    if (existsSync(dest)) continue;
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    const hashes = await downloadFile(
      { file: `${b.id}/${file}`, url: backboneUrl(b, file), importCommand: `transferkit weights import FOLDER --as ${b.id}` },
      dest,
    );
    const note = checkPin(b, pins, file, hashes, backboneUrl(b, file));
    if (note) notes.push(note);
  }
  return finish(b, pins, notes);
}

/**
 * `transferkit weights import FOLDER [--as ID]`: a Transformers.js folder downloaded elsewhere into the cache.
 * Recognised by --as or by the folder's name (the repository's); its files must match any pins.
 */
export async function importBackbone(src: string, as?: string): Promise<BackboneResult> {
  const b = findBackbone(as ?? path.basename(path.resolve(src)));
  if (!b)
    throw new TransferkitError(
      `${src}: not a backbone transferkit knows by name (${ONNX_BACKBONES.map((x) => x.id).join(', ')}); say which with --as ID, or pass the folder itself as --base ${src}`,
    );
  if (!existsSync(path.join(src, 'onnx', 'model.onnx'))) throw new TransferkitError(`${src}: no onnx/model.onnx in it (the Transformers.js layout)`);
  const pins = await readPins(b);
  const notes: string[] = [];
  for (const file of BACKBONE_FILES) {
    const from = path.join(src, file);
    if (!existsSync(from)) continue;
    const h = await hashFile(from);
    const note = checkPin(b, pins, file, h, from);
    if (note) notes.push(note);
    const dest = path.join(backboneDir(b), file);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    const tmp = tempNameFor(dest);
    await fsp.copyFile(from, tmp);
    await fsp.rename(tmp, dest);
  }
  return finish(b, pins, notes);
}

/** The cached folder of a backbone id, or an error saying how to get it. */
export function cachedBackbone(b: OnnxBackbone): string {
  const dir = backboneDir(b);
  if (!existsSync(path.join(dir, 'onnx', 'model.onnx')))
    throw new TransferkitError(
      `${b.id} (${b.name}) is not in the cache: transferkit weights fetch ${b.id}, or offline: transferkit weights import FOLDER --as ${b.id} (a copy of huggingface.co/${b.repo})`,
    );
  return dir;
}
