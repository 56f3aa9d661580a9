// The Train tab's Model panel: the base, its width and weights, input size, strategy, cut layer, head and schedule.
import type { Cutpoints, ModelInfo } from './api.js';
import type { Settings } from './settings.js';

export function ModelPanel({ s, set, models, blocks }: { s: Settings; set(s: Settings): void; models: ModelInfo[]; blocks: Cutpoints | null }) {
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
      <input id="head" data-testid="head" placeholder="gap, dense:N:softmax" value={s.head} onInput={field('head')} />
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
