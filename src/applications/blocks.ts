import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferkitError } from '../errors.js';
import { countParams } from '../model/introspect.js';
import { applicationInfo } from './common.js';

/** One block of a pretrained base: a fine-tune cut point. */
export interface BlockInfo {
  block: string;
  /** The cut point: `unfreezeFrom(model, firstLayer)` trains this block and everything after it. */
  firstLayer: string;
  layers: number;
  params: number;
  /** Parameters from this block to the end of the base: what fine-tuning from here trains (head aside). */
  paramsFromHere: number;
}

/** The blocks of a model built by `applications.*`, in order, with their cut points and sizes. */
export function modelBlocks(model: tfl.LayersModel): BlockInfo[] {
  const info = applicationInfo(model);
  if (!info) throw new TransferkitError(`model ${model.name} was not built by transferkit's applications, so its blocks are unknown`);
  const { spec } = info;
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const groups: Array<{ block: string; members: tfl.layers.Layer[] }> = [];
  let pending: tfl.layers.Layer[] = [];
  for (const layer of layers) {
    const id = spec.blockOf(layer.name);
    pending.push(layer);
    if (id === null) continue;
    const last = groups[groups.length - 1];
    // Counter-named layers join the next named block; a block named at its end closes there.
    if (!spec.blockNamedAtEnd && last?.block === id) last.members.push(...pending);
    else groups.push({ block: id, members: pending });
    pending = [];
  }
  if (pending.length) groups.push({ block: 'top', members: pending });
  const sizes = groups.map((g) => g.members.reduce((n, l) => n + countParams(l).total, 0));
  return groups.map((g, i) => ({
    block: g.block,
    // Where counter-named layers of an earlier block were ordered into this group, cut at its first named one.
    firstLayer: (spec.blockNamedAtEnd ? g.members[0] : (g.members.find((l) => spec.blockOf(l.name) === g.block) ?? g.members[0])).name,
    layers: g.members.length,
    params: sizes[i],
    paramsFromHere: sizes.slice(i).reduce((a, b) => a + b, 0),
  }));
}
