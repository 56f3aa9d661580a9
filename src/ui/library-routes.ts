// The page's read-only routes over the root: datasets and their thumbnails, the zoo's bases and cut points, saved
// models (listed, served file by file, exported to ONNX); and the two that take a body: a zip upload and Try it.
import { existsSync, promises as fsp } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import sharp from 'sharp';
import { modelBlocks } from '../applications/blocks.js';
import { applicationIds, getApplication } from '../applications/index.js';
import { listImageFolder } from '../data/folders.js';
import { IMAGE_EXTENSIONS } from '../data/formats.js';
import { compileInference } from '../engine/onnx/compile.js';
import { countParams } from '../model/introspect.js';
import { loadModel } from '../train/saved/saved-model.js';
import { type Ctx, type Lock, type Routes, gate, gateModel } from './context.js';
import { EXPLAIN_TYPES, explainUpload } from './explain.js';
import { requireContentType } from './guard.js';
import { HttpError, gateFolderContents, relativeToRoot } from './paths.js';
import { decodeOnce, json, sendFile } from './respond.js';
import { receiveUpload } from './upload.js';

/** Folders under the root (two levels) that hold class folders of images. */
async function findDatasets(root: string): Promise<Array<{ path: string; classes: Array<{ name: string; count: number }> }>> {
  const found = [];
  const candidates = [root];
  for (const e of await fsp.readdir(root, { withFileTypes: true })) if (e.isDirectory() && !e.name.startsWith('.')) candidates.push(path.join(root, e.name));
  for (const c of [...candidates]) {
    if (c === root) continue;
    for (const e of await fsp.readdir(c, { withFileTypes: true }).catch(() => []))
      if (e.isDirectory() && !e.name.startsWith('.')) candidates.push(path.join(c, e.name));
  }
  for (const dir of candidates) {
    if (
      !(await gateFolderContents(root, dir, 'path').then(
        () => true,
        () => false,
      ))
    )
      continue;
    const folder = await listImageFolder(dir, { minClasses: 2 }).catch(() => null);
    // A dataset's class folders hold images directly: a folder of datasets is not one.
    if (!folder || folder.files.some((f) => path.dirname(path.dirname(f.file)) !== dir)) continue;
    found.push({
      path: relativeToRoot(root, dir),
      classes: folder.classNames.map((name, k) => ({ name, count: folder.files.filter((f) => f.label === k).length })),
    });
  }
  return found;
}

async function savedModels(root: string): Promise<Array<{ path: string; metadata: unknown }>> {
  const out: Array<{ path: string; metadata: unknown }> = [];
  const walk = async (dir: string, depth: number) => {
    if (existsSync(path.join(dir, 'transferkit.json'))) {
      // An unreadable transferkit.json (or a link to one outside the root) leaves that folder out of the list,
      // not the list out of the page.
      const real = await fsp.realpath(path.join(dir, 'transferkit.json')).catch(() => '');
      const metadata = !real.startsWith(root + path.sep)
        ? null
        : await fsp
            .readFile(real, 'utf8')
            .then(
              (t) => JSON.parse(t) as unknown,
              () => null,
            )
            .catch(() => null);
      if (metadata) out.push({ path: relativeToRoot(root, dir), metadata });
      return;
    }
    if (depth === 0) return;
    for (const e of await fsp.readdir(dir, { withFileTypes: true }).catch(() => []))
      if (e.isDirectory() && !e.name.startsWith('.')) await walk(path.join(dir, e.name), depth - 1);
  };
  await walk(root, 3);
  return out;
}

/** A 96-pixel PNG thumbnail of an image file under the root. */
async function thumbnail(ctx: Ctx, raw: unknown): Promise<Buffer> {
  const file = await gate(ctx, raw, 'path', true);
  if (!(await fsp.stat(file).catch(() => null))?.isFile()) throw new HttpError(404, 'path: no such file');
  if (!IMAGE_EXTENSIONS.includes(path.extname(file).toLowerCase())) throw new HttpError(415, 'path: not an image file');
  return sharp(file)
    .rotate()
    .resize(96, 96, { fit: 'cover' })
    .png()
    .toBuffer()
    .catch(() => {
      throw new HttpError(415, 'path: not an image the server can read');
    });
}

