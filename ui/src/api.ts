export async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(path, init);
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error((body as { error?: string }).error ?? `${res.status} ${res.statusText}`);
  return body as T;
}

/** A file under the UI's root, by path (so relative references, like weights.bin beside model.json, resolve). */
export const fileUrl = (rel: string) => `/api/files/${rel.split('/').map(encodeURIComponent).join('/')}`;

export interface Dataset {
  path: string;
  classes: Array<{ name: string; count: number; samples?: string[] }>;
}
export interface ModelInfo {
  id: string;
  name: string;
  minSize: number;
  defaultSize: number;
}
export interface Block {
  block: string;
  firstLayer: string;
  paramsFromHere: number;
}
export interface EpochEvent {
  type: 'epoch';
  phase: number;
  epoch: number;
  epochs: number;
  loss: number;
  accuracy: number | null;
  valLoss: number | null;
  valAccuracy: number | null;
  /** Set in a comparison: the strategy this epoch belongs to. */
  strategy?: string;
}
export type JobEvent =
  | EpochEvent
  | { type: 'notice'; message: string }
  | { type: 'features'; phase: number; done: number; total: number }
  | { type: 'batch'; phase: number; epoch: number; epochs: number; batch: number; batches: number; loss: number }
  | { type: 'status'; status: string; message?: string }
  | { type: 'result'; result: TrainResult | CompareResult };
export interface TrainResult {
  kind: 'train';
  out: string;
  name: string;
  classNames: string[];
  val: { loss: number | null; accuracy: number | null };
  evaluation: { accuracy: number; confusionMatrix: number[][]; perClass: Array<{ className: string; precision: number; recall: number; f1: number; support: number }> } | null;
}
export interface CompareRow {
  strategy: string;
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
  wallS: number;
  secondsPerEpoch: number;
  bestValAccuracy: number | null;
}
export interface CompareResult {
  kind: 'compare';
  rows: CompareRow[];
}
export interface SavedModel {
  path: string;
  metadata: { base: { id: string }; classNames?: string[]; inputShape: number[]; preprocessing: string; strategy?: string; val?: { accuracy: number | null } };
}
