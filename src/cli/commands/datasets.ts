import { existsSync } from 'node:fs';
import { DATASETS, type InstalledDataset, datasetFolder, datasetsDir, detectVariant, fetchDataset, findDataset, importDataset } from '../../data/datasets.js';
import { UsageError } from '../../errors.js';
import { textTable } from '../../report/tables.js';
import { command, printJson } from '../command.js';
import { text, withHelp } from '../flag.js';
import { json } from '../flags/output.js';

// Documented on the fetch subcommand's line.
const bands = text('bands', 'rgb|all', '');

function report(json: boolean | undefined, id: string, r: InstalledDataset & { variant: string; reference: string }): void {
  if (json) {
    printJson({ id, ...r });
    return;
  }
  if (r.note) process.stderr.write(`transferkit: ${r.note}\n`);
  process.stdout.write(`installed ${id} (${r.variant}): ${r.images} images in ${r.folder}\n`);
  const bands = r.variant === 'all' ? ' --bands 4,3,2' : '';
  process.stdout.write(`train on it: transferkit train ${r.folder} --base resnet50${bands} --input-size 64 --out runs/${id}\nreference: ${r.reference}\n`);
}

export const datasetsCommand = command({
  name: 'datasets',
  usage: 'list | fetch <id> [--bands rgb|all] | import <id> <archive.zip>',
  positionals: [1, 3],
  help: [
    `Datasets unpack into $TRANSFERKIT_HOME/datasets/<id>-<variant>/<class>/, ready for 'transferkit train'.

Subcommands:
  list                         the datasets, their archives and hashes, and which are installed
  fetch <id> [--bands rgb|all] download the archive (progress bar, md5 check; TRANSFERKIT_MIRROR honoured)
                               and unpack it; EuroSAT rgb is ~94 MB of JPEGs, all is ~2 GB of 13-band GeoTIFFs
  import <id> <archive.zip>    the same from a file (offline machines); the variant is read from the archive`,
    '',
    'Options:',
    withHelp(json, 'print the result as JSON'),
    '',
    'Example:',
    '  transferkit datasets import eurosat EuroSATallBands.zip',
  ],
  also: [bands],
  async run(values, [sub, id, file]) {
    if (sub === 'list') {
      const rows = DATASETS.map((d) => ({
        id: d.id,
        variant: d.variant,
        file: d.file,
        md5: d.md5,
        approxMB: Math.round(d.approxBytes / 1e6),
        installed: existsSync(datasetFolder(d)),
        url: d.url,
        description: d.description,
      }));
      if (values.json) return printJson({ folder: datasetsDir(), datasets: rows });
      process.stdout.write(`Folder: ${datasetsDir()}\n\n`);
      process.stdout.write(
        textTable(
          ['Id', 'Bands', 'Archive', 'Size', 'md5', 'Installed'],
          rows.map((r) => [r.id, r.variant, r.file, `${r.approxMB} MB`, r.md5 ?? '', r.installed ? 'yes' : '']),
          [false, false, false, true, false, false],
        ),
      );
      return;
    }
    if (sub === 'fetch') {
      if (!id) throw new UsageError('fetch needs a dataset id, e.g. transferkit datasets fetch eurosat');
      const entry = findDataset(id, values.bands ?? 'rgb');
      return report(values.json, id, { ...(await fetchDataset(entry)), variant: entry.variant, reference: entry.reference });
    }
    if (sub === 'import') {
      if (!id || !file) throw new UsageError('import needs a dataset id and an archive, e.g. transferkit datasets import eurosat EuroSAT.zip');
      const entry = await detectVariant(id, file);
      return report(values.json, id, { ...(await importDataset(entry, file)), variant: entry.variant, reference: entry.reference });
    }
    throw new UsageError(`unknown subcommand '${sub}'; use list, fetch or import`);
  },
});
