// The page: the Train tab (data, model, job, progress, results, saved models) and the Data tab, and what they share.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { type CompareResult, type Dataset, type ModelInfo, type SavedModel, type TrainResult, api } from './api.js';
import { DataPanel } from './data-panel.js';
import { DataTab } from './data-tab.js';
import { useCutpoints, useJobEvents } from './hooks.js';
import { JobButtons } from './job-buttons.js';
import { ModelPanel } from './model-panel.js';
import { Results } from './results.js';
import { Saved } from './saved.js';
import { DEFAULTS, type Settings, jobRequest, saveForm, savedForm, settingsFromJob } from './settings.js';
import { type Tab, TabBar } from './tabs.js';
import { Training } from './training.js';

interface Info {
  job: { id: string; status: string; params: Record<string, unknown> | null } | null;
}

function App() {
  const [dataset, setDataset] = useState<Dataset | null>(null);
  const [models, setModels] = useState<ModelInfo[]>([]);
  const [settings, setSettings] = useState<Settings>(DEFAULTS);
  const [jobId, setJobId] = useState<string | null>(null);
  const [error, setError] = useState('');
  const [saved, setSaved] = useState<SavedModel[]>([]);
  const [savedKey, setSavedKey] = useState(0);
  const [restored, setRestored] = useState(false);
  const [tab, setTab] = useState<Tab>('train');

  const refreshSaved = () => api<SavedModel[]>('/api/saved').then(setSaved);
  useEffect(() => {
    void api<ModelInfo[]>('/api/models').then(setModels);
    void refreshSaved();
    // The token came in the address (the server has set its cookie): keep it out of history and screenshots.
    if (new URLSearchParams(location.search).has('token')) history.replaceState(null, '', location.pathname);
    // A job that runs on the server (started before a reload) is re-attached, and the form shows its parameters;
    // otherwise the form comes back as it was left.
    void api<Info>('/api/info').then((i) => {
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
    if (restored) saveForm({ settings, dataset: dataset?.path ?? '' });
  }, [settings, dataset, restored]);
  const blocks = useCutpoints(settings);
  const events = useJobEvents(jobId, () => void refreshSaved().then(() => setSavedKey((k) => k + 1)));

  const pick = (path: string) =>
    path ? api<Dataset>(`/api/dataset?path=${encodeURIComponent(path)}`).then(setDataset, (e: Error) => setError(e.message)) : setDataset(null);
  const running = jobId !== null && !events.some((e) => e.type === 'status' && e.status !== 'running');
  const start = async (kind: 'train' | 'compare') => {
    setError('');
    if (!dataset) return setError('choose a dataset first');
    try {
      const body = JSON.stringify(jobRequest(kind, dataset.path, settings));
      const r = await api<{ id: string }>('/api/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      setJobId(r.id);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const cancel = () => jobId && void api(`/api/jobs/${jobId}/cancel`, { method: 'POST' });
  const result = events.find((e): e is { type: 'result'; result: TrainResult | CompareResult } => e.type === 'result');
  return (
    <>
      <header>transferkit</header>
      <TabBar tab={tab} onSelect={setTab} />
      {/* Both tabs stay mounted (a running job's charts, a scan's decisions); the other one is hidden. */}
      <div style={tab === 'data' ? undefined : 'display:none'}>
        <DataTab saved={saved} onModelsChanged={() => void refreshSaved()} />
      </div>
      <main style={tab === 'train' ? undefined : 'display:none'}>
        <div>
          <DataPanel dataset={dataset} onPick={(p) => void pick(p)} />
          <ModelPanel s={settings} set={setSettings} models={models} blocks={blocks} />
          <JobButtons running={running} error={error} onStart={(kind) => void start(kind)} onCancel={cancel} />
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
