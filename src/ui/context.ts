// What every route of the UI's server shares: the root (a real path), the options it was started with, the upload
// caps, and the gates a route puts a request's paths through before it reads or writes anything.
import { existsSync, promises as fsp } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { HttpError, gateFolderContents, gatePath } from './paths.js';
import type { UploadLimits } from './upload.js';

export interface UiOptions {
  root: string;
  port?: number;
  host?: string;
  /** Largest zip upload accepted, bytes (default 200 MB). */
  maxUpload?: number;
  /** Caps on unpacking an upload (defaults: DEFAULT_UPLOAD_LIMITS). */
  limits?: Partial<UploadLimits>;
  /** Largest image "Try it" sends for its Grad-CAM, bytes (default 50 MB). */
  maxTryImage?: number;
  /** Host names accepted besides the bound address and localhost. */
  allowHosts?: string[];
  /** false: no per-launch token (default true). */
  token?: boolean;
}

export interface Ctx {
  root: string;
  options: UiOptions;
  limits: UploadLimits;
  /** Held while a zip is received and unpacked (one at a time: each holds a worker, and up to the caps on disk). */
  uploadLock: Lock;
}

/** A lock that routes share. */
export interface Lock {
  busy: boolean;
}

/** A route: answers the request (a refusal is an HttpError thrown). */
export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => Promise<unknown>;
/** Handlers by `METHOD /path`. */
export type Routes = Record<string, Handler>;

export const gate = (ctx: Ctx, raw: unknown, field: string, child = false) => gatePath(ctx.root, raw, { field, child });

/** A saved model's folder under the root (404 when it holds no transferkit.json; 403 when it links outside). */
export async function gateModel(ctx: Ctx, raw: unknown, field = 'model'): Promise<string> {
  const dir = await gate(ctx, raw, field, true);
  if (!existsSync(path.join(dir, 'transferkit.json'))) throw new HttpError(404, `${field}: not a saved model folder`);
  await gateFolderContents(ctx.root, dir, field, 1);
  return dir;
}

/** A dataset folder under the root whose class folders and images stay inside it. */
export async function gateDataset(ctx: Ctx, raw: unknown, field = 'data'): Promise<string> {
  const dir = await gate(ctx, raw, field);
  if (!(await fsp.stat(dir).catch(() => null))?.isDirectory()) throw new HttpError(400, `${field}: not a folder under the UI's root`);
  await gateFolderContents(ctx.root, dir, field);
  return dir;
}
