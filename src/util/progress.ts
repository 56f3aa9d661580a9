export interface ProgressOptions {
  label: string;
  /** Total units, if known; without it the bar shows a count and a rate only. */
  total?: number;
  unit?: 'bytes' | 'items';
  stream?: NodeJS.WriteStream;
}

const MB = 1024 * 1024;

function amount(n: number, unit: 'bytes' | 'items'): string {
  return unit === 'bytes' ? `${(n / MB).toFixed(1)} MB` : String(Math.round(n));
}

/** "42s", "3m07s", "1h02m". */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m}m${String(Math.round(seconds % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * A progress bar with rate and ETA on stderr. On a terminal it redraws in place (at most 10 times a second);
 * in a log (not a TTY) it writes a line at every quarter, so CI logs stay short.
 */
export class ProgressBar {
  private done = 0;
  private readonly start = Date.now();
  private lastDraw = 0;
  private lastQuarter = -1;
  private readonly unit: 'bytes' | 'items';
  private readonly stream: NodeJS.WriteStream;

  constructor(private readonly options: ProgressOptions) {
    this.unit = options.unit ?? 'items';
    this.stream = options.stream ?? process.stderr;
  }

  /** Adds `n` finished units. */
  tick(n = 1): void {
    this.done += n;
    this.draw(false);
  }

  /** Ends the bar with a final line (and a summary message, if given). */
  finish(message?: string): void {
    this.draw(true);
    if (message) this.stream.write(`${this.options.label}: ${message}\n`);
  }

  private line(): string {
    const elapsed = (Date.now() - this.start) / 1000;
    const rate = elapsed > 0 ? this.done / elapsed : 0;
    const rateText = `${amount(rate, this.unit)}/s`;
    const { total } = this.options;
    if (!total) return `${this.options.label} ${amount(this.done, this.unit)} ${rateText}`;
    const frac = Math.min(1, this.done / total);
    const width = 24;
    const filled = Math.round(frac * width);
    const eta = rate > 0 ? (total - this.done) / rate : Infinity;
    return `${this.options.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${amount(this.done, this.unit)}/${amount(total, this.unit)} ${rateText} ETA ${duration(eta)}`;
  }

  private draw(final: boolean): void {
    if (this.stream.isTTY) {
      const now = Date.now();
      if (!final && now - this.lastDraw < 100) return;
      this.lastDraw = now;
      this.stream.write(`\r${this.line()}\x1b[K${final ? '\n' : ''}`);
      return;
    }
    const quarter = this.options.total ? Math.floor((4 * this.done) / this.options.total) : 0;
    if (quarter > this.lastQuarter || (final && this.lastQuarter < 4)) {
      this.lastQuarter = final ? 4 : quarter;
      this.stream.write(`${this.line()}\n`);
    }
  }
}
