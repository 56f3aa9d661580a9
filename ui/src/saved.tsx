// The saved models: a table to choose one from (with its files to download) and the "Try it" box for the chosen one.
import { useEffect, useState } from 'preact/hooks';
import { type SavedModel, fileUrl } from './api.js';
import { pct } from './format.js';
import { TryIt } from './try-it-panel.js';

export function Saved({ models, refreshKey }: { models: SavedModel[]; refreshKey: number }) {
  const [chosen, setChosen] = useState('');
  useEffect(() => setChosen((c) => c || models.at(-1)?.path || ''), [models.length, refreshKey]);
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
            <td>{m.metadata.val?.accuracy == null ? '—' : pct(m.metadata.val.accuracy)}</td>
            <td>
              <a href={fileUrl(`${m.path}/model.json`)}>model.json</a> · <a href={fileUrl(`${m.path}/weights.bin`)}>weights.bin</a> ·{' '}
              <a href={fileUrl(`${m.path}/transferkit.json`)}>transferkit.json</a> · <a href={`/api/export?model=${encodeURIComponent(m.path)}`}>ONNX</a>
            </td>
          </tr>
        ))}
      </table>
      <TryIt model={models.find((m) => m.path === chosen)} />
    </section>
  );
}
