// The server owns training jobs, one at a time: a page that reloads re-attaches to the running job's events
// (replayed from the start, then live). The job trains through the library: the same events the CLI renders.
import path from 'node:path';
import { TransferkitError } from '../errors.js';
import { compareStrategies } from '../train/strategy/compare.js';
import { type TrainEvent, type TrainOptions, trainImageClassifier, trainedModelMetadata } from '../train/fit/fit.js';
import { evaluateFiles } from '../train/saved/predict.js';
import { saveModel } from '../train/saved/saved-model.js';
import { compareParams } from '../train/strategy/strategies.js';
import { listImageFolder } from '../data/folders.js';
import { splitFiles } from '../data/split.js';

export type JobEvent = TrainEvent | { type: 'status'; status: JobStatus; message?: string } | { type: 'result'; result: unknown };
export type JobStatus = 'running' | 'done' | 'failed' | 'cancelled';

export interface JobRequest extends Omit<TrainOptions, 'onEvent' | 'signal'> {
  kind: 'train' | 'compare';
  /** Dataset folder and output folder, both already resolved inside the root. */
  data: string;
  out: string;
}

export class Job {
  readonly events: JobEvent[] = [];
  status: JobStatus = 'running';
  private readonly listeners = new Set<(e: JobEvent) => void>();
  private readonly abort = new AbortController();

  constructor(
    readonly id: string,
    readonly request: JobRequest,
  ) {}

  emit(e: JobEvent): void {
    this.events.push(e);
    for (const l of this.listeners) l(e);
  }

  /** Past events first, then live ones; returns the unsubscribe. */
  attach(listener: (e: JobEvent) => void): () => void {
    for (const e of this.events) listener(e);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  cancel(): void {
    this.abort.abort();
  }

  async run(): Promise<void> {
    const r = this.request;
    const options: TrainOptions = { ...r, onEvent: (e) => this.emit(e), signal: this.abort.signal };
    try {
      if (r.kind === 'compare') {
        if (!r.unfreezeFrom) throw new TransferkitError('a comparison needs the layer fine-tuning starts from');
        this.emit({ type: 'result', result: { kind: 'compare', rows: await compareStrategies(r.data, { ...options, unfreezeFrom: r.unfreezeFrom }) } });
      } else {
        const t = await trainImageClassifier(r.data, options);
        const meta = trainedModelMetadata(t, { ...r, data: undefined, out: undefined, kind: undefined } as TrainOptions, r.data);
        await saveModel(t.model, r.out, meta);
        // The validation split, scored by the saved model's own path: confusion matrix and per-class metrics.
        const folder = await listImageFolder(r.data);
        const { validation } = splitFiles(folder.files, r.validationSplit ?? 0.2, r.seed ?? 1337);
        const evaluation = validation.length ? await evaluateFiles(t.model, meta, validation, t.classNames) : null;
        const params = r.unfreezeFrom ? compareParams(t.model, { unfreezeFrom: r.unfreezeFrom }) : null;
        this.emit({
          type: 'result',
          result: {
            kind: 'train',
            out: r.out,
            name: path.basename(r.out),
            classNames: t.classNames,
            val: t.val,
            timings: t.timings,
            skipped: t.skipped,
            evaluation,
            params,
            stopped: t.stopped ?? null,
          },
        });
        t.model.dispose();
      }
      this.status = this.abort.signal.aborted ? 'cancelled' : 'done';
      this.emit({ type: 'status', status: this.status });
    } catch (err) {
      this.status = 'failed';
      this.emit({ type: 'status', status: 'failed', message: (err as Error).message.split('\n')[0] });
    }
  }
}
