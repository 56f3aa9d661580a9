// The Data tab's routes: scan a saved model and its data folder (top losses, label issues, duplicate groups; in
// the background, progress polled), record a decision per image in the model's review.csv, add a class to a
// k-NN or prototype model from a zip of its images, and ask a model what an image is. Every file named by a
// request goes through the gate and must lie in the data folder; no image is moved or deleted.
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { IMAGE_EXTENSIONS } from '../data/formats.js';
import { addClass } from '../heads/add-class.js';
import { scoreFiles } from '../train/saved/predict.js';
import { loadModel } from '../train/saved/saved-model.js';
import { type Ctx, type Routes, gate, gateDataset, gateModel } from './context.js';
import { DataScan } from './data-scan.js';
import { EXPLAIN_TYPES, withUploadedImage } from './explain.js';
import { requireContentType } from './guard.js';
import { oneAtATime } from './library-routes.js';
import { HttpError, relativeToRoot } from './paths.js';
import { errorReply, json, readJson } from './respond.js';
import { ACTIONS, REVIEW_FILE, type ReviewAction, readReviewList, recordDecision } from './review-list.js';
import type { Decision, ReviewList } from './shapes.js';
import { receiveUpload } from './upload.js';

const CLASS_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** An image file of the data folder, named relative to the root. */
async function gateImage(ctx: Ctx, raw: unknown, data: string): Promise<string> {
  const file = await gate(ctx, raw, 'file', true);
  if (!file.startsWith(data + path.sep)) throw new HttpError(403, 'file: not an image of the data folder');
  if (!IMAGE_EXTENSIONS.includes(path.extname(file).toLowerCase())) throw new HttpError(415, 'file: not an image file');
  if (!(await fsp.stat(file).catch(() => null))?.isFile()) throw new HttpError(404, 'file: no such file');
  return file;
}

/** One decision: {model, data, file, action: keep|relabel|remove, label (relabel: a class of the model)}. */
async function decide(ctx: Ctx, body: Record<string, unknown>): Promise<Decision> {
  const model = await gateModel(ctx, body.model);
  const data = await gateDataset(ctx, body.data);
  const file = await gateImage(ctx, body.file, data);
  if (!ACTIONS.includes(body.action as ReviewAction)) throw new HttpError(400, `action: one of ${ACTIONS.join(', ')}`);
  const action = body.action as ReviewAction;
  const { classNames = [] } = JSON.parse(await fsp.readFile(path.join(model, 'transferkit.json'), 'utf8')) as { classNames?: string[] };
  const given = path.basename(path.dirname(file));
  let suggested = given;
  if (action === 'relabel') {
    if (typeof body.label !== 'string' || !classNames.includes(body.label))
      throw new HttpError(400, `label: relabel to one of the model's classes (${classNames.join(', ')})`);
    suggested = body.label;
  }
  const confidence = typeof body.selfConfidence === 'number' && Number.isFinite(body.selfConfidence) ? body.selfConfidence.toFixed(4) : '';
  const list = path.join(model, REVIEW_FILE);
  const rows = await recordDecision(list, { file, given, suggested, selfConfidence: confidence, action });
  return { list: relativeToRoot(ctx.root, list), rows: rows.length, row: { file: relativeToRoot(ctx.root, file), given, suggested, action } };
}

/** The decisions recorded in a model's review.csv (rows naming files outside the root left out). */
async function reviewList(ctx: Ctx, raw: unknown): Promise<ReviewList> {
  const list = path.join(await gateModel(ctx, raw), REVIEW_FILE);
  const rows = (await readReviewList(list))
    .filter((r) => r.file.startsWith(ctx.root + path.sep))
    .map((r) => ({ file: relativeToRoot(ctx.root, r.file), given: r.given, suggested: r.suggested, action: r.action }));
  return { list: relativeToRoot(ctx.root, list), rows };
}

