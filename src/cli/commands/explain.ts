import { promises as fsp } from 'node:fs';
import { listImageFiles } from '../../data/folders.js';
import { UsageError } from '../../errors.js';
import { explainFiles } from '../../report/explain.js';
import { loadModel } from '../../train/saved/saved-model.js';
import { notForOnnxBase } from '../../train/model/onnx-base.js';
import { type Command, printJson } from '../command.js';

export const explainCommand: Command = {
  name: 'explain',
  usage: '<modelDir> <image|dir>... --out DIR [--layer NAME] [--class C] [--json]',
  positionals: [2, Infinity],
  options: { out: { type: 'string' }, layer: { type: 'string' }, class: { type: 'string' }, json: { type: 'boolean' } },
  help: `
Grad-CAM (Selvaraju et al., 2017): the gradient of the class score (before the final sigmoid/softmax) with
respect to a convolutional layer's activations, averaged over space, weights that layer's channels; the ReLU of
their sum shows where the evidence for the class lies. Images are read as the model reads them (its window for
DICOM, its bands for GeoTIFF). Per image: <name>.gradcam.png (the map over the image, jet colours) and
<name>.gradcam.npy (the raw map, float32, at the layer's resolution).

Options:
  --out DIR                    where the files go (created)
  --layer NAME                 the layer to explain (default: the base's last spatial layer, before pooling)
  --class C                    a class name or index (default: the predicted class of each image)
  --json                       print {explained: [{file, label, classIndex, layer, peak, png, npy}], skipped}

Example:
  transferkit explain runs/ct scans/case1.dcm --out heatmaps/`,
  async run(values, [dir, ...paths]) {
    const out = values.out as string | undefined;
    if (!out) throw new UsageError('--out DIR is required');
    const { model, metadata, onnxBase } = await loadModel(dir);
    if (onnxBase) throw notForOnnxBase('Grad-CAM (explain)');
    const names = metadata.classNames ?? [];
    const cls = values.class as string | undefined;
    const classIndex = cls === undefined ? undefined : names.includes(cls) ? names.indexOf(cls) : /^\d+$/.test(cls) ? Number(cls) : NaN;
    if (Number.isNaN(classIndex)) throw new UsageError(`--class ${cls}: not a class of the model (${names.join(', ')}) nor an index`);
    await fsp.mkdir(out, { recursive: true });
    const r = await explainFiles(model, metadata, await listImageFiles(paths), out, { layer: values.layer as string | undefined, classIndex });
    if (values.json) return printJson(r);
    for (const e of r.explained) process.stdout.write(`${e.file}: ${e.label} (${e.layer}) → ${e.png}\n`);
    if (r.skipped.length) process.stdout.write(`skipped ${r.skipped.length} file(s):\n${r.skipped.map((s) => `  ${s.file}: ${s.reason}\n`).join('')}`);
  },
};
