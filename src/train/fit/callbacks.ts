// Callbacks of the epoch loop, as Keras and fastai have them: objects whose hooks the loop calls when a phase
// opens, after each epoch (where they may end the phase or change the rate) and when it closes (where they may put
// other weights back). Early stopping, ReduceLROnPlateau, restore-best and the epoch checkpoint are callbacks like
// any a library user passes in `callbacks`; `phaseCallbacks` (epoch-loop.ts) picks the defaults from the options.
import type { EpochLog, Strategy } from '../shapes.js';

/** The phase a hook is called in. */
export interface PhaseInfo {
  /** 0-based, as in `TrainEvent`. */
  index: number;
  strategy: Strategy;
  trainedFrom: string;
  /** Planned as 'auto' (until the validation loss stops improving, at most `epochs`) rather than a number. */
  auto: boolean;
  /** The most epochs the phase runs. */
  epochs: number;
  /** The phase's rate, before the schedule shapes it and callbacks scale it. */
  lr: number;
}

/** What every hook reaches: the phase, the trained weights, and the run's notices. */
export interface HookContext {
  phase: PhaseInfo;
  /** A copy of the trained weights as they are now (taken once however many callbacks ask). */
  weights(): Float32Array[];
  /** Puts back weights from `weights()`. */
  restore(weights: Float32Array[]): void;
  /** A line for the user (a `notice` event). */
  notice(message: string): void;
}

export interface EpochEnd extends HookContext {
  epoch: number;
  log: EpochLog;
  /** What the schedule's rate is multiplied by now: 1 until a callback lowers it. */
  lrScale: number;
}

/** What an `onEpochEnd` hook may decide: stop the phase, or scale the learning rate from the next step. */
export interface EpochDecision {
  /** End the phase after this epoch, as early stopping does (a later phase still runs; `signal` ends the run). */
  stop?: boolean;
  /** From the next step on, the schedule's rate is multiplied by this (instead of `lrScale`). */
  lrScale?: number;
}

export interface PhaseEnd extends HookContext {
  /** The last epoch that ran to its end (0: none). */
  lastEpoch: number;
  /** Set when the phase was cut short (interrupted, or a loss that is not a number): why. */
  interrupted?: string;
}

/** Hooks are optional and may be async. An `onPhaseEnd` that puts other weights back returns their epoch. */
export interface TrainCallback {
  /** Before a phase's first epoch. */
  onPhaseBegin?(ctx: HookContext): Promise<void> | void;
  /** After each epoch's validation: may stop the phase or change the rate. */
  // biome-ignore lint/suspicious/noConfusingVoidType: a hook with nothing to decide returns nothing, sync or async.
  onEpochEnd?(ctx: EpochEnd): Promise<EpochDecision | void> | EpochDecision | void;
  /** After a phase's last epoch (or its interruption): may put other weights back. */
  // biome-ignore lint/suspicious/noConfusingVoidType: as onEpochEnd.
  onPhaseEnd?(ctx: PhaseEnd): Promise<{ keptEpoch: number } | void> | { keptEpoch: number } | void;
}

/**
 * What the stopping callbacks watch (Keras's `monitor`): the validation loss by default; a convex head under auto
 * watches its regularised training objective instead (epoch-loop.ts). A value must fall by more than `tol` of the
 * best so far to count as lower; null (no validation split) counts for nothing.
 */
export interface Monitor {
  name: string;
  value(ctx: EpochEnd): number | null;
  tol?: number;
}

export const VALIDATION_LOSS: Monitor = { name: 'validation loss', value: (ctx) => ctx.log.valLoss };

/** Tracks the lowest monitored value and the epochs since it fell. */
function plateau(monitor: Monitor) {
  const s = { best: Number.POSITIVE_INFINITY, since: 0 };
  const tol = monitor.tol ?? 0;
  return {
    state: s,
    reset() {
      s.best = Number.POSITIVE_INFINITY;
      s.since = 0;
    },
    /** true: a new lowest value; false: one more flat epoch; undefined: nothing to watch. */
    improved(ctx: EpochEnd): boolean | undefined {
      const v = monitor.value(ctx);
      if (v === null) return undefined;
      if (v < s.best && (s.best === Number.POSITIVE_INFINITY || v < s.best - tol * Math.abs(s.best))) {
        s.best = v;
        s.since = 0;
        return true;
      }
      s.since++;
      return false;
    },
  };
}

/**
 * Keras's EarlyStopping on the validation loss: ends the phase after `patience` epochs without a lower one. Under
 * auto, also says when the phase reached its cap with the loss still falling.
 */
export function earlyStopping(o: { patience: number; monitor?: Monitor }): TrainCallback {
  const m = o.monitor ?? VALIDATION_LOSS;
  const p = plateau(m);
  let fired = false;
  return {
    onPhaseBegin() {
      p.reset();
      fired = false;
    },
    onEpochEnd(ctx) {
      if (p.improved(ctx) !== false || p.state.since < o.patience) return;
      fired = true;
      ctx.notice(`${ctx.phase.auto ? 'epochs auto: stopped' : 'early stopping'} after epoch ${ctx.epoch}: no lower ${m.name} for ${p.state.since} epoch(s)`);
      return { stop: true };
    },
    onPhaseEnd(ctx) {
      if (ctx.phase.auto && !ctx.interrupted && !fired && ctx.lastEpoch === ctx.phase.epochs)
        ctx.notice(`epochs auto: reached the cap of ${ctx.phase.epochs} epochs with the ${m.name} still falling (--max-epochs to allow more)`);
    },
  };
}

