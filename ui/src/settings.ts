// The Train tab's form: its fields as typed, their defaults, how they survive a reload and the job they ask for.

export interface Settings {
  base: string;
  alpha: string;
  weights: string;
  inputSize: string;
  strategy: string;
  unfreezeFrom: string;
  head: string;
  epochs: string;
  learningRate: string;
  augment: boolean;
}

export const DEFAULTS: Settings = {
  base: 'mobilenet',
  alpha: '0.25',
  weights: 'imagenet',
  inputSize: '96',
  strategy: 'feature-extraction',
  unfreezeFrom: '',
  head: '',
  epochs: 'auto',
  // Empty: the library's defaults per phase (DEFAULT_RATES in src/train/phase-plan.ts).
  learningRate: '',
  augment: false,
};

/** The form survives a reload: saved here on every change, read back when no job is running. */
const FORM_KEY = 'transferkit-form';
export interface SavedForm {
  settings: Settings;
  dataset: string;
}

export function savedForm(): SavedForm | null {
  try {
    return JSON.parse(localStorage.getItem(FORM_KEY) ?? 'null') as SavedForm | null;
  } catch {
    return null;
  }
}

export function saveForm(form: SavedForm): void {
  localStorage.setItem(FORM_KEY, JSON.stringify(form));
}

/** A running job's parameters (as the page sent them) back into the form's fields. */
export function settingsFromJob(p: Record<string, unknown>): Settings {
  const text = (v: unknown, fallback: string) => (v === undefined || v === null ? fallback : String(v));
  return {
    base: text(p.base, DEFAULTS.base),
    alpha: text(p.alpha, DEFAULTS.alpha),
    weights: p.weights === null ? 'none' : 'imagenet',
    inputSize: text(p.inputSize, DEFAULTS.inputSize),
    strategy: text(p.strategy, DEFAULTS.strategy),
    unfreezeFrom: text(p.unfreezeFrom, ''),
    head: text(p.head, ''),
    epochs: text(p.epochs, DEFAULTS.epochs),
    learningRate: text(p.learningRate, DEFAULTS.learningRate),
    augment: Boolean(p.augment),
  };
}

/** The body of POST /api/jobs: the form's text turned into the job's parameters (empty fields left out). */
export function jobRequest(kind: 'train' | 'compare', data: string, s: Settings) {
  return {
    kind,
    data,
    base: s.base,
    ...(s.base.startsWith('mobilenet') ? { alpha: Number(s.alpha) } : {}),
    weights: s.weights === 'none' ? null : 'imagenet',
    inputSize: Number(s.inputSize),
    strategy: s.strategy,
    ...(s.unfreezeFrom ? { unfreezeFrom: s.unfreezeFrom } : {}),
    ...(s.head ? { head: s.head } : {}),
    epochs: s.epochs.trim() === 'auto' ? 'auto' : Number(s.epochs),
    ...(s.learningRate.trim() ? { learningRate: s.learningRate.trim() === 'auto' ? 'auto' : Number(s.learningRate) } : {}),
    ...(s.augment ? { augment: { flip: 'horizontal', rotation: 0.1, zoom: 0.1 } } : {}),
  };
}
