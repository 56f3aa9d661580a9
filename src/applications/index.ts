/**
 * Keras's applications (`tf.keras.applications`): all 40 model functions with Keras's options, layer names and
 * weights, and the one list of them the CLI, the weights registry and the page read.
 * @module
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferkitError } from '../errors.js';
import { type ApplicationSpec, applicationInfo } from './common.js';
import type { PreprocessMode } from '../data/preprocess.js';
import type { ApplicationArgs } from './inputs.js';
import * as convnext from './convnext.js';
import { MOBILENET, type MobileNetArgs, mobilenet } from './mobilenet.js';
import { NASNET_LARGE, NASNET_MOBILE, nasnetLarge, nasnetMobile } from './nasnet.js';
import { DENSENET121, DENSENET169, DENSENET201, densenet121, densenet169, densenet201 } from './densenet.js';
import * as efficientnet from './efficientnet.js';
import * as efficientnetV2 from './efficientnet_v2.js';
import { INCEPTION_V3, inceptionV3 } from './inception_v3.js';
import { INCEPTION_RESNET_V2, inceptionResNetV2 } from './inception_resnet_v2.js';
import { MOBILENET_V2, type MobileNetV2Args, mobilenetV2 } from './mobilenet_v2.js';
import { MOBILENET_V3_LARGE, MOBILENET_V3_SMALL, mobilenetV3Large, mobilenetV3Small } from './mobilenet_v3.js';
import * as resnet from './resnet.js';
import { VGG16, VGG19, vgg16, vgg19 } from './vgg.js';
import { XCEPTION, xception } from './xception.js';

export { applicationInfo, type ApplicationInfo, type ApplicationSpec } from './common.js';
export type { ApplicationArgs, InputShape, Pooling } from './inputs.js';
export { preprocessInput, type PreprocessMode } from '../data/preprocess.js';
export { inceptionV3, mobilenet, type MobileNetArgs, mobilenetV2, type MobileNetV2Args, vgg16, vgg19, xception };
export { densenet121, densenet169, densenet201, inceptionResNetV2, nasnetMobile, nasnetLarge };
export { mobilenetV3Small, mobilenetV3Large, type MobileNetV3Args } from './mobilenet_v3.js';
export { resnet50, resnet101, resnet152, resnet50v2, resnet101v2, resnet152v2 } from './resnet.js';
export {
  efficientnetV2B0,
  efficientnetV2B1,
  efficientnetV2B2,
  efficientnetV2B3,
  efficientnetV2S,
  efficientnetV2M,
  efficientnetV2L,
  type EfficientNetV2Args,
} from './efficientnet_v2.js';
export {
  efficientnetB0,
  efficientnetB1,
  efficientnetB2,
  efficientnetB3,
  efficientnetB4,
  efficientnetB5,
  efficientnetB6,
  efficientnetB7,
} from './efficientnet.js';
export { convnextTiny, convnextSmall, convnextBase, convnextLarge, convnextXLarge, type ConvNeXtArgs } from './convnext.js';
export { CustomScaleLayer, HardSwish, LayerScale, Normalization, Rescaling } from './layers.js';

/** A model as the CLI, the workflows and the page find it: by id, or by Keras's function name. */
export interface ApplicationEntry {
  spec: ApplicationSpec;
  /** Builds the model with Keras's options (weights, includeTop, inputShape, pooling, …). */
  build(args: ApplicationArgs & Record<string, unknown>): Promise<tfl.LayersModel>;
}

