// The Data tab's three lists (top losses, label issues, duplicate groups), each row with its thumbnail and the
// buttons that record a decision in the model's review.csv: accept (the given label is right: keep), relabel to
// a chosen class, or remove. The server writes the list; no image is moved or deleted.
import { useState } from 'preact/hooks';
import type { DataScanResult as ScanResult, Decision } from '../../src/ui/shapes.js';
import { api } from './api.js';

export type { Decision, ScanResult };

const thumb = (file: string) => <img class="thumb" src={`/api/thumb?path=${encodeURIComponent(file)}`} alt={file} title={file} />;
const base = (file: string) => file.split('/').slice(-2).join('/');

type Row = Decision['row'];
const shown = (d: Row | undefined) => (!d ? '' : d.action === 'relabel' ? `relabel → ${d.suggested}` : d.action === 'keep' ? 'accepted' : d.action);

/** Accept / relabel (to a chosen class) / remove for one image, and its decision once the server has written it. */
function Decide({ scan, file, suggested, decided, onDone }: { scan: ScanResult; file: string; suggested: string; decided?: Row; onDone(d: Decision): void }) {
  const [label, setLabel] = useState(suggested);
  const [state, setState] = useState('');
  const send = async (action: 'keep' | 'relabel' | 'remove') => {
    setState('…');
    try {
      const d = await api<Decision>('/api/data/review', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: scan.model, data: scan.data, file, action, ...(action === 'relabel' ? { label } : {}) }),
      });
      setState('');
      onDone(d);
    } catch (e) {
      setState(`error: ${(e as Error).message}`);
    }
  };
  return (
    <td class="decide">
      <button type="button" data-testid="accept" title="the given label is right: keep the image" onClick={() => void send('keep')}>
        Accept
      </button>
      <select aria-label={`new class for ${file}`} data-testid="relabel-class" value={label} onChange={(e) => setLabel((e.target as HTMLSelectElement).value)}>
        {scan.classNames.map((c) => (
          <option value={c}>{c}</option>
        ))}
      </select>
      <button type="button" data-testid="relabel" onClick={() => void send('relabel')}>
        Relabel
      </button>
      <button type="button" data-testid="remove" title="leave the image out of training (the file stays where it is)" onClick={() => void send('remove')}>
        Remove
      </button>
      <span data-testid="decision">{state || shown(decided)}</span>
    </td>
  );
}

/** The three lists; `decided` holds the review list's rows by file (the same image shows its decision in every list). */
export function DataLists({ scan, decided, onDecision }: ListProps) {
  return (
    <>
      <section>
        <h2>Top losses</h2>
        <p class="note">The images the model gets most wrong, highest loss (−ln p(given class)) first.</p>
        <table data-testid="top-losses">
          <tr>
            <th>Image</th>
            <th>File</th>
            <th>Given</th>
            <th>Predicted</th>
            <th>p</th>
            <th>Loss</th>
            <th>Decision</th>
          </tr>
          {scan.topLosses.map((r) => (
            <tr key={r.file}>
              <td>{thumb(r.file)}</td>
              <td>{base(r.file)}</td>
              <td>{r.given}</td>
              <td>{r.predicted}</td>
              <td>{r.probability.toFixed(3)}</td>
              <td>{r.loss.toFixed(3)}</td>
              <Decide scan={scan} file={r.file} suggested={r.predicted} decided={decided[r.file]} onDone={onDecision} />
            </tr>
          ))}
        </table>
      </section>
      <section>
        <h2>Label issues</h2>
        <p class="note">
          Images whose given label is unlikely (confident learning on out-of-fold probabilities), most suspicious first: {scan.issues.length} of {scan.images}.
        </p>
        <table data-testid="label-issues">
          <tr>
            <th>Image</th>
            <th>File</th>
            <th>Given</th>
            <th>Suggested</th>
            <th>p(given)</th>
            <th>Decision</th>
          </tr>
          {scan.issues.map((r) => (
            <tr key={r.file}>
              <td>{thumb(r.file)}</td>
              <td>{base(r.file)}</td>
              <td>{r.given}</td>
              <td>{r.suggested}</td>
              <td>{r.selfConfidence.toFixed(3)}</td>
              <Decide scan={scan} file={r.file} suggested={r.suggested} decided={decided[r.file]} onDone={onDecision} />
            </tr>
          ))}
        </table>
      </section>
      <DuplicateGroups scan={scan} decided={decided} onDecision={onDecision} />
    </>
  );
}

type ListProps = { scan: ScanResult; decided: Record<string, Row>; onDecision(d: Decision): void };

/** The groups of copies, leaks first: each member with its place (training or validation) and class. */
function DuplicateGroups({ scan, decided, onDecision }: ListProps) {
  return (
    <section>
      <h2>Duplicate groups</h2>
      <p class="note">Exact copies and near ones (feature similarity ≥ {scan.threshold}); a leak spans training and validation.</p>
      <div data-testid="duplicates">
        {scan.duplicates.map((g, k) => (
          <table class="group" data-testid="duplicate-group">
            <caption>
              Group {k + 1}: {g.kind}
              {g.kind === 'near' ? `, similarity ≥ ${g.similarity.toFixed(3)}` : ''}
              {g.leak ? ' — LEAK' : ''}
            </caption>
            {g.members.map((m) => (
              <tr key={m.file}>
                <td>{thumb(m.file)}</td>
                <td>{base(m.file)}</td>
                <td>
                  {m.place} · {m.className}
                </td>
                <Decide scan={scan} file={m.file} suggested={m.className} decided={decided[m.file]} onDone={onDecision} />
              </tr>
            ))}
          </table>
        ))}
      </div>
    </section>
  );
}
