// Training jobs from the page, one at a time: start (every path through the gate first), follow its events (a
// reloaded page re-attaches), cancel; /api/info tells a fresh page about the running job.
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { applicationIds } from '../applications/index.js';
import { STRATEGIES } from '../train/strategy/strategies.js';
import { type Ctx, type Routes, gate, gateDataset } from './context.js';
import { JOB_FIELDS, Job, type JobRequest } from './jobs.js';
import { HttpError, relativeToRoot, withoutServerPaths } from './paths.js';
import { json, readJson } from './respond.js';

/** The weights a job names: 'imagenet' (the default), null (random), or a .h5 file under the root. */
async function gateWeights(ctx: Ctx, raw: unknown): Promise<string | null> {
  if (raw === null) return null;
  if (raw === undefined || raw === 'imagenet') return 'imagenet';
  const weights = await gate(ctx, raw, 'weights');
  if (path.extname(weights).toLowerCase() !== '.h5' || !(await fsp.stat(weights).catch(() => null))?.isFile())
    throw new HttpError(400, "weights: 'imagenet', null, or a .h5 file under the UI's root");
  return weights;
}

export function jobRoutes(ctx: Ctx): { routes: Routes; byId: (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => boolean } {
  const { root } = ctx;
  let job: Job | null = null;
  /** The running job's parameters as the page sent them (paths relative to the root), for a reloaded page's form. */
  let jobParams: Record<string, unknown> | null = null;

  const startJob = async (body: Record<string, unknown>) => {
    if (job?.status === 'running') throw new HttpError(409, `a training job is already running (${job.id}); wait for it or cancel it`);
    if (typeof body.base !== 'string' || !applicationIds().includes(body.base)) throw new HttpError(400, `base: one of ${applicationIds().join(', ')}`);
    const data = await gateDataset(ctx, body.data);
    const out = await gate(ctx, body.out ?? `models/${path.basename(data)}-${Date.now().toString(36)}`, 'out', true);
    // A model may overwrite an earlier model, never a folder of something else (a dataset, an upload).
    if (existsSync(out) && !existsSync(path.join(out, 'transferkit.json')))
      throw new HttpError(409, 'out: the folder exists and is not a saved model; choose another name');
    const weights = await gateWeights(ctx, body.weights);
    const options = Object.fromEntries(JOB_FIELDS.filter((k) => body[k] !== undefined).map((k) => [k, body[k]]));
    const request = { ...options, kind: body.kind === 'compare' ? 'compare' : 'train', data, out, weights } as JobRequest;
    job = new Job(randomBytes(4).toString('hex'), request);
    jobParams = {
      ...options,
      kind: request.kind,
      data: relativeToRoot(root, data),
      out: relativeToRoot(root, out),
      weights: body.weights === undefined ? 'imagenet' : body.weights,
    };
    void job.run();
    return job.id;
  };

  const routes: Routes = {
    'GET /api/info': async (_req, res) =>
      json(res, 200, { root: path.basename(root), strategies: STRATEGIES, job: job ? { id: job.id, status: job.status, params: jobParams } : null }),
    'POST /api/jobs': async (req, res) => json(res, 202, { id: await startJob(await readJson(req)) }),
  };
  /** /api/jobs/<id>/events (a server-sent event stream) and /api/jobs/<id>/cancel. */
  const byId = (req: http.IncomingMessage, res: http.ServerResponse, url: URL): boolean => {
    const m = /^\/api\/jobs\/(\w+)\/(events|cancel)$/.exec(url.pathname);
    if (!m || req.method !== (m[2] === 'events' ? 'GET' : 'POST')) return false;
    if (!job || job.id !== m[1]) throw new HttpError(404, 'no such job');
    if (m[2] === 'cancel') {
      job.cancel();
      return json(res, 200, { id: job.id, cancelling: true });
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const detach = job.attach((e) => res.write(`data: ${withoutServerPaths(root, JSON.stringify(e))}\n\n`));
    req.on('close', detach);
    return true;
  };
  return { routes, byId };
}
