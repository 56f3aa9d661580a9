import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferkitError } from '../errors.js';
import { type ApplicationSpec, applicationInfo } from './common.js';
import type { PreprocessMode } from '../data/preprocess.js';
import type { ApplicationArgs } from './inputs.js';
import { MOBILENET, type MobileNetArgs, mobilenet } from './mobilenet.js';
import { EFFICIENTNET_B0, efficientnetB0 } from './efficientnet.js';
import { INCEPTION_V3, inceptionV3 } from './inception_v3.js';
import { MOBILENET_V2, type MobileNetV2Args, mobilenetV2 } from './mobilenet_v2.js';
import { RESNET50, RESNET50V2, resnet50, resnet50v2 } from './resnet.js';
import { VGG16, VGG19, vgg16, vgg19 } from './vgg.js';
import { XCEPTION, xception } from './xception.js';

export { applicationInfo, type ApplicationInfo, type ApplicationSpec } from './common.js';
export type { ApplicationArgs, InputShape, Pooling } from './inputs.js';
export { preprocessInput, type PreprocessMode } from '../data/preprocess.js';
export { efficientnetB0, inceptionV3, mobilenet, type MobileNetArgs, mobilenetV2, type MobileNetV2Args, resnet50, resnet50v2, vgg16, vgg19, xception };
export { Normalization, Rescaling } from './layers.js';

/** A model family as the CLI and the workflows find it by id. */
export interface ApplicationEntry {
  spec: ApplicationSpec;
  build(args: ApplicationArgs & Record<string, unknown>): Promise<tfl.LayersModel>;
}

const ENTRIES: ApplicationEntry[] = [
  { spec: VGG16, build: vgg16 },
  { spec: VGG19, build: vgg19 },
  { spec: RESNET50, build: resnet50 },
  { spec: RESNET50V2, build: resnet50v2 },
  { spec: INCEPTION_V3, build: inceptionV3 },
  { spec: XCEPTION, build: xception },
  { spec: MOBILENET, build: mobilenet },
  { spec: MOBILENET_V2, build: mobilenetV2 },
  { spec: EFFICIENTNET_B0, build: efficientnetB0 },
];

/** Every model id transferkit can build. */
export function applicationIds(): string[] {
  return ENTRIES.map((e) => e.spec.id);
}

/** The family with this id; an unknown id is an error that lists the known ones. */
export function getApplication(id: string): ApplicationEntry {
  const entry = ENTRIES.find((e) => e.spec.id === id.toLowerCase());
  if (!entry) throw new TransferkitError(`unknown model '${id}': choose one of ${applicationIds().join(', ')}`);
  return entry;
}

/** The preprocessing a model built by `applications.*` needs (the data pipeline reads it from here). */
export function preprocessingOf(model: tfl.LayersModel): PreprocessMode {
  const info = applicationInfo(model);
  if (!info) throw new TransferkitError(`model ${model.name} was not built by transferkit's applications: say its preprocessing (caffe, tf, torch, none)`);
  return info.spec.preprocessing;
}
