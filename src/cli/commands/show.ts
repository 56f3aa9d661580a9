import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { listImageFiles } from '../../data/folders.js';
import { modelView, readRawPixels, writeNpy, writePng } from '../../data/inspect.js';
import { UsageError } from '../../errors.js';
import { command, printJson } from '../command.js';
import { toggle, withHelp } from '../flag.js';
import { inputSize } from '../flags/base.js';
import { DICOM, dicomFrom } from '../flags/dicom.js';
import { json, out } from '../flags/output.js';

export const showCommand = command({
  name: 'show',
  usage: '<image|dir>... --out DIR [--input-size N] [--window W] [--frame N] [--raw] [--json]',
  positionals: [1, Infinity],
  help: [
    `Writes, for each image, what a model sees: decoded, windowed (DICOM), resized, as a PNG (<name>.png), before
the base's own preprocessing. Photos, DICOM and GeoTIFF tiles alike; unreadable files are skipped and counted.`,
    '',
    'Options:',
    withHelp(out, 'where the pictures go (created)'),
    withHelp(inputSize, "the model's input size (default 224)"),
    toggle(
      'raw',
      `also <name>.npy: the decoded values at the image's own size, float32 H×W or H×W×C
(DICOM after RescaleSlope/Intercept and before the window; GeoTIFF bands as stored)`,
    ),
    ...DICOM,
    withHelp(json, 'print {written: [{file, png, npy}], skipped: [{file, reason}]}'),
    '',
    'Example:',
    '  transferkit show scans/ct1.dcm --window lung --input-size 224 --raw --out view/',
  ],
  async run(values, paths) {
    const { out } = values;
    if (!out) throw new UsageError('--out DIR is required');
    const size = values['input-size'] ?? 224;
    const dicom = dicomFrom(values);
    await fsp.mkdir(out, { recursive: true });
    const written: Array<{ file: string; png: string; npy?: string }> = [];
    const skipped: Array<{ file: string; reason: string }> = [];
    for (const file of await listImageFiles(paths)) {
      const name = path.join(out, path.basename(file).replace(/\.[^.]*$/, '') || path.basename(file));
      try {
        const png = `${name}.png`;
        await writePng(png, await modelView(file, size, dicom));
        const npy = values.raw ? `${name}.npy` : undefined;
        if (npy) await writeNpy(npy, await readRawPixels(file, dicom?.frame ?? 0));
        written.push({ file, png, ...(npy ? { npy } : {}) });
      } catch (err) {
        skipped.push({ file, reason: (err as Error).message.split('\n')[0] });
      }
    }
    if (values.json) return printJson({ written, skipped });
    for (const w of written) process.stdout.write(`${w.file} → ${w.png}${w.npy ? `, ${w.npy}` : ''}\n`);
    if (skipped.length) process.stdout.write(`skipped ${skipped.length} file(s):\n${skipped.map((s) => `  ${s.file}: ${s.reason}\n`).join('')}`);
  },
});
