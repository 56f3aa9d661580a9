// Keras's class_weight for a split: Node's data plan and the page's training read it from here.
import { TransferkitError } from '../../errors.js';
import { balancedClassWeights } from '../evaluate/metrics.js';
import type { DataOptions, Task } from './options.js';

/** Keras's class_weight: 'balanced', 'none', or a weight per class name (classes not named weigh 1). */
export function classWeightsOf(
  spec: DataOptions['classWeight'],
  plan: { task: Task; classNames: string[]; train: Array<{ label: number }> },
): number[] | undefined {
  if (spec === undefined || spec === 'none') return undefined;
  if (plan.task === 'regression') throw new TransferkitError('class weights apply to classification, not regression');
  if (spec === 'balanced')
    return balancedClassWeights(
      plan.train.map((f) => f.label),
      plan.classNames.length,
    );
  const unknown = Object.keys(spec).filter((name) => !plan.classNames.includes(name));
  if (unknown.length) throw new TransferkitError(`class weights name unknown class(es) ${unknown.join(', ')}; the classes are ${plan.classNames.join(', ')}`);
  return plan.classNames.map((name) => {
    const w = spec[name] ?? 1;
    if (!(Number.isFinite(w) && w > 0)) throw new TransferkitError(`the weight of class '${name}' must be a positive number; got ${w}`);
    return w;
  });
}

/** The notice saying which weights the training loss uses. */
export const classWeightsNotice = (classNames: string[], weights: number[]): string =>
  `class weights in the training loss: ${classNames.map((c, i) => `${c} ${weights[i].toPrecision(3)}`).join(', ')}`;
