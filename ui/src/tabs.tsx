// The page's two tabs, Train and Data, as a tab bar.
export type Tab = 'train' | 'data';

export function TabBar({ tab, onSelect }: { tab: Tab; onSelect(t: Tab): void }) {
  return (
    <div class="tabs" role="tablist">
      {(['train', 'data'] as const).map((t) => (
        <button type="button" role="tab" data-testid={`tab-${t}`} aria-selected={tab === t} onClick={() => onSelect(t)}>
          {t === 'train' ? 'Train' : 'Data'}
        </button>
      ))}
    </div>
  );
}
