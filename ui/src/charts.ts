import { BarController, BarElement, CategoryScale, Chart, Legend, LineController, LineElement, LinearScale, PointElement, Title, Tooltip } from 'chart.js';

Chart.register(LineController, LineElement, PointElement, BarController, BarElement, CategoryScale, LinearScale, Legend, Title, Tooltip);

/** One run's values per epoch (a comparison has one per strategy). */
export interface CurveSeries {
  name: string;
  train: Array<number | null>;
  val: Array<number | null>;
}

const COLOURS = [
  ['#3b75af', '#e08214'],
  ['#4dac26', '#d01c8b'],
  ['#7b3294', '#a6611a'],
];

/**
 * A line chart of training and validation values per epoch, updated in place as epochs arrive; each run is its
 * own pair of lines (a comparison's strategies are not joined into one line).
 */
export function curves(canvas: HTMLCanvasElement, title: string): { set(series: CurveSeries[]): void; destroy(): void } {
  const chart = new Chart<'line', Array<number | null>, string>(canvas, {
    type: 'line',
    data: { labels: [], datasets: [] },
    options: {
      animation: false,
      maintainAspectRatio: false,
      plugins: { title: { display: true, text: `${title} per epoch` } },
      scales: { x: { title: { display: true, text: 'epoch' } } },
    },
  });
  return {
    set(series) {
      const longest = Math.max(0, ...series.map((s) => s.train.length));
      chart.data.labels = Array.from({ length: longest }, (_, i) => String(i + 1));
      chart.data.datasets = series.flatMap((s, i) => {
        const [train, val] = COLOURS[i % COLOURS.length];
        const prefix = s.name ? `${s.name}: ` : '';
        return [
          { label: `${prefix}training ${title}`, data: s.train, borderColor: train, backgroundColor: train },
          { label: `${prefix}validation ${title}`, data: s.val, borderColor: val, backgroundColor: val, borderDash: [5, 3] },
        ];
      });
      chart.update();
    },
    destroy: () => chart.destroy(),
  };
}

/** Epoch events as series: one per strategy in a comparison, else one. */
export function seriesOf<E extends { strategy?: string }>(epochs: E[], value: (e: E) => [number | null, number | null]): CurveSeries[] {
  const names = [...new Set(epochs.map((e) => e.strategy ?? ''))];
  return names.map((name) => {
    const mine = epochs.filter((e) => (e.strategy ?? '') === name).map(value);
    return { name, train: mine.map((v) => v[0]), val: mine.map((v) => v[1]) };
  });
}

/** The seed's Fig. 5: trainable and non-trainable parameters per strategy, stacked. */
export function paramsChart(canvas: HTMLCanvasElement, rows: Array<{ strategy: string; trainableParams: number; nonTrainableParams: number }>): Chart {
  return new Chart(canvas, {
    type: 'bar',
    data: {
      labels: rows.map((r) => r.strategy),
      datasets: [
        { label: 'trainable', data: rows.map((r) => r.trainableParams), backgroundColor: '#3b75af' },
        { label: 'non-trainable', data: rows.map((r) => r.nonTrainableParams), backgroundColor: '#bbb' },
      ],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      plugins: { title: { display: true, text: 'Parameters by strategy' } },
      scales: { x: { stacked: true }, y: { stacked: true } },
    },
  });
}
