// The Train tab's server state: the chosen base's cut points and a job's event stream.
import { useEffect, useState } from 'preact/hooks';
import { type Cutpoints, type JobEvent, api } from './api.js';
import type { Settings } from './settings.js';

/** The base's parameter count and blocks, asked again whenever base, width or input size change. */
export function useCutpoints(settings: Settings): Cutpoints | null {
  const [blocks, setBlocks] = useState<Cutpoints | null>(null);
  useEffect(() => {
    const size = Number(settings.inputSize) || 96;
    const alpha = settings.base.startsWith('mobilenet') ? `&alpha=${settings.alpha}` : '';
    api<Cutpoints>(`/api/cutpoints?base=${settings.base}&size=${size}${alpha}`).then(setBlocks, () => setBlocks(null));
  }, [settings.base, settings.alpha, settings.inputSize]);
  return blocks;
}

/** The job's events from its stream (replayed from the start on attach); `onEnd` runs once the job has finished. */
export function useJobEvents(jobId: string | null, onEnd: () => void): JobEvent[] {
  const [events, setEvents] = useState<JobEvent[]>([]);
  useEffect(() => {
    if (!jobId) return;
    setEvents([]);
    const source = new EventSource(`/api/jobs/${jobId}/events`);
    source.onmessage = (m) => {
      const e = JSON.parse(m.data) as JobEvent;
      setEvents((list) => [...list, e]);
      if (e.type === 'status' && e.status !== 'running') {
        source.close();
        onEnd();
      }
    };
    return () => source.close();
  }, [jobId]);
  return events;
}