/** Every model transferkit builds, in Keras's documentation order: the one list the CLI, weights and page read. */
const ENTRIES: ApplicationEntry[] = [
  { spec: VGG16, build: vgg16 },
  { spec: VGG19, build: vgg19 },
  { spec: resnet.RESNET50, build: resnet.resnet50 },
  { spec: resnet.RESNET101, build: resnet.resnet101 },
  { spec: resnet.RESNET152, build: resnet.resnet152 },
  { spec: resnet.RESNET50V2, build: resnet.resnet50v2 },
  { spec: resnet.RESNET101V2, build: resnet.resnet101v2 },
  { spec: resnet.RESNET152V2, build: resnet.resnet152v2 },
  { spec: INCEPTION_V3, build: inceptionV3 },
  { spec: XCEPTION, build: xception },
  { spec: INCEPTION_RESNET_V2, build: inceptionResNetV2 },
  { spec: MOBILENET, build: mobilenet },
  { spec: MOBILENET_V2, build: mobilenetV2 },
  { spec: MOBILENET_V3_SMALL, build: mobilenetV3Small },
  { spec: MOBILENET_V3_LARGE, build: mobilenetV3Large },
  { spec: DENSENET121, build: densenet121 },
  { spec: DENSENET169, build: densenet169 },
  { spec: DENSENET201, build: densenet201 },
  { spec: NASNET_MOBILE, build: nasnetMobile },
  { spec: NASNET_LARGE, build: nasnetLarge },
  { spec: efficientnet.EFFICIENTNET_B0, build: efficientnet.efficientnetB0 },
  { spec: efficientnet.EFFICIENTNET_B1, build: efficientnet.efficientnetB1 },
  { spec: efficientnet.EFFICIENTNET_B2, build: efficientnet.efficientnetB2 },
  { spec: efficientnet.EFFICIENTNET_B3, build: efficientnet.efficientnetB3 },
  { spec: efficientnet.EFFICIENTNET_B4, build: efficientnet.efficientnetB4 },
  { spec: efficientnet.EFFICIENTNET_B5, build: efficientnet.efficientnetB5 },
  { spec: efficientnet.EFFICIENTNET_B6, build: efficientnet.efficientnetB6 },
  { spec: efficientnet.EFFICIENTNET_B7, build: efficientnet.efficientnetB7 },
  { spec: efficientnetV2.EFFICIENTNET_V2_B0, build: efficientnetV2.efficientnetV2B0 },
  { spec: efficientnetV2.EFFICIENTNET_V2_B1, build: efficientnetV2.efficientnetV2B1 },
  { spec: efficientnetV2.EFFICIENTNET_V2_B2, build: efficientnetV2.efficientnetV2B2 },
  { spec: efficientnetV2.EFFICIENTNET_V2_B3, build: efficientnetV2.efficientnetV2B3 },
  { spec: efficientnetV2.EFFICIENTNET_V2_S, build: efficientnetV2.efficientnetV2S },
  { spec: efficientnetV2.EFFICIENTNET_V2_M, build: efficientnetV2.efficientnetV2M },
  { spec: efficientnetV2.EFFICIENTNET_V2_L, build: efficientnetV2.efficientnetV2L },
  { spec: convnext.CONVNEXT_TINY, build: convnext.convnextTiny },
  { spec: convnext.CONVNEXT_SMALL, build: convnext.convnextSmall },
  { spec: convnext.CONVNEXT_BASE, build: convnext.convnextBase },
  { spec: convnext.CONVNEXT_LARGE, build: convnext.convnextLarge },
  { spec: convnext.CONVNEXT_XLARGE, build: convnext.convnextXLarge },
];

/** Every model id transferkit can build. */
export function applicationIds(): string[] {
  return ENTRIES.map((e) => e.spec.id);
}

/** The model with this id or Keras name (`convnext_tiny` or `ConvNeXtTiny`, any case), or undefined. */
export function findApplication(id: string): ApplicationEntry | undefined {
  const key = id.toLowerCase();
  return ENTRIES.find((e) => e.spec.id === key || e.spec.name.toLowerCase() === key);
}

/** The model with this id or Keras name; an unknown one is an error listing the ids. */
export function getApplication(id: string): ApplicationEntry {
  const entry = findApplication(id);
  if (!entry) throw new TransferkitError(`unknown model '${id}': choose one of ${applicationIds().join(', ')}`);
  return entry;
}

/** The preprocessing a model built by `applications.*` needs (the data pipeline reads it from here). */
export function preprocessingOf(model: tfl.LayersModel): PreprocessMode {
  const info = applicationInfo(model);
  if (!info) throw new TransferkitError(`model ${model.name} was not built by transferkit's applications: say its preprocessing (caffe, tf, torch, none)`);
  return info.spec.preprocessing;
}
