// Classify images with a saved model (a folder written by `transferkit train --out` or by the other examples).
// Usage:
//   node dist/examples/predict.js MODEL_DIR IMAGE_OR_FOLDER...
import { listImageFiles, loadModel, scoreFiles } from 'transferkit';

const [dir, ...paths] = process.argv.slice(2);
if (!dir || !paths.length) {
  console.error('usage: predict MODEL_DIR IMAGE_OR_FOLDER...');
  process.exit(2);
}

const { model, metadata, onnxBase } = await loadModel(dir);
const classNames = metadata.classNames ?? [];
const { scored, skipped } = await scoreFiles(model, metadata, await listImageFiles(paths), { onnxBase });
for (const s of scored) {
  const label = s.label ?? 0;
  console.log(`${s.file}\t${classNames[label] ?? label}\t${s.probabilities[label].toFixed(3)}`);
}
if (skipped.length) console.log(`skipped ${skipped.length} file(s) that are not images`);
