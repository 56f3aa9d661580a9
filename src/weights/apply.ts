import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferkitError } from '../errors.js';
import { ensureCached } from './cache.js';
import { type KerasLayout, loadWeights } from './load.js';
import type { WeightsEntry } from './remote.js';

/** The published file for a family's variant: top or not, and the variant options (alpha, size, …). */
export function selectWeights(entries: WeightsEntry[], includeTop: boolean, variant: Record<string, number> = {}): WeightsEntry | undefined {
  return entries.find((e) => e.includeTop === includeTop && Object.entries(variant).every(([k, v]) => e.variant?.[k] === v));
}

/**
 * Loads what `args.weights` names into a freshly built model: 'imagenet' takes Keras's published file for this
 * variant from the cache (downloading it once), a path loads that file. Loading is strict.
 */
export async function loadApplicationWeights(
  model: tfl.LayersModel,
  name: string,
  entries: WeightsEntry[],
  args: { weights: string | null; includeTop: boolean },
  variant?: Record<string, number>,
  kerasLayout?: KerasLayout,
): Promise<void> {
  if (args.weights === null) return;
  if (args.weights !== 'imagenet') {
    await loadWeights(model, args.weights, { kerasLayout });
    return;
  }
  const entry = selectWeights(entries, args.includeTop, variant);
  if (!entry) {
    const what = Object.entries(variant ?? {})
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    throw new TransferkitError(
      `Keras publishes no ImageNet weights for ${name}${what ? ` with ${what}` : ''}${args.includeTop ? ' with top' : ' without top'}`,
    );
  }
  await loadWeights(model, await ensureCached(entry));
}
