// What a task asks of a classifier's end: its output layer and its loss (in Node and in a browser).
import type { Task, TrainOptions } from '../fit/options.js';

/** What the head must end in for the task. */
export function outputLayer(task: Task, classes: number): { units: number; activation: string } {
  return task === 'regression'
    ? { units: 1, activation: 'linear' }
    : task === 'binary'
      ? { units: 1, activation: 'sigmoid' }
      : { units: classes, activation: 'softmax' };
}

/** The loss a task trains with (regression: the one asked for, else mean squared error). */
export const lossOf = (task: Task, o: Pick<TrainOptions, 'regressionLoss'>) =>
  task === 'regression' ? (o.regressionLoss ?? 'mse') : task === 'binary' ? 'binary_crossentropy' : 'categorical_crossentropy';
