import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { getApplication } from '../../applications/index.js';
import { UsageError } from '../../errors.js';
import { textTable } from '../../report/tables.js';
import { selectWeights } from '../../weights/apply.js';
import { cachePath, ensureCached, weightsDir } from '../../weights/cache.js';
import { importWeights, verifyWeights, weightsRegistry } from '../../bases/weights-files.js';
import { baseRegistry, findBase } from '../../bases/registry.js';
import { type BackboneResult, backboneDir, fetchBackbone, importBackbone } from '../../weights/onnx-backbones.js';
import { command, printJson } from '../command.js';
import { type ValuesOf, int, text, withHelp } from '../flag.js';
import { alpha, noTop } from '../flags/model.js';
import { json } from '../flags/output.js';

const OPTIONS = [
  withHelp(alpha, 'MobileNet width (0.25, 0.5, 0.75, 1.0)'),
  int('size', 'N', 'MobileNet input size of the weights (128, 160, 192, 224)'),
  withHelp(noTop, 'the file without the classifier'),
  withHelp(json, 'print the result as JSON'),
] as const;
// Documented on the import subcommand's line.
const as = text('as', 'ID', '');
type Values = ValuesOf<(typeof OPTIONS)[number] | typeof as>;

function list(values: Values): void {
  const rows = weightsRegistry().map((e) => ({
    model: e.model,
    variant: Object.entries(e.variant ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(' '),
    includeTop: e.includeTop,
    file: e.file,
    hash: e.md5 ? `md5 ${e.md5}` : e.sha256 ? `sha256 ${e.sha256.slice(0, 16)}…` : 'none published',
    cached: existsSync(cachePath(e)),
    url: e.url,
  }));
  const backbones = baseRegistry().flatMap((e) =>
    e.kind === 'onnx'
      ? [
          {
            id: e.id,
            name: e.backbone.name,
            repo: e.backbone.repo,
            features: e.backbone.features,
            cached: existsSync(path.join(backboneDir(e.backbone), 'onnx', 'model.onnx')),
            urls: e.weights,
          },
        ]
      : [],
  );
  if (values.json) {
    printJson({ cache: weightsDir(), files: rows, onnx: backbones });
    return;
  }
  process.stdout.write(`Cache: ${weightsDir()}\n\n`);
  process.stdout.write(
    textTable(
      ['Model', 'Variant', 'Top', 'File', 'Hash', 'Cached'],
      rows.map((r) => [r.model, r.variant, r.includeTop ? 'yes' : 'no', r.file, r.hash, r.cached ? 'yes' : '']),
      [false, false, false, false, false, false],
    ),
  );
  process.stdout.write('\nONNX backbones (Transformers.js folders on huggingface.co; sha256 pinned at first download):\n\n');
  process.stdout.write(
    textTable(
      ['Id', 'Model', 'Repository', 'Features', 'Cached'],
      backbones.map((b) => [b.id, b.name, b.repo, b.features, b.cached ? 'yes' : '']),
      [false, false, false, false, false],
    ),
  );
}

function reportBackbone(values: Values, r: BackboneResult, verb: string): void {
  for (const n of r.notes) process.stderr.write(`transferkit: ${n}\n`);
  if (values.json) {
    printJson({ id: r.backbone.id, path: r.dir, files: r.files });
    return;
  }
  process.stdout.write(`${verb} ${r.backbone.id} (${r.backbone.name}) into ${r.dir}: ${r.files.map((f) => `${f.file} ${f.bytes} bytes`).join(', ')}\n`);
}

async function fetch(values: Values, id: string | undefined): Promise<void> {
  if (!id) throw new UsageError('missing model: transferkit weights fetch <model> [--alpha A] [--size N] [--no-top]');
  const named = findBase(id);
  if (named?.kind === 'onnx') return reportBackbone(values, await fetchBackbone(named.backbone), 'fetched');
  const spec = getApplication(id).spec;
  const variant: Record<string, number> = spec.id === 'mobilenet' ? { alpha: values.alpha ?? 1.0, size: values.size ?? 224 } : {};
  const entry = selectWeights(spec.weights, !values['no-top'], variant);
  if (!entry) throw new UsageError(`Keras publishes no such weights for ${spec.name}; see 'transferkit weights list'`);
  const file = await ensureCached(entry);
  if (values.json) printJson({ file: entry.file, path: file });
  else process.stdout.write(`${entry.file} is in the cache: ${file}\n`);
}

async function importCmd(values: Values, file: string | undefined): Promise<void> {
  if (!file) throw new UsageError('missing file: transferkit weights import <file>');
  if (values.as !== undefined || (existsSync(file) && statSync(file).isDirectory()))
    return reportBackbone(values, await importBackbone(file, values.as), 'imported');
  const r = await importWeights(file);
  if (r.note) process.stderr.write(`transferkit: ${r.note}\n`);
  if (values.json) printJson({ file: r.entry.file, path: r.path, md5: r.hashes.md5, sha256: r.hashes.sha256, bytes: r.hashes.bytes });
  else process.stdout.write(`imported ${r.entry.file} (${r.hashes.bytes} bytes, hash checked) into ${r.path}\n`);
}

async function verify(values: Values): Promise<void> {
  const rows = await verifyWeights();
  if (values.json) printJson(rows);
  else if (rows.length === 0) process.stdout.write(`no weights cached in ${weightsDir()}\n`);
  else
    process.stdout.write(
      textTable(
        ['File', 'Status', 'Detail'],
        rows.map((r) => [r.file, r.status, r.detail ?? '']),
        [false, false, false],
      ),
    );
  if (rows.some((r) => r.status === 'mismatch')) process.exitCode = 1;
}

export const weightsCommand = command({
  name: 'weights',
  usage: 'list | fetch <model> | import <file> | verify [options]',
  positionals: [1, 2],
  help: [
    `Subcommands:
  list                  the published files per model, their hashes, and which are cached
  fetch <model>         download a model's file into the cache (hash-checked); an ONNX backbone id (vit_b16,
                        dinov2_s, …) fetches its folder, pinning each file's sha256 at first download
  import <file>         put a file downloaded elsewhere into the cache (recognised by name, hash-checked)
  import <folder> [--as ID]   an ONNX backbone's Transformers.js folder (onnx/model.onnx, config.json,
                        preprocessor_config.json), recognised by --as or the folder's name
  verify                re-hash every cached file; exit 1 on a mismatch`,
    '',
    'Options:',
    24,
    ...OPTIONS,
    '',
    `The cache is $TRANSFERKIT_HOME/weights (default ~/.transferkit/weights).
Offline: download e.g. mobilenet_2_5_224_tf_no_top.h5 on another machine, then
  transferkit weights import mobilenet_2_5_224_tf_no_top.h5`,
  ],
  also: [as],
  async run(values, [sub, arg]) {
    switch (sub) {
      case 'list':
        return list(values);
      case 'fetch':
        return fetch(values, arg);
      case 'import':
        return importCmd(values, arg);
      case 'verify':
        return verify(values);
      default:
        throw new UsageError(`unknown weights subcommand '${sub}': use list, fetch, import or verify`);
    }
  },
});
