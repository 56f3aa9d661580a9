import { BarController, BarElement, CategoryScale, Chart, Legend, LineController, LineElement, LinearScale, PointElement, Title, Tooltip } from 'chart.js';

Chart.register(LineController, LineElement, PointElement, BarController, BarElement, CategoryScale, LinearScale, Legend, Title, Tooltip);

/** A line chart of training and validation values per epoch, updated in place as epochs arrive. */
export function curves(canvas: HTMLCanvasElement, title: string): { set(train: Array<number | null>, val: Array<number | null>): void; destroy(): void } {
  const chart = new Chart<'line', Array<number | null>, string>(canvas, {
    type: 'line',
    data: { labels: [], datasets: [
      { label: `training ${title}`, data: [], borderColor: '#3b75af', backgroundColor: '#3b75af' },
      { label: `validation ${title}`, data: [], borderColor: '#e08214', backgroundColor: '#e08214' },
    ] },
    options: { animation: false, maintainAspectRatio: false, plugins: { title: { display: true, text: `${title} per epoch` } }, scales: { x: { title: { display: true, text: 'epoch' } } } },
  });
  return {
    set(train, val) {
      chart.data.labels = train.map((_, i) => String(i + 1));
      chart.data.datasets[0].data = train;
      chart.data.datasets[1].data = val;
      chart.update();
    },
    destroy: () => chart.destroy(),
  };
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
    options: { animation: false, maintainAspectRatio: false, plugins: { title: { display: true, text: 'Parameters by strategy' } }, scales: { x: { stacked: true }, y: { stacked: true } } },
  });
}
