import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import {
  type Block,
  type CompareResult,
  type Dataset,
  type EpochEvent,
  type ExplainAnswer,
  type JobEvent,
  type ModelInfo,
  type SavedModel,
  type TrainResult,
  api,
  fileUrl,
} from './api.js';
import { curves, paramsChart, seriesOf } from './charts.js';
import { DataTab } from './data-tab.js';
import { classify } from './tryit.js';

interface Settings {
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

/** The form survives a reload: saved here on every change, read back when no job is running. */
const FORM_KEY = 'transferkit-form';
interface SavedForm {
  settings: Settings;
  dataset: string;
}
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

function savedForm(): SavedForm | null {
  try {
    return JSON.parse(localStorage.getItem(FORM_KEY) ?? 'null') as SavedForm | null;
  } catch {
    return null;
  }
}

/** A running job's parameters (as the page sent them) back into the form's fields. */
function settingsFromJob(p: Record<string, unknown>): Settings {
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

const DEFAULTS: Settings = {
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

function DataPanel({ dataset, onPick }: { dataset: Dataset | null; onPick(path: string): void }) {
  const [list, setList] = useState<Dataset[]>([]);
  const [error, setError] = useState('');
  const refresh = () => api<Dataset[]>('/api/datasets').then(setList, (e: Error) => setError(e.message));
  useEffect(() => void refresh(), []);
  const upload = async (file: File) => {
    setError('');
    try {
      // The server takes a plain slug for the folder's name.
      const name =
        file.name
          .replace(/\.zip$/i, '')
          .replace(/[^A-Za-z0-9_-]+/g, '_')
          .replace(/^_+/, '')
          .slice(0, 64) || 'upload';
      const send = (replace: boolean) =>
        api<{ path: string }>(`/api/upload?name=${name}${replace ? '&replace=1' : ''}`, {
          method: 'POST',
          headers: { 'content-type': 'application/zip' },
          body: file,
        });
      const r = await send(false).catch((e: Error) => {
        if (/exists/.test(e.message) && confirm(`uploads/${name} exists. Replace it?`)) return send(true);
        throw e;
      });
      await refresh();
      onPick(r.path);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <section>
      <h2>Data</h2>
      <label htmlFor="dataset">Dataset folder (class sub-folders)</label>
      <select id="dataset" data-testid="dataset" value={dataset?.path ?? ''} onChange={(e) => onPick((e.target as HTMLSelectElement).value)}>
        <option value="">choose…</option>
        {/* `selected` as well as the select's value: a dataset restored after a reload may be picked before the
            list arrives, and a select does not take a value whose option is not there yet. */}
        {list.map((d) => (
          <option value={d.path} selected={d.path === dataset?.path}>
            {d.path} ({d.classes.length} classes)
          </option>
        ))}
      </select>
      <label htmlFor="upload">…or upload a zip of class folders</label>
      <input
        id="upload"
        data-testid="upload"
        type="file"
        accept=".zip"
        onChange={(e) => (e.target as HTMLInputElement).files?.[0] && void upload((e.target as HTMLInputElement).files![0])}
      />
      {error && <p class="error">{error}</p>}
      {dataset && (
        <table data-testid="classes">
          {dataset.classes.map((c) => (
            <tr>
              <td>{c.name}</td>
              <td>{c.count}</td>
              <td class="thumbs">
                {(c.samples ?? []).map((s) => (
                  <img src={`/api/thumb?path=${encodeURIComponent(s)}`} alt={c.name} />
                ))}
              </td>
            </tr>
          ))}
        </table>
      )}
    </section>
  );
}

function ModelPanel({
  s,
  set,
  models,
  blocks,
}: {
  s: Settings;
  set(s: Settings): void;
  models: ModelInfo[];
  blocks: { params: number; blocks: Block[] } | null;
}) {
  const field = (name: keyof Settings) => (e: Event) =>
    set({ ...s, [name]: (e.target as HTMLInputElement).type === 'checkbox' ? (e.target as HTMLInputElement).checked : (e.target as HTMLInputElement).value });
  const info = models.find((m) => m.id === s.base);
  return (
    <section>
      <h2>Model</h2>
      <label htmlFor="base">Base</label>
      <select id="base" data-testid="base" value={s.base} onChange={field('base')}>
        {models.map((m) => (
          <option value={m.id}>
            {m.name} (min {m.minSize}px)
          </option>
        ))}
      </select>
      {blocks && (
        <p style="font-size:12px">
          {blocks.params.toLocaleString()} parameters without top{info ? `; trained at ${info.defaultSize}px` : ''}
        </p>
      )}
      {s.base.startsWith('mobilenet') && (
        <>
          <label htmlFor="alpha">Alpha (width)</label>
          <input id="alpha" data-testid="alpha" value={s.alpha} onInput={field('alpha')} />
        </>
      )}
      <label htmlFor="weights">Weights</label>
      <select id="weights" data-testid="weights" value={s.weights} onChange={field('weights')}>
        <option value="imagenet">imagenet (cached or downloaded)</option>
        <option value="none">none (random)</option>
      </select>
      <label htmlFor="input-size">Input size</label>
      <input id="input-size" data-testid="input-size" value={s.inputSize} onInput={field('inputSize')} />
      <label htmlFor="strategy">Strategy</label>
      <select id="strategy" data-testid="strategy" value={s.strategy} onChange={field('strategy')}>
        <option value="feature-extraction">feature extraction</option>
        <option value="fine-tune">fine-tune</option>
        <option value="full">full</option>
      </select>
      <label htmlFor="cut">Cut layer (fine-tune from)</label>
      <select id="cut" data-testid="cut" value={s.unfreezeFrom} onChange={field('unfreezeFrom')}>
        <option value="">—</option>
        {(blocks?.blocks ?? []).map((b) => (
          <option value={b.firstLayer}>
            {b.block}: {b.firstLayer} ({b.paramsFromHere.toLocaleString()} params from here)
          </option>
        ))}
      </select>
      <label htmlFor="head">Head</label>
      <input id="head" data-testid="head" placeholder="gap, dropout:0.5, dense:N:softmax" value={s.head} onInput={field('head')} />
      <label htmlFor="epochs">Epochs</label>
      <input id="epochs" data-testid="epochs" value={s.epochs} onInput={field('epochs')} />
      <label htmlFor="lr">Learning rate</label>
      <input id="lr" data-testid="lr" placeholder="default: per phase (0.001–0.01 for a head)" value={s.learningRate} onInput={field('learningRate')} />
      <label>
        <input type="checkbox" style="width:auto" checked={s.augment} onChange={field('augment')} /> augment (flip, rotation, zoom)
      </label>
    </section>
  );
}

function Training({ events }: { events: JobEvent[] }) {
  const lossRef = useRef<HTMLCanvasElement>(null);
  const accRef = useRef<HTMLCanvasElement>(null);
  const charts = useRef<{ loss?: ReturnType<typeof curves>; acc?: ReturnType<typeof curves> }>({});
  useEffect(() => {
    charts.current.loss = curves(lossRef.current as HTMLCanvasElement, 'loss');
    charts.current.acc = curves(accRef.current as HTMLCanvasElement, 'accuracy');
    return () => {
      charts.current.loss?.destroy();
      charts.current.acc?.destroy();
    };
  }, []);
  const epochs = events.filter((e): e is EpochEvent => e.type === 'epoch');
  useEffect(() => {
    charts.current.loss?.set(seriesOf(epochs, (e) => [e.loss, e.valLoss]));
    charts.current.acc?.set(seriesOf(epochs, (e) => [e.accuracy, e.valAccuracy]));
  }, [epochs.length]);
  const last = [...events].reverse().find((e) => e.type === 'batch' || e.type === 'features');
  const status = [...events].reverse().find((e) => e.type === 'status');
  const notices = events.filter((e): e is { type: 'notice'; message: string } => e.type === 'notice');
  return (
    <section>
      <h2>Training</h2>
      <p data-testid="progress">
        {status?.type === 'status'
          ? `${status.status}${status.message ? `: ${status.message}` : ''}`
          : last?.type === 'batch'
            ? `epoch ${last.epoch}/${last.epochs}, batch ${last.batch}/${last.batches}, loss ${last.loss.toFixed(4)}`
            : last?.type === 'features'
              ? `caching the frozen part: ${last.done}/${last.total}`
              : events.length
                ? 'starting…'
                : 'idle'}
      </p>
      {notices.map((n) => (
        <p style="font-size:12px;color:#555">{n.message}</p>
      ))}
      <div class="charts" data-testid="curves" data-epochs={epochs.length}>
        <div class="chart-box">
          <canvas ref={lossRef} />
        </div>
        <div class="chart-box">
          <canvas ref={accRef} />
        </div>
      </div>
    </section>
  );
}

function Results({ result }: { result: TrainResult | CompareResult }) {
  const chartRef = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (result.kind !== 'compare' || !chartRef.current) return;
    const chart = paramsChart(chartRef.current, result.rows);
    return () => chart.destroy();
  }, [result]);
  if (result.kind === 'compare') {
    return (
      <section data-testid="results">
        <h2>Strategies compared</h2>
        <table>
          <tr>
            <th>Strategy</th>
            <th>Trainable</th>
            <th>Non-trainable</th>
            <th>Wall (s)</th>
            <th>s/epoch</th>
            <th>Best val acc</th>
          </tr>
          {result.rows.map((r) => (
            <tr>
              <td>{r.strategy}</td>
              <td>{r.trainableParams.toLocaleString()}</td>
              <td>{r.nonTrainableParams.toLocaleString()}</td>
              <td>{r.wallS.toFixed(1)}</td>
              <td>{r.secondsPerEpoch === null ? '—' : r.secondsPerEpoch.toFixed(2)}</td>
              <td>{r.bestValAccuracy === null ? '—' : `${(r.bestValAccuracy * 100).toFixed(1)}%`}</td>
            </tr>
          ))}
        </table>
        <div class="chart-box">
          <canvas ref={chartRef} />
        </div>
      </section>
    );
  }
  const e = result.evaluation;
  return (
    <section data-testid="results">
      <h2>Results: {result.name}</h2>
      <p>validation accuracy {result.val.accuracy === null ? '—' : `${(result.val.accuracy * 100).toFixed(1)}%`}</p>
      {e && (
        <>
          <p data-testid="metrics">
            balanced accuracy {pct(e.balancedAccuracy)}, macro F1 {e.macro.f1.toFixed(3)}
            {e.binary &&
              ` · ROC AUC ${e.binary.rocAuc.toFixed(3)}, PR AUC ${e.binary.prAuc.toFixed(3)}, at threshold ${e.binary.threshold.toFixed(2)}: sensitivity ${pct(e.binary.sensitivity)}, specificity ${pct(e.binary.specificity)}`}
          </p>
          <table data-testid="confusion">
            <tr>
              <th>true \ predicted</th>
              {result.classNames.map((c) => (
                <th>{c}</th>
              ))}
            </tr>
            {e.confusionMatrix.map((row, i) => (
              <tr>
                <td>{result.classNames[i]}</td>
                {row.map((n, j) => (
                  <td style={`background:${i === j ? '#d8e6f3' : n ? '#fbe2c6' : 'white'}`}>{n}</td>
                ))}
              </tr>
            ))}
          </table>
          <table>
            <tr>
              <th>Class</th>
              <th>Precision</th>
              <th>Recall</th>
              <th>F1</th>
              <th>Support</th>
            </tr>
            {e.perClass.map((c) => (
              <tr>
                <td>{c.className}</td>
                <td>{c.precision.toFixed(3)}</td>
                <td>{c.recall.toFixed(3)}</td>
                <td>{c.f1.toFixed(3)}</td>
                <td>{c.support}</td>
              </tr>
            ))}
          </table>
        </>
      )}
    </section>
  );
}

function Saved({ models, refreshKey }: { models: SavedModel[]; refreshKey: number }) {
  const [chosen, setChosen] = useState('');
  const [answer, setAnswer] = useState('');
  const [picture, setPicture] = useState('');
  const [cam, setCam] = useState<ExplainAnswer | null>(null);
  const [camNote, setCamNote] = useState('');
  const tries = useRef(0);
  useEffect(() => setChosen((c) => c || models.at(-1)?.path || ''), [models.length, refreshKey]);
  const model = models.find((m) => m.path === chosen);
  // The browser classifies what it can show (photos) with tfjs; the server reads every format the CLI does (DICOM
  // with the model's window, GeoTIFF bands), answers too, and draws the Grad-CAM of the class it decided.
  const tryFile = (file: File) => {
    if (!model) return;
    const n = ++tries.current;
    const current = () => n === tries.current;
    setCam(null);
    setCamNote('explaining on the server…');
    setAnswer('classifying in the browser…');
    if (picture) URL.revokeObjectURL(picture);
    const url = URL.createObjectURL(file);
    setPicture(url);
    const img = new Image();
    img.onload = async () => {
      try {
        const r = await classify(model, img);
        if (current()) setAnswer(`${r.predictions.map((p) => `${p.label} ${pct(p.probability)}`).join(', ')} (tfjs ${r.backend})`);
      } catch (e) {
        if (current()) setAnswer(`error: ${(e as Error).message}`);
      }
    };
    img.onerror = () => {
      if (!current()) return;
      setPicture('');
      setAnswer('the browser cannot show this file (DICOM, GeoTIFF…): the answer is the server’s, beside the heatmap');
    };
    img.src = url;
    api<ExplainAnswer>(`/api/explain?model=${encodeURIComponent(model.path)}&name=${encodeURIComponent(file.name)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: file,
    }).then(
      (r) => {
        if (!current()) return;
        setCam(r);
        setCamNote('');
      },
      (e: Error) => current() && setCamNote(`no heatmap: ${e.message}`),
    );
  };
  return (
    <section>
      <h2>Saved models</h2>
      <table data-testid="saved">
        <tr>
          <th>Model</th>
          <th>Base</th>
          <th>Classes</th>
          <th>Val acc</th>
          <th>Download</th>
        </tr>
        {models.map((m) => (
          <tr>
            <td>
              <label style="margin:0">
                <input type="radio" style="width:auto" name="m" checked={m.path === chosen} onChange={() => setChosen(m.path)} /> {m.path}
              </label>
            </td>
            <td>{m.metadata.base.id}</td>
            <td>{(m.metadata.classNames ?? []).join(', ')}</td>
            <td>{m.metadata.val?.accuracy == null ? '—' : `${(m.metadata.val.accuracy * 100).toFixed(1)}%`}</td>
            <td>
              <a href={fileUrl(`${m.path}/model.json`)}>model.json</a> · <a href={fileUrl(`${m.path}/weights.bin`)}>weights.bin</a> ·{' '}
              <a href={fileUrl(`${m.path}/transferkit.json`)}>transferkit.json</a> · <a href={`/api/export?model=${encodeURIComponent(m.path)}`}>ONNX</a>
            </td>
          </tr>
        ))}
      </table>
      <h2>Try it</h2>
      <section
        class="drop"
        aria-label="Try it: drop an image"
        onDragOver={(e) => e.preventDefault()}
        onDrop={(e) => {
          e.preventDefault();
          const f = e.dataTransfer?.files[0];
          if (f) tryFile(f);
        }}
      >
        <label htmlFor="try-file" style="display:inline">
          drop an image here, or choose one:
        </label>{' '}
        <input
          id="try-file"
          data-testid="try-file"
          type="file"
          accept="image/*,.dcm,.dicom,.tif,.tiff"
          style="width:auto"
          onChange={(e) => (e.target as HTMLInputElement).files?.[0] && tryFile((e.target as HTMLInputElement).files![0])}
        />
        <div class="tryit">
          {picture && (
            <figure>
              <img src={picture} alt="what was tried" />
              <figcaption>the image</figcaption>
            </figure>
          )}
          {cam && (
            <figure data-testid="gradcam">
              <img data-testid="overlay" src={cam.overlay} width={cam.width} height={cam.height} alt={`Grad-CAM heatmap for ${cam.label}`} />
              <figcaption data-testid="gradcam-class">
                Grad-CAM for <b>{cam.label}</b> ({cam.layer})
                <br />
                server: {cam.predictions.map((p) => `${p.label} ${pct(p.probability)}`).join(', ')}
              </figcaption>
            </figure>
          )}
        </div>
        <p data-testid="answer">{answer}</p>
        {camNote && <p data-testid="gradcam-note">{camNote}</p>}
      </section>
    </section>
  );
}

function App() {
  const [dataset, setDataset] = useState<Dataset | null>(null);
  const [models, setModels] = useState<ModelInfo[]>([]);
  const [settings, setSettings] = useState<Settings>(DEFAULTS);
  const [blocks, setBlocks] = useState<{ params: number; blocks: Block[] } | null>(null);
  const [jobId, setJobId] = useState<string | null>(null);
  const [events, setEvents] = useState<JobEvent[]>([]);
  const [error, setError] = useState('');
  const [saved, setSaved] = useState<SavedModel[]>([]);
  const [savedKey, setSavedKey] = useState(0);
  const [restored, setRestored] = useState(false);
  const [tab, setTab] = useState<'train' | 'data'>('train');

  const refreshSaved = () => api<SavedModel[]>('/api/saved').then(setSaved);
  useEffect(() => {
    void api<ModelInfo[]>('/api/models').then(setModels);
    void refreshSaved();
    // The token came in the address (the server has set its cookie): keep it out of history and screenshots.
    if (new URLSearchParams(location.search).has('token')) history.replaceState(null, '', location.pathname);
    // A job that runs on the server (started before a reload) is re-attached, and the form shows its parameters;
    // otherwise the form comes back as it was left.
    void api<{ job: { id: string; status: string; params: Record<string, unknown> | null } | null }>('/api/info').then((i) => {
      const form =
        i.job?.status === 'running' && i.job.params ? { settings: settingsFromJob(i.job.params), dataset: String(i.job.params.data ?? '') } : savedForm();
      if (form) {
        setSettings({ ...DEFAULTS, ...form.settings });
        if (form.dataset) void pick(form.dataset);
      }
      setRestored(true);
      if (i.job) setJobId(i.job.id);
    });
  }, []);
  useEffect(() => {
    if (restored) localStorage.setItem(FORM_KEY, JSON.stringify({ settings, dataset: dataset?.path ?? '' } satisfies SavedForm));
  }, [settings, dataset, restored]);
  useEffect(() => {
    const size = Number(settings.inputSize) || 96;
    const alpha = settings.base.startsWith('mobilenet') ? `&alpha=${settings.alpha}` : '';
    api<{ params: number; blocks: Block[] }>(`/api/cutpoints?base=${settings.base}&size=${size}${alpha}`).then(setBlocks, () => setBlocks(null));
  }, [settings.base, settings.alpha, settings.inputSize]);
  useEffect(() => {
    if (!jobId) return;
    setEvents([]);
    const source = new EventSource(`/api/jobs/${jobId}/events`);
    source.onmessage = (m) => {
      const e = JSON.parse(m.data) as JobEvent;
      setEvents((list) => [...list, e]);
      if (e.type === 'status' && e.status !== 'running') {
        source.close();
        void refreshSaved().then(() => setSavedKey((k) => k + 1));
      }
    };
    return () => source.close();
  }, [jobId]);

  const pick = (path: string) =>
    path ? api<Dataset>(`/api/dataset?path=${encodeURIComponent(path)}`).then(setDataset, (e: Error) => setError(e.message)) : setDataset(null);
  const running = jobId !== null && !events.some((e) => e.type === 'status' && e.status !== 'running');
  const start = async (kind: 'train' | 'compare') => {
    setError('');
    if (!dataset) return setError('choose a dataset first');
    const s = settings;
    const body = {
      kind,
      data: dataset.path,
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
    try {
      const r = await api<{ id: string }>('/api/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      setJobId(r.id);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const result = events.find((e): e is { type: 'result'; result: TrainResult | CompareResult } => e.type === 'result');
  return (
    <>
      <header>transferkit</header>
      <div class="tabs" role="tablist">
        {(['train', 'data'] as const).map((t) => (
          <button type="button" role="tab" data-testid={`tab-${t}`} aria-selected={tab === t} onClick={() => setTab(t)}>
            {t === 'train' ? 'Train' : 'Data'}
          </button>
        ))}
      </div>
      {/* Both tabs stay mounted (a running job's charts, a scan's decisions); the other one is hidden. */}
      <div style={tab === 'data' ? undefined : 'display:none'}>
        <DataTab saved={saved} onModelsChanged={() => void refreshSaved()} />
      </div>
      <main style={tab === 'train' ? undefined : 'display:none'}>
        <div>
          <DataPanel dataset={dataset} onPick={(p) => void pick(p)} />
          <ModelPanel s={settings} set={setSettings} models={models} blocks={blocks} />
          <section>
            <button type="button" data-testid="start" disabled={running} onClick={() => void start('train')}>
              Train
            </button>
            <button type="button" data-testid="compare" disabled={running} onClick={() => void start('compare')}>
              Compare strategies
            </button>
            <button type="button" data-testid="cancel" disabled={!running} onClick={() => jobId && void api(`/api/jobs/${jobId}/cancel`, { method: 'POST' })}>
              Cancel
            </button>
            {error && (
              <p class="error" data-testid="error">
                {error}
              </p>
            )}
          </section>
        </div>
        <div>
          <Training events={events} />
          {result && <Results result={result.result} />}
          <Saved models={saved} refreshKey={savedKey} />
        </div>
      </main>
    </>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
