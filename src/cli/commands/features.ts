import path from 'node:path';
import { UsageError } from '../../errors.js';
import { formatOf, writeFeaturesFile } from '../../train/features/file.js';
import { mergeFeatureShards } from '../../train/features/merge.js';
import { type Command, printJson } from '../command.js';

export const featuresCommand: Command = {
  name: 'features',
  usage: 'merge <shard files…> --out all.parquet [--json]',
  positionals: [1, Infinity],
  options: { out: { type: 'string' }, json: { type: 'boolean' } },
  help: `
Subcommands:
  merge <shard files…>         merge the files of 'transferkit extract --shard K/N' into one table, in the order
                               an unsharded run writes. Refuses shards of different bases (digests), a shard
                               missing or given twice, and rows that do not match a shard's manifest, naming the
                               shard to re-run. Inputs and output may be .parquet, .arrow or .npy.

Options:
  --out FILE                   the merged file (.parquet, .arrow or .npy)
  --json                       print the summary as JSON

Example:
  transferkit features merge shards/features-*.parquet --out all.parquet`,
  async run(values, [sub, ...files]) {
    if (sub !== 'merge') throw new UsageError(`unknown subcommand '${sub}'; use merge`);
    const out = values.out as string | undefined;
    if (!out) throw new UsageError('--out FILE.parquet is required');
    if (!files.length) throw new UsageError('merge needs the shard files, e.g. transferkit features merge shards/f-*.parquet --out all.parquet');
    const format = formatOf(out);
    const start = performance.now();
    const table = await mergeFeatureShards(files);
    await writeFeaturesFile(out, format, table);
    const summary = {
      out: path.resolve(out),
      format,
      shards: files.length,
      rows: table.paths.length,
      skipped: table.meta.skipped.length,
      digest: table.meta.digest,
      seconds: (performance.now() - start) / 1000,
    };
    if (values.json) return printJson(summary);
    process.stdout.write(`merged ${files.length} shard(s): ${summary.rows} rows (${summary.skipped} skipped image(s)) into ${out}\n`);
  },
};
