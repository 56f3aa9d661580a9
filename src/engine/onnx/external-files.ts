// An ONNX model's files in Node: its bytes, and the external data files beside it (every path confined to the
// model's folder). The browser build swaps this module for src/browser/twins/external-files.ts.
import { readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { TransferkitError } from '../../errors.js';
import type { ExternalData } from './decode-tensor.js';
import { ProtoError } from './protobuf.js';

/** The bytes of an ONNX file; an unreadable one is an error naming it. */
export function readModelBytes(file: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(file));
  } catch (err) {
    throw new TransferkitError(`${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** External data read from the folder of `file`, each data file opened once. */
export function externalFiles(file: string): ExternalData {
  const dir = path.dirname(path.resolve(file));
  const cache = new Map<string, Uint8Array>();
  return {
    read(location, name) {
      const root = realpathSync(dir);
      const target = path.resolve(root, location);
      const rel = path.relative(root, target);
      if (path.isAbsolute(location) || rel.startsWith('..') || path.isAbsolute(rel))
        throw new ProtoError(`tensor ${name}: external data location '${location}' is outside the model's folder; only files beside the model are read`);
      let data = cache.get(target);
      if (!data) {
        let real: string;
        try {
          real = realpathSync(target);
        } catch {
          throw new ProtoError(`tensor ${name}: its external data file ${location} is missing beside the model`);
        }
        if (path.relative(root, real).startsWith('..')) throw new ProtoError(`tensor ${name}: external data '${location}' links outside the model's folder`);
        if (!statSync(real).isFile()) throw new ProtoError(`tensor ${name}: external data '${location}' is not a file`);
        data = new Uint8Array(readFileSync(real));
        cache.set(target, data);
      }
      return data;
    },
  };
}
