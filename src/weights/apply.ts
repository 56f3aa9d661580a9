import type * as tfl from '@tensorflow/tfjs-layers';
import type { ResolvedArgs } from '../applications/inputs.js';
import { TransferkitError } from '../errors.js';

/** Loads the weights named by `args.weights` ('imagenet' or a file path) into a freshly built application model. */
export async function loadApplicationWeights(model: tfl.LayersModel, id: string, args: ResolvedArgs): Promise<void> {
  throw new TransferkitError(
    `${id}: loading weights ${JSON.stringify(args.weights)} needs the .h5 weights loader, which this version lacks; use weights: null (--weights none) (model ${model.name})`,
  );
}
