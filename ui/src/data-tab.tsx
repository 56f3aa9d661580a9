// The Data tab: pick a saved model and its data folder, scan them (progress polled from the server), review the
// three lists, and add a class to a k-NN or prototype model from a zip or a few image files, then try the grown
// model on an image.
import { zipSync } from 'fflate';
import { useEffect, useRef, useState } from 'preact/hooks';
import { type Dataset, type SavedModel, api, fileUrl } from './api.js';
import type { ReviewList, ScanProgress } from '../../src/ui/shapes.js';
import { DataLists, type Decision, type ScanResult } from './data-lists.js';
import { pct } from './format.js';

interface ScanState {
  id?: string;
  status: 'idle' | 'running' | 'done' | 'failed';
  progress?: ScanProgress;
  result?: ScanResult | null;
  error?: string | null;
}

function progressText(s: ScanState): string {
  if (s.status === 'failed') return `failed: ${s.error}`;
  if (s.status === 'done' && s.result) return `done: ${s.result.images} images in ${s.result.seconds.toFixed(1)} s`;
  const p = s.progress;
  if (s.status !== 'running' || !p) return '';
  return `step ${p.step}/${p.steps}: ${p.name}${p.total ? ` (${p.done}/${p.total})` : ''}`;
}

/** The images the user chose, as one zip: a zip as it is, image files packed under the class's name. */
async function zipOf(files: File[], name: string): Promise<Blob> {
  if (files.length === 1 && /\.zip$/i.test(files[0].name)) return files[0];
  const entries: Record<string, Uint8Array> = {};
  for (const f of files) entries[`${name}/${f.name}`] = new Uint8Array(await f.arrayBuffer());
  return new Blob([zipSync(entries, { level: 0 }) as BlobPart], { type: 'application/zip' });
}

function AddClass({ model, onAdded }: { model: string; onAdded(): void }) {
  const [name, setName] = useState('');
  const [state, setState] = useState('');
  const [grown, setGrown] = useState<{ model: string; classNames: string[] } | null>(null);
  const [answer, setAnswer] = useState('');
  const add = async (files: File[]) => {
    if (!name) return setState('name the class first');
    setState(`adding '${name}' from ${files.length} file(s)…`);
    try {
      const r = await api<{ model: string; classNames: string[]; added: { images: number }; seconds: number; notice: string | null }>(
        `/api/data/add-class?model=${encodeURIComponent(model)}&name=${encodeURIComponent(name)}`,
        { method: 'POST', headers: { 'content-type': 'application/zip' }, body: await zipOf(files, name) },
      );
      setGrown(r);
      setState(
        `${r.model}: ${r.classNames.length} classes (${r.classNames.join(', ')}), ${r.added.images} images added in ${r.seconds.toFixed(2)} s${r.notice ? ` — ${r.notice}` : ''}`,
      );
      onAdded();
    } catch (e) {
      setState(`error: ${(e as Error).message}`);
    }
  };
  const tryImage = async (file: File) => {
    if (!grown) return;
    setAnswer('classifying…');
    try {
      const r = await api<{ predictions: Array<{ label: string; probability: number }> }>(
        `/api/data/predict?model=${encodeURIComponent(grown.model)}&name=${encodeURIComponent(file.name)}`,
        { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: file },
      );
      setAnswer(r.predictions.map((p) => `${p.label} ${pct(p.probability)}`).join(', '));
    } catch (e) {
      setAnswer(`error: ${(e as Error).message}`);
    }
  };
  const chosen = (e: Event) => Array.from((e.target as HTMLInputElement).files ?? []);
  return (
    <section>
      <h2>Add a class</h2>
      <p class="note">A model trained with head knn or prototype learns a class from its images without retraining; the grown model is saved beside it.</p>
      <label htmlFor="class-name">Class name</label>
      <input id="class-name" data-testid="class-name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      <label htmlFor="class-files">Its images: a zip, or image files</label>
      <input id="class-files" data-testid="class-files" type="file" multiple accept=".zip,image/*" onChange={(e) => void add(chosen(e))} />
      <p data-testid="added">{state}</p>
      {grown && (
        <>
          <label htmlFor="class-try">Try an image on {grown.model}</label>
          <input id="class-try" data-testid="class-try" type="file" accept="image/*" onChange={(e) => chosen(e)[0] && void tryImage(chosen(e)[0])} />
          <p data-testid="class-answer">{answer}</p>
        </>
      )}
    </section>
  );
}

