// The browser tests' data set: two CIFAR-10 classes copied into a folder of class folders, as a user picks it.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { CIFAR_DIR, tempDir } from './helpers.js';

/** deer/truck: Node's feature extraction reaches 98.5% validation accuracy on it (1,600 train, 400 held out). */
export const PAIR = ['deer', 'truck'];

/** The pair's 2,000 test images in a folder of class folders. */
export function pairFolder(): string {
  const dir = path.join(tempDir('tk-web-'), 'cifar-pair');
  for (const c of PAIR) {
    mkdirSync(path.join(dir, c), { recursive: true });
    for (const f of readdirSync(path.join(CIFAR_DIR, c))) copyFileSync(path.join(CIFAR_DIR, c, f), path.join(dir, c, f));
  }
  return dir;
}
