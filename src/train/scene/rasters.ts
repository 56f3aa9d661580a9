// Training on multi-band GeoTIFF tiles: which bands, their scaling (statistics of the training split) and
// roles, decided once before training and stored with the model.
import path from 'node:path';
import { BAND_ADAPTATIONS, type BandAdaptation } from '../../applications/bands.js';
import type { BandSettings } from '../../data/batches.js';
import { type BandRole, BandStats, SENTINEL2_BANDS, SENTINEL2_RGB, parseBandScale, parseBands } from '../../data/bands.js';
import type { LabelledFile } from '../../data/folders.js';
import { RASTER_EXTENSIONS, openRaster } from '../../data/geotiff.js';
import { TransferkitError } from '../../errors.js';

export interface RasterOptions {
  /** `4,3,2`, `B04,B03,B02` or `all`: the raster bands to train on. */
  bands?: string;
  /** `minmax`, `percentile:2,98` (default) or `divide:10000`. */
  bandScale?: string;
  /** How an RGB-pretrained base takes the bands: `rgb` (three colour bands), `repeat-mean` or `random`. */
  bandAdaptation?: BandAdaptation;
}

export interface RasterPlan extends BandSettings {
  adaptation: BandAdaptation;
  names?: string[];
  /** Bands in the raster files. */
  available: number;
}

const isRaster = (file: string) => RASTER_EXTENSIONS.includes(path.extname(file).toLowerCase());

/**
 * The raster plan for a dataset, or null for photos. GeoTIFFs that are not 8-bit RGB need `bands`: the choice
 * is never made silently.
 */
export async function planRasters(files: LabelledFile[], train: LabelledFile[], o: RasterOptions, notice: (m: string) => void): Promise<RasterPlan | null> {
  const first = files.find((f) => isRaster(f.file));
  if (!first || (!o.bands && !files.every((f) => isRaster(f.file)))) {
    if (o.bands) throw new TransferkitError('--bands applies to GeoTIFF (.tif) datasets; these images are photos');
    return null;
  }
  const raster = await openRaster(first.file);
  const info = raster.info;
  await raster.close();
  if (!o.bands) {
    if (info.bands === 3 && info.dtype === 'uint8') return null;
    const hint =
      info.bands === 13
        ? '--bands 4,3,2 (Sentinel-2 red, green, blue) or --bands all --band-adaptation repeat-mean'
        : `--bands 1,2,3 or --bands all --band-adaptation repeat-mean`;
    throw new TransferkitError(`${first.file}: ${info.bands}-band ${info.dtype} GeoTIFF; choose the bands to train on: ${hint}`);
  }
  const indices = parseBands(o.bands, info.bands);
  const sentinel = info.bands === SENTINEL2_BANDS.length;
  const names = sentinel ? indices.map((i) => SENTINEL2_BANDS[i]) : undefined;
  const roles: BandRole[] = names ? names.map((n) => SENTINEL2_RGB.indexOf(n) as BandRole) : indices.map((_, k) => (k < 3 ? (k as BandRole) : -1));
  if (!sentinel && indices.length > 3)
    notice(
      `taking the first three chosen bands (${indices
        .slice(0, 3)
        .map((i) => i + 1)
        .join(', ')}) as red, green and blue`,
    );
  const adaptation = o.bandAdaptation ?? (indices.length === 3 ? 'rgb' : undefined);
  if (!adaptation || !BAND_ADAPTATIONS.includes(adaptation)) {
    throw new TransferkitError(
      `${indices.length} bands for an RGB-pretrained base: choose --band-adaptation ${BAND_ADAPTATIONS.join('|')} (rgb takes three bands; repeat-mean starts extra bands from the mean RGB kernel; random starts them random)`,
    );
  }
  const spec = parseBandScale(o.bandScale ?? 'percentile:2,98');
  const stats = new BandStats(indices.length);
  if (spec.mode !== 'divide') {
    // Statistics from the training split only, on up to 256 tiles.
    for (const f of train.slice(0, 256)) {
      try {
        const r = await openRaster(f.file);
        stats.add(await r.read([0, 0, r.info.width, r.info.height], indices));
        await r.close();
      } catch {
        // Unreadable tiles are reported when they are decoded for training.
      }
    }
  }
  return { indices, roles, scale: stats.scale(spec), adaptation, available: info.bands, ...(names ? { names } : {}) };
}
