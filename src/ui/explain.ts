// "Try it" on the server: `POST /api/explain?model=<saved model>&name=<file name>` with the image's bytes as the
// body. The image is read as the model reads it (its DICOM window, its GeoTIFF bands), and the answer carries
// the prediction and the Grad-CAM overlay as a PNG data URL. The bytes go to a temp folder of this request's
// own, outside the root, removed when it is answered.
import { promises as fsp } from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { IMAGE_EXTENSIONS } from '../data/folders.js';
import { UndecodableImage, explainImage } from '../report/explain.js';
import { loadModel } from '../train/saved/saved-model.js';
import type { ExplainAnswer } from '../train/shapes.js';
import { HttpError } from './paths.js';
import { mb, receiveBody, tooLarge } from './upload.js';

/** What the page may send: the image as the browser typed it, or as plain bytes (DICOM has no image/ type). */
export const EXPLAIN_TYPES = ['application/octet-stream', 'application/dicom', 'image/png', 'image/jpeg', 'image/gif', 'image/bmp', 'image/webp', 'image/tiff'];

/** The temp folders' name prefix: per server process, so a test can see that its own are gone. */
export const explainTempPrefix = () => `transferkit-ui-try-${process.pid}-`;

export async function explainUpload(req: http.IncomingMessage, modelDir: string, name: string | null, maxBytes: number): Promise<ExplainAnswer> {
  // Only the extension of the client's name is used (it picks the decoder); none at all is read as DICOM if it is one.
  const ext = path.extname(name ?? '').toLowerCase();
  if (ext && !IMAGE_EXTENSIONS.includes(ext)) throw new HttpError(415, `name: ${ext} is not an image type the server reads (${IMAGE_EXTENSIONS.join(' ')})`);
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (declared > maxBytes) throw tooLarge(`image of ${mb(declared)} is larger than the limit of ${mb(maxBytes)}`);
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), explainTempPrefix()));
  try {
    const file = path.join(work, `image${ext}`);
    if ((await receiveBody(req, file, maxBytes, 'image')) === 0) throw new HttpError(400, 'the body is empty: send the image file');
    const { model, metadata } = await loadModel(modelDir);
    try {
      const e = await explainImage(model, metadata, file).catch((err: Error) => {
        if (err instanceof UndecodableImage) throw new HttpError(415, `image: ${err.message.split(file).join(name ?? 'the image')}`);
        throw err;
      });
      const names = metadata.classNames ?? [];
      const { data, height, width } = e.overlay;
      const png = await sharp(data, { raw: { width, height, channels: 3 } })
        .png()
        .toBuffer();
      return {
        label: e.label,
        classIndex: e.classIndex,
        layer: e.layer,
        peak: e.peak,
        predictions: e.probabilities
          .map((probability, i) => ({ label: names[i] ?? String(i), probability }))
          .sort((a, b) => b.probability - a.probability)
          .slice(0, 3),
        overlay: `data:image/png;base64,${png.toString('base64')}`,
        width,
        height,
      };
    } finally {
      model.dispose();
    }
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}