/** `POST /api/data/add-class?model=&name=` with a zip of the class's images: a grown copy of the model beside it. */
async function addClassFromZip(ctx: Ctx, req: Parameters<typeof receiveUpload>[0], url: URL) {
  const model = await gateModel(ctx, url.searchParams.get('model'));
  const name = url.searchParams.get('name') ?? '';
  if (!CLASS_NAME.test(name)) throw new HttpError(400, 'name: the class name, letters, digits, - and _ only (up to 64)');
  const out = await gate(ctx, `${relativeToRoot(ctx.root, model)}-${name}`, 'out', true);
  if (existsSync(out)) throw new HttpError(409, `${relativeToRoot(ctx.root, out)} exists: a class '${name}' was added before; choose another name`);
  const { head } = JSON.parse(await fsp.readFile(path.join(model, 'transferkit.json'), 'utf8')) as { head?: string };
  if (!/^(knn|prototype)/.test(head ?? ''))
    throw new HttpError(400, `model: adding a class needs a knn or prototype head (train with head knn); this one is ${head}`);
  // A folder of its own under uploads/, never over an earlier upload; removed again if the class cannot be added.
  const upload = await receiveUpload(req, ctx.root, new URL(`/?name=class-${name}`, 'http://upload'), ctx.limits, 'class');
  const folder = path.join(ctx.root, upload.path);
  const r = await addClass(model, folder, { name, out }).catch(async (err: Error) => {
    await fsp.rm(folder, { recursive: true, force: true });
    throw err;
  });
  return { model: relativeToRoot(ctx.root, out), classNames: r.classNames, added: r.added, upload: upload.path, seconds: r.seconds, notice: r.notice ?? null };
}

/** A model's three most probable classes for an image sent as the body. */
async function predictUpload(req: Parameters<typeof receiveUpload>[0], dir: string, name: string | null, maxBytes: number) {
  return withUploadedImage(req, name, maxBytes, async (file) => {
    const { model, metadata, onnxBase } = await loadModel(dir);
    try {
      const { scored } = await scoreFiles(model, metadata, [file], { onnxBase });
      if (!scored.length) throw new HttpError(415, 'image: not an image the model can read');
      const names = metadata.classNames ?? [];
      const predictions = scored[0].probabilities
        .map((probability, i) => ({ label: names[i] ?? String(i), probability }))
        .sort((a, b) => b.probability - a.probability)
        .slice(0, 3);
      return { label: predictions[0]?.label ?? null, predictions };
    } finally {
      model.dispose();
    }
  });
}

export function dataRoutes(ctx: Ctx): Routes {
  let scan: DataScan | null = null;
  // Decisions are written one after another: two at once would each rewrite the list without the other's row.
  let writes: Promise<unknown> = Promise.resolve();
  const adding = oneAtATime('another upload is being received or unpacked, or a class added', addClassFromZip, ctx.uploadLock);
  const predicting = oneAtATime('another image is being classified', predictUpload);
  return {
    'POST /api/data/scan': async (req, res) => {
      const body = await readJson(req);
      const model = await gateModel(ctx, body.model);
      const data = await gateDataset(ctx, body.data);
      if (scan?.status === 'running') throw new HttpError(409, 'a data scan is already running; wait for it');
      scan = new DataScan(randomBytes(4).toString('hex'), ctx.root, model, data);
      const mine = scan;
      void mine.run((err) => errorReply(err, ctx.root, 'data scan').message);
      return json(res, 202, { id: mine.id });
    },
    'GET /api/data/scan': async (_req, res) =>
      json(res, 200, scan ? { id: scan.id, status: scan.status, progress: scan.progress, result: scan.result, error: scan.error } : { status: 'idle' }),
    'GET /api/data/review': async (_req, res, url) => json(res, 200, await reviewList(ctx, url.searchParams.get('model'))),
    'POST /api/data/review': async (req, res) => {
      const body = await readJson(req);
      const done = writes.then(() => decide(ctx, body));
      writes = done.catch(() => undefined);
      return json(res, 200, await done);
    },
    'POST /api/data/add-class': async (req, res, url) => {
      requireContentType(req, ['application/zip', 'application/x-zip-compressed', 'application/octet-stream']);
      return json(res, 200, await adding(ctx, req, url));
    },
    'POST /api/data/predict': async (req, res, url) => {
      requireContentType(req, EXPLAIN_TYPES);
      const dir = await gateModel(ctx, url.searchParams.get('model'));
      return json(res, 200, await predicting(req, dir, url.searchParams.get('name'), ctx.options.maxTryImage ?? 50e6));
    },
  };
}
