// The job's progress line, the library's notices and the loss and accuracy curves, drawn as epochs arrive.
import { useEffect, useRef } from 'preact/hooks';
import type { EpochEvent, JobEvent } from './api.js';
import { curves, seriesOf } from './charts.js';

export function Training({ events }: { events: JobEvent[] }) {
  const lossRef = useRef<HTMLCanvasElement>(null);
  const accRef = useRef<HTMLCanvasElement>(null);
  const charts = useRef<{ loss?: ReturnType<typeof curves>; acc?: ReturnType<typeof curves> }>({});
  useEffect(() => {
    charts.current.loss = curves(lossRef.current as HTMLCanvasElement, 'loss');
    charts.current.acc = curves(accRef.current as HTMLCanvasElement, 'accuracy');
    return () => {
      charts.current.loss?.destroy();
      charts.current.acc?.destroy();
    };
  }, []);
  const epochs = events.filter((e): e is EpochEvent => e.type === 'epoch');
  useEffect(() => {
    charts.current.loss?.set(seriesOf(epochs, (e) => [e.loss, e.valLoss]));
    charts.current.acc?.set(seriesOf(epochs, (e) => [e.accuracy, e.valAccuracy]));
  }, [epochs.length]);
  const last = [...events].reverse().find((e) => e.type === 'batch' || e.type === 'features');
  const status = [...events].reverse().find((e) => e.type === 'status');
  const notices = events.filter((e): e is { type: 'notice'; message: string } => e.type === 'notice');
  return (
    <section>
      <h2>Training</h2>
      <p data-testid="progress">
        {status?.type === 'status'
          ? `${status.status}${status.message ? `: ${status.message}` : ''}`
          : last?.type === 'batch'
            ? `epoch ${last.epoch}/${last.epochs}, batch ${last.batch}/${last.batches}, loss ${last.loss.toFixed(4)}`
            : last?.type === 'features'
              ? `caching the frozen part: ${last.done}/${last.total}`
              : events.length
                ? 'starting…'
                : 'idle'}
      </p>
      {notices.map((n) => (
        <p style="font-size:12px;color:#555">{n.message}</p>
      ))}
      <div class="charts" data-testid="curves" data-epochs={epochs.length}>
        <div class="chart-box">
          <canvas ref={lossRef} />
        </div>
        <div class="chart-box">
          <canvas ref={accRef} />
        </div>
      </div>
    </section>
  );
}