/** Keras's ReduceLROnPlateau: multiplies the rate by `factor` (default 0.1) after `patience` flat epochs. */
export function reduceLrOnPlateau(o: { patience: number; factor?: number; monitor?: Monitor }): TrainCallback {
  // Divided by the inverse (1 / 0.1 is exactly 10), so the default gives the rates a tenfold division gives.
  const divisor = 1 / (o.factor ?? 0.1);
  const m = o.monitor ?? VALIDATION_LOSS;
  const p = plateau(m);
  let wait = 0;
  return {
    onPhaseBegin() {
      p.reset();
      wait = 0;
    },
    onEpochEnd(ctx) {
      const improved = p.improved(ctx);
      if (improved !== false) {
        if (improved) wait = 0;
        return;
      }
      if (++wait < o.patience) return;
      wait = 0;
      const lrScale = ctx.lrScale / divisor;
      ctx.notice(`${m.name} flat for ${o.patience} epoch(s): learning rate now ${Number((ctx.phase.lr * lrScale).toPrecision(6))}`);
      return { lrScale };
    },
  };
}

/** Keras's restore_best_weights: a phase that ran to its end finishes with the weights of its lowest monitored value. */
export function restoreBestWeights(monitor: Monitor = VALIDATION_LOSS): TrainCallback {
  const p = plateau(monitor);
  let best: { epoch: number; weights: Float32Array[] } | undefined;
  return {
    onPhaseBegin() {
      p.reset();
      best = undefined;
    },
    onEpochEnd(ctx) {
      if (p.improved(ctx)) best = { epoch: ctx.epoch, weights: ctx.weights() };
    },
    onPhaseEnd(ctx) {
      if (ctx.interrupted || !best) return;
      ctx.restore(best.weights);
      ctx.notice(`restored the weights of epoch ${best.epoch} (${monitor.name} ${p.state.best.toFixed(4)})`);
      return { keptEpoch: best.epoch };
    },
  };
}

/**
 * Keeps the weights of the last complete epoch (in memory): a phase cut short, by `signal` or by a loss that is
 * not a number, ends with them rather than with a half-stepped or diverged model.
 */
export function epochCheckpoint(): TrainCallback {
  let kept = { epoch: 0, weights: [] as Float32Array[] };
  return {
    onPhaseBegin(ctx) {
      kept = { epoch: 0, weights: ctx.weights() };
    },
    onEpochEnd(ctx) {
      kept = { epoch: ctx.epoch, weights: ctx.weights() };
    },
    onPhaseEnd(ctx) {
      if (!ctx.interrupted) return;
      ctx.restore(kept.weights);
      return { keptEpoch: kept.epoch };
    },
  };
}

/** The hooks of a phase's callbacks, called in order (Keras's CallbackList). */
export class CallbackList {
  constructor(
    private readonly callbacks: TrainCallback[],
    private readonly trainer: { snapshot(): Float32Array[]; restore(weights: Float32Array[]): void },
    private readonly phase: PhaseInfo,
    private readonly notice: (message: string) => void,
  ) {}

  private context(): HookContext {
    let taken: Float32Array[] | undefined;
    return {
      phase: this.phase,
      weights: () => (taken ??= this.trainer.snapshot()),
      restore: (weights) => {
        this.trainer.restore(weights);
        taken = undefined;
      },
      notice: this.notice,
    };
  }

  async begin(): Promise<void> {
    const ctx = this.context();
    for (const c of this.callbacks) await c.onPhaseBegin?.(ctx);
  }

  /** Each callback sees the rate scale the ones before it set; any may end the phase. */
  async epochEnd(epoch: number, log: EpochLog, lrScale: number): Promise<{ stop: boolean; lrScale: number }> {
    const ctx: EpochEnd = { ...this.context(), epoch, log, lrScale };
    let stop = false;
    for (const c of this.callbacks) {
      const d = await c.onEpochEnd?.(ctx);
      if (d?.lrScale !== undefined) ctx.lrScale = d.lrScale;
      if (d?.stop) stop = true;
    }
    return { stop, lrScale: ctx.lrScale };
  }

  /** The epoch whose weights the phase ends with, when a callback put some back (the last one to do so). */
  async end(lastEpoch: number, interrupted: string | undefined): Promise<number | undefined> {
    const ctx: PhaseEnd = { ...this.context(), lastEpoch, ...(interrupted ? { interrupted } : {}) };
    let kept: number | undefined;
    for (const c of this.callbacks) {
      const r = await c.onPhaseEnd?.(ctx);
      if (r) kept = r.keptEpoch;
    }
    return kept;
  }
}
