// The bench's Keras fine-tune steps as its rows run them (bench/run.ts), for the tools that time one of them alone
// (bench/step-ab.ts, bench/group-ab.ts): the model, the first trained layer and the batch.
import type * as tfl from '@tensorflow/tfjs-layers';
import { addHead, applications } from '../src/index.js';
import { vgg } from './vgg.js';

export interface StepCase {
  model: () => Promise<tfl.LayersModel>;
  from: string;
  batch: number;
}

/**
 * A zoo row's model: the headless base at 224 and a 1-unit head. ConvNeXt is pooled before Keras's final
 * LayerNorm (`pooling: 'avg'`), as the PyTorch peer's head is (pool, LayerNorm, Linear); the others pool in the head.
 */
export async function zooModel(id: string): Promise<tfl.LayersModel> {
  const pooled = id.startsWith('convnext');
  const base = await applications
    .getApplication(id)
    .build({ weights: null, includeTop: false, inputShape: [224, 224, 3], ...(pooled ? { pooling: 'avg' } : {}) });
  return addHead(base, pooled ? 'dense:1:sigmoid' : 'gap, dense:1:sigmoid');
}

const zoo = (id: string) => () => zooModel(id);

export const STEP_CASES: Record<string, StepCase> = {
  mobilenet_v2: { model: zoo('mobilenet_v2'), from: 'block_16_expand', batch: 8 },
  efficientnet_v2_s: { model: zoo('efficientnet_v2_s'), from: 'block6a_expand_conv', batch: 8 },
  convnext_tiny: { model: zoo('convnext_tiny'), from: 'convnext_tiny_downsampling_layernorm_2', batch: 8 },
  vgg16_block5: { model: () => vgg(32, true), from: 'block5_conv1', batch: 64 },
  vgg16_head: { model: () => vgg(32, true), from: 'flatten', batch: 64 },
};
