// VGG16 as the bench's steps use it: the model (random weights) and its convolutions' multiply-adds.
import type * as tfl from '@tensorflow/tfjs-layers';
import { addHead, applications } from '../src/index.js';

export async function vgg(size: number, head: boolean): Promise<tfl.LayersModel> {
  const base = await applications.vgg16({ weights: null, includeTop: false, inputShape: [size, size, 3] });
  return head ? addHead(base, 'flatten, dense:256:relu, dense:1:sigmoid') : base;
}

/** Multiply-adds of VGG16's convolutions per image at `size`, from conv index `from` (0-12) on. */
export function vggConvMacs(size: number, from = 0): number {
  const blocks = [
    [64, 64],
    [128, 128],
    [256, 256, 256],
    [512, 512, 512],
    [512, 512, 512],
  ];
  let macs = 0;
  let ci = 3;
  let s = size;
  let k = 0;
  for (const block of blocks) {
    for (const co of block) {
      if (k++ >= from) macs += s * s * 9 * ci * co;
      ci = co;
    }
    s /= 2;
  }
  return macs;
}

/** Multiply-adds of the head `dense:256` (on VGG16's 512 features at 32x32) and `dense:1`. */
export const HEAD_MACS = 512 * 256 + 256;