export function DataTab({ saved, onModelsChanged }: { saved: SavedModel[]; onModelsChanged(): void }) {
  const [datasets, setDatasets] = useState<Dataset[]>([]);
  const [model, setModel] = useState('');
  const [data, setData] = useState('');
  const [scan, setScan] = useState<ScanState>({ status: 'idle' });
  const [review, setReview] = useState<ReviewList | null>(null);
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => setModel((m) => m || saved.at(-1)?.path || ''), [saved.length]);
  // The model's own training folder when it lies under the root, else the first dataset.
  useEffect(() => {
    const dir = saved.find((m) => m.path === model)?.metadata.dataset?.dir ?? '';
    setData((d) => datasets.find((s) => dir.endsWith(`/${s.path}`))?.path ?? (d || datasets[0]?.path || ''));
  }, [model, datasets.length]);
  // The decisions recorded so far, for the scanned model: they show beside their images.
  const scanned = scan.result?.model;
  useEffect(() => {
    if (scanned) void api<ReviewList>(`/api/data/review?model=${encodeURIComponent(scanned)}`).then(setReview, () => setReview(null));
  }, [scanned]);
  const decided = Object.fromEntries((review?.rows ?? []).map((r) => [r.file, r]));
  const record = (d: Decision) => setReview((r) => ({ list: d.list, rows: [...(r?.rows ?? []).filter((x) => x.file !== d.row.file), d.row] }));
  const poll = async () => {
    const s = await api<ScanState>('/api/data/scan').catch((e: Error) => ({ status: 'failed' as const, error: e.message }));
    setScan(s);
    if (s.status === 'running') timer.current = window.setTimeout(() => void poll(), 500);
  };
  useEffect(() => {
    void api<Dataset[]>('/api/datasets').then(setDatasets, () => undefined);
    void poll();
    return () => clearTimeout(timer.current);
  }, []);
  const start = async () => {
    try {
      await api('/api/data/scan', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, data }) });
      void poll();
    } catch (e) {
      setScan({ status: 'failed', error: (e as Error).message });
    }
  };
  return (
    <div class="data-tab">
      <section>
        <h2>Scan a model and its data</h2>
        <label htmlFor="data-model">Saved model</label>
        <select id="data-model" data-testid="data-model" value={model} onChange={(e) => setModel((e.target as HTMLSelectElement).value)}>
          {saved.map((m) => (
            <option value={m.path} selected={m.path === model}>
              {m.path} ({(m.metadata.classNames ?? []).join(', ')})
            </option>
          ))}
        </select>
        <label htmlFor="data-folder">Data folder</label>
        <select id="data-folder" data-testid="data-folder" value={data} onChange={(e) => setData((e.target as HTMLSelectElement).value)}>
          {datasets.map((d) => (
            <option value={d.path} selected={d.path === data}>
              {d.path}
            </option>
          ))}
        </select>
        <button type="button" data-testid="scan" disabled={!model || !data || scan.status === 'running'} onClick={() => void start()}>
          Scan
        </button>
        <p data-testid="scan-progress">{progressText(scan)}</p>
        {review && review.rows.length > 0 && (
          <p data-testid="review-list">
            {review.rows.length} decision(s) in <a href={fileUrl(review.list)}>{review.list}</a>: train with <code>--exclude {review.list}</code> to leave out
            every row not accepted. No image is moved or deleted.
          </p>
        )}
      </section>
      {model && <AddClass model={model} onAdded={onModelsChanged} />}
      {scan.result && <DataLists scan={scan.result} decided={decided} onDecision={record} />}
    </div>
  );
}
