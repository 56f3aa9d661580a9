// Start a training or a comparison of strategies, cancel the running job, and say why a start was refused.
interface Props {
  running: boolean;
  error: string;
  onStart(kind: 'train' | 'compare'): void;
  onCancel(): void;
}

export function JobButtons({ running, error, onStart, onCancel }: Props) {
  return (
    <section>
      <button type="button" data-testid="start" disabled={running} onClick={() => onStart('train')}>
        Train
      </button>
      <button type="button" data-testid="compare" disabled={running} onClick={() => onStart('compare')}>
        Compare strategies
      </button>
      <button type="button" data-testid="cancel" disabled={!running} onClick={onCancel}>
        Cancel
      </button>
      {error && (
        <p class="error" data-testid="error">
          {error}
        </p>
      )}
    </section>
  );
}
