// The Train tab's Data panel: pick a dataset folder on the server or upload a zip of class folders, and see its classes.
import { useEffect, useState } from 'preact/hooks';
import { type Dataset, api } from './api.js';

/** The server takes a plain slug for the folder's name. */
const uploadName = (file: File) =>
  file.name
    .replace(/\.zip$/i, '')
    .replace(/[^A-Za-z0-9_-]+/g, '_')
    .replace(/^_+/, '')
    .slice(0, 64) || 'upload';

/** Uploads a zip; a name already taken is replaced only when the user says so. Answers the new folder's path. */
async function uploadZip(file: File): Promise<string> {
  const name = uploadName(file);
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
  return r.path;
}

export function DataPanel({ dataset, onPick }: { dataset: Dataset | null; onPick(path: string): void }) {
  const [list, setList] = useState<Dataset[]>([]);
  const [error, setError] = useState('');
  const refresh = () => api<Dataset[]>('/api/datasets').then(setList, (e: Error) => setError(e.message));
  useEffect(() => void refresh(), []);
  const upload = async (file: File) => {
    setError('');
    try {
      const path = await uploadZip(file);
      await refresh();
      onPick(path);
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
