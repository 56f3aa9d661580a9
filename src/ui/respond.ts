// Answers and bodies for the UI's server: JSON replies, JSON request bodies under a size cap, files by path.
import { randomBytes } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { TransferkitError } from '../errors.js';
import { requireContentType } from './guard.js';
import { HttpError, withoutServerPaths } from './paths.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.bin': 'application/octet-stream',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.csv': 'text/csv; charset=utf-8',
};

export const json = (res: http.ServerResponse, status: number, body: unknown): true => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  return true;
};

/** Streams a file (already gated) with its type; 404 when it is not a file. */
export async function sendFile(res: http.ServerResponse, file: string): Promise<true> {
  const stat = await fsp.stat(file).catch(() => null);
  if (!stat?.isFile()) throw new HttpError(404, 'path: no such file');
  res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'content-length': stat.size });
  createReadStream(file).pipe(res);
  return true;
}

/** A JSON object body of at most 1 MB, sent as application/json. */
export async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  requireContentType(req, ['application/json']);
  const limit = 1e6;
  if (Number(req.headers['content-length'] ?? 0) > limit) throw new HttpError(413, 'a JSON body larger than 1 MB');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, 'a JSON body larger than 1 MB');
    chunks.push(chunk as Buffer);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'the body is not valid JSON');
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'the body must be a JSON object');
  return body as Record<string, unknown>;
}

/** A URL path decoded once; a malformed escape is a 400, not an exception. */
export function decodeOnce(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    throw new HttpError(400, 'a malformed %-escape in the path');
  }
}

/**
 * The status and client message for a failed request: a refusal's own, a library error's first line without
 * server paths (400), or for anything unexpected a generic 500 with an id, the detail written to the server's log.
 */
export function errorReply(err: Error, root: string, request: string): { status: number; message: string } {
  if (err instanceof HttpError) return { status: err.status, message: err.message };
  if (err instanceof TransferkitError) return { status: 400, message: withoutServerPaths(root, err.message.split('\n')[0]) };
  const id = randomBytes(4).toString('hex');
  process.stderr.write(`transferkit ui: error ${id} on ${request}: ${err.stack ?? err.message}\n`);
  return { status: 500, message: `internal error (id ${id}); the server's log has the detail` };
}