async function cutpoints(url: URL): Promise<{ params: number; blocks: ReturnType<typeof modelBlocks> }> {
  const id = url.searchParams.get('base') ?? '';
  if (!applicationIds().includes(id)) throw new HttpError(400, `base: one of ${applicationIds().join(', ')}`);
  const size = Number(url.searchParams.get('size') ?? getApplication(id).spec.defaultSize);
  if (!Number.isInteger(size) || size < 1 || size > 2048) throw new HttpError(400, 'size: a whole number of pixels up to 2048');
  const alpha = url.searchParams.get('alpha') ? Number(url.searchParams.get('alpha')) : undefined;
  const base = await getApplication(id).build({ weights: null, includeTop: false, inputShape: [size, size, 3], ...(alpha ? { alpha } : {}) });
  const blocks = modelBlocks(base);
  const params = countParams(base).total;
  base.dispose();
  return { params, blocks };
}

/** One request at a time through `fn` (each holds a worker or a model); the others get a 429 saying `what`. */
export function oneAtATime<A extends unknown[], T>(what: string, fn: (...a: A) => Promise<T>, lock: Lock = { busy: false }): (...a: A) => Promise<T> {
  return async (...a) => {
    if (lock.busy) throw new HttpError(429, `${what}; try again when it is done`);
    lock.busy = true;
    try {
      return await fn(...a);
    } finally {
      lock.busy = false;
    }
  };
}

export function libraryRoutes(ctx: Ctx): Routes {
  const { root } = ctx;
  const upload = oneAtATime('another upload is being received or unpacked', receiveUpload, ctx.uploadLock);
  const explain = oneAtATime('another image is being explained', explainUpload);
  return {
    'GET /api/datasets': async (_req, res) => json(res, 200, await findDatasets(root)),
    'GET /api/dataset': async (_req, res, url) => {
      const dir = await gate(ctx, url.searchParams.get('path'), 'path');
      await gateFolderContents(root, dir, 'path');
      const folder = await listImageFolder(dir);
      const classes = folder.classNames.map((name, k) => {
        const files = folder.files.filter((f) => f.label === k);
        return { name, count: files.length, samples: files.slice(0, 4).map((f) => relativeToRoot(root, f.file)) };
      });
      return json(res, 200, { path: relativeToRoot(root, dir), classes, skipped: folder.skipped.length });
    },
    'GET /api/thumb': async (_req, res, url) => {
      const png = await thumbnail(ctx, url.searchParams.get('path'));
      res.writeHead(200, { 'content-type': 'image/png' }).end(png);
    },
    'GET /api/models': async (_req, res) =>
      json(
        res,
        200,
        applicationIds().map((id) => {
          const { name, minSize, defaultSize } = getApplication(id).spec;
          return { id, name, minSize, defaultSize };
        }),
      ),
    'GET /api/cutpoints': async (_req, res, url) => json(res, 200, await cutpoints(url)),
    'GET /api/saved': async (_req, res) => json(res, 200, await savedModels(root)),
    'POST /api/upload': async (req, res, url) => {
      requireContentType(req, ['application/zip', 'application/x-zip-compressed', 'application/octet-stream']);
      return json(res, 200, await upload(req, root, url, ctx.limits));
    },
    'POST /api/explain': async (req, res, url) => {
      requireContentType(req, EXPLAIN_TYPES);
      const dir = await gateModel(ctx, url.searchParams.get('model'));
      return json(res, 200, await explain(req, dir, url.searchParams.get('name'), ctx.options.maxTryImage ?? 50e6));
    },
    'GET /api/export': async (_req, res, url) => {
      const dir = await gateModel(ctx, url.searchParams.get('model'));
      const { model } = await loadModel(dir);
      const onnx = compileInference(model).onnx;
      model.dispose();
      const name = `${path.basename(dir).replace(/[^\w.-]/g, '_')}.onnx`;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-disposition': `attachment; filename="${name}"` }).end(Buffer.from(onnx));
    },
  };
}

/**
 * Files by path (/api/files/<path under the root>): saved models load from here, so tfjs finds weights.bin beside
 * model.json.
 */
export async function fileRoute(ctx: Ctx, res: http.ServerResponse, url: URL): Promise<boolean> {
  if (!url.pathname.startsWith('/api/files/')) return false;
  return sendFile(res, await gate(ctx, decodeOnce(url.pathname.slice('/api/files/'.length)), 'path', true));
}
