// A trained tile classifier slid over a large GeoTIFF scene, one row of tiles at a time: memory holds a strip
// of the scene and a batch, never the scene.
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { scaleBands } from '../../data/bands.js';
import { type Georeference, type RasterInfo, openRaster } from '../../data/geotiff.js';
import { resizeBilinear } from '../../data/resize.js';
import { shardRows } from '../../data/shards.js';
import { type EngineName, createPredictor } from '../../engine/predictor.js';
import { TransferkitError } from '../../errors.js';
import { type ModelMetadata, sourceOf } from '../saved/saved-model.js';

export interface SceneMapOptions {
  /** Tile size in scene pixels (default 64); tiles are resized to the model's input. */
  tile?: number;
  /** Step between tiles (default: the tile size). */
  stride?: number;
  batchSize?: number;
  engine?: EngineName;
  /** Only this shard's block of tile rows (an array job's task); default all. */
  shard?: { index: number; count: number };
  onProgress?(done: number, total: number): void;
}

export interface SceneMap {
  scene: RasterInfo;
  /** The scene's file name (no folder). */
  sceneFile: string;
  tile: number;
  stride: number;
  cols: number;
  /** Tile rows held here: rows firstRow … firstRow + rows - 1 of the scene's sceneRows. */
  rows: number;
  firstRow: number;
  sceneRows: number;
  classNames: string[];
  /** Class index per tile, row by row. */
  classes: Int32Array;
  /** The winning class's probability per tile. */
  probability: Float32Array;
  geo?: Georeference;
}

/** Classifies every tile of `sceneFile` with a saved model (trained on GeoTIFF bands, or on RGB photos). */
export async function mapScene(model: tfl.LayersModel, meta: ModelMetadata, sceneFile: string, o: SceneMapOptions = {}): Promise<SceneMap> {
  const tile = o.tile ?? 64;
  const stride = o.stride ?? tile;
  if (!(Number.isInteger(tile) && tile > 0 && Number.isInteger(stride) && stride > 0))
    throw new TransferkitError(`tile and stride must be positive integers; got ${tile} and ${stride}`);
  const classNames = meta.classNames ?? [];
  if (meta.task === 'regression' || classNames.length < 2) throw new TransferkitError('map needs a classifier (a model trained on class folders)');
  const raster = await openRaster(sceneFile);
  const { info } = raster;
  const bands = meta.bands;
  if (bands) {
    const need = Math.max(...bands.indices) + 1;
    if (info.bands < need)
      throw new TransferkitError(`${sceneFile}: ${info.bands} band(s), the model reads band ${need}; map a scene with the bands it was trained on`);
  } else if (info.bands !== 3 || info.dtype !== 'uint8') {
    await raster.close();
    throw new TransferkitError(`${sceneFile}: ${info.bands}-band ${info.dtype}; this model was trained on RGB photos and maps 3-band 8-bit scenes only`);
  }
  if (info.width < tile || info.height < tile) {
    await raster.close();
    throw new TransferkitError(`${sceneFile}: ${info.width}x${info.height} is smaller than one ${tile}x${tile} tile`);
  }
  const [height, width] = meta.inputShape;
  const indices = bands ? bands.indices : [0, 1, 2];
  const c = indices.length;
  const cols = Math.floor((info.width - tile) / stride) + 1;
  const sceneRows = Math.floor((info.height - tile) / stride) + 1;
  const { start: first, end } = o.shard ? shardRows(sceneRows, o.shard) : { start: 0, end: sceneRows };
  const rows = end - first;
  const classes = new Int32Array(cols * rows);
  const probability = new Float32Array(cols * rows);
  const batch = o.batchSize ?? 64;
  const predictor = await createPredictor(model, { engine: o.engine, batchSize: batch });
  // The model's own preprocessing (photos, or its bands' roles); scaling comes first, per strip, here.
  const source = sourceOf(meta);
  const pixels = height * width * c;
  try {
    for (let r = 0; r < rows; r++) {
      const strip = await raster.read([0, (first + r) * stride, info.width, tile], indices);
      for (let start = 0; start < cols; start += batch) {
        const n = Math.min(batch, cols - start);
        const x = new Float32Array(n * pixels);
        for (let k = 0; k < n; k++) {
          const x0 = (start + k) * stride;
          const t = new Float32Array(tile * tile * c);
          for (let y = 0; y < tile; y++) t.set(strip.subarray((y * info.width + x0) * c, (y * info.width + x0 + tile) * c), y * tile * c);
          x.set(resizeBilinear(t, tile, tile, c, height, width), k * pixels);
        }
        source.preprocess(bands ? scaleBands(x, c, bands.scale) : x);
        const y = await predictor.predict(x, n);
        const k = y.length / n;
        for (let i = 0; i < n; i++) {
          const row = k === 1 ? [1 - y[i], y[i]] : Array.from(y.subarray(i * k, (i + 1) * k));
          const best = row.indexOf(Math.max(...row));
          classes[r * cols + start + i] = best;
          probability[r * cols + start + i] = row[best];
        }
      }
      o.onProgress?.((r + 1) * cols, rows * cols);
    }
  } finally {
    await predictor.dispose();
    await raster.close();
  }
  return {
    scene: info,
    sceneFile: path.basename(sceneFile),
    tile,
    stride,
    cols,
    rows,
    firstRow: first,
    sceneRows,
    classNames,
    classes,
    probability,
    ...(info.geo ? { geo: info.geo } : {}),
  };
}
