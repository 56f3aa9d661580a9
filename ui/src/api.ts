// Types of what the server sends come from the library's own Node-free shapes module.
import type { ClassificationReport, ExplainAnswer, StrategyResult, TrainEvent } from '../../src/train/shapes.js';

export type { ExplainAnswer };

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
/** A base's size and the blocks its fine-tuning may start at (GET /api/cutpoints). */
export interface Cutpoints {
  params: number;
  blocks: Block[];
}
export type EpochEvent = Extract<TrainEvent, { type: 'epoch' }>;
/** The library's own training events, and the server's job status and result. */
export type JobEvent = TrainEvent | { type: 'status'; status: string; message?: string } | { type: 'result'; result: TrainResult | CompareResult };
export interface TrainResult {
  kind: 'train';
  out: string;
  name: string;
  classNames: string[];
  val: { loss: number | null; accuracy: number | null };
  evaluation: ClassificationReport | null;
}
export interface CompareResult {
  kind: 'compare';
  rows: StrategyResult[];
}
export interface SavedModel {
  path: string;
  metadata: {
    base: { id: string };
    classNames?: string[];
    dataset?: { dir: string };
    inputShape: number[];
    preprocessing: string;
    strategy?: string;
    val?: { accuracy: number | null };
  };
}
