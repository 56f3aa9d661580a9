// GeoTIFF rasters (single- or multi-band; 8/16-bit integers or floats) read window by window with the
// `geotiff` package, so a large scene never has to fit in memory.
import type { GeoTIFF, GeoTIFFImage } from 'geotiff';
import { TransferkitError } from '../errors.js';
import { boundedInflate, boundedLzw, checkTiff, checkTiffBytes } from './tiff-check.js';

export interface Georeference {
  /** Map coordinates of the top-left corner. */
  origin: [number, number];
  /** Map units per pixel, x and y (y negative for north-up rasters). */
  resolution: [number, number];
  /** EPSG code of the coordinate system, when the file names one. */
  epsg?: number;
}

export interface RasterInfo {
  width: number;
  height: number;
  bands: number;
  /** e.g. 'uint16', 'float32'. */
  dtype: string;
  geo?: Georeference;
}

export interface Raster {
  info: RasterInfo;
  /** Pixels of the window [x, y, width, height] for the 0-based `bands`, as float32, channels last. */
  read(window: [number, number, number, number], bands: number[]): Promise<Float32Array>;
  close(): Promise<void>;
}

const DTYPES: Record<string, string> = {
  '1:8': 'uint8',
  '1:16': 'uint16',
  '1:32': 'uint32',
  '2:8': 'int8',
  '2:16': 'int16',
  '2:32': 'int32',
  '3:32': 'float32',
  '3:64': 'float64',
};

function georeference(image: GeoTIFFImage): Georeference | undefined {
  try {
    const origin = image.getOrigin();
    const resolution = image.getResolution();
    const keys = (image.getGeoKeys() ?? {}) as Record<string, number>;
    const epsg = keys.ProjectedCSTypeGeoKey ?? keys.GeographicTypeGeoKey;
    return { origin: [origin[0], origin[1]], resolution: [resolution[0], resolution[1]], ...(epsg && epsg !== 32767 ? { epsg } : {}) };
  } catch {
    return undefined;
  }
}

type GeotiffModule = typeof import('geotiff');
let geotiff: Promise<GeotiffModule> | undefined;

/**
 * The `geotiff` package, imported on first use (photos-only commands never load it), with its deflate decoder
 * and LZW decoders replaced by ones that stop at the bytes a strip or tile can hold (the package's own decode
 * whatever the stream says, gigabytes from a small file).
 */
function geotiffModule(): Promise<GeotiffModule> {
  geotiff ??= import('geotiff').then((lib) => {
    /** The bytes one block can hold (every band's bits: an upper bound for planar files too). */
    const blockBytes = ({ tileWidth, tileHeight, bitsPerSample }: { tileWidth: number; tileHeight: number; bitsPerSample: unknown }) => {
      const bits = typeof bitsPerSample === 'number' ? [bitsPerSample] : Array.from(bitsPerSample as ArrayLike<number>);
      return Math.ceil((tileWidth * tileHeight * bits.reduce((a, b) => a + b, 0)) / 8);
    };
    class BoundedDeflate extends lib.BaseDecoder {
      decodeBlock(buffer: ArrayBufferLike): ArrayBufferLike {
        return boundedInflate(buffer, blockBytes(this.parameters));
      }
    }
    class BoundedLzw extends lib.BaseDecoder {
      decodeBlock(buffer: ArrayBufferLike): ArrayBufferLike {
        return boundedLzw(buffer, blockBytes(this.parameters));
      }
    }
    lib.addDecoder([8, 32946], async () => BoundedDeflate, undefined, false);
    lib.addDecoder(5, async () => BoundedLzw, undefined, false);
    return lib;
  });
  return geotiff;
}

/** Opens a GeoTIFF; a file that is not one, or whose structure is damaged, is a clear error naming it. */
export const openRaster = (file: string): Promise<Raster> =>
  rasterOf(file, async (lib) => {
    checkTiff(file);
    return lib.fromFile(file);
  });

/** A GeoTIFF's bytes in memory (a file picked in a page; `name` names it in errors), read as `openRaster` reads a file. */
export const rasterFromBytes = (bytes: Uint8Array, name: string): Promise<Raster> =>
  rasterOf(name, async (lib) => {
    checkTiffBytes(bytes);
    return lib.fromArrayBuffer(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  });

async function rasterOf(file: string, open: (lib: GeotiffModule) => Promise<GeoTIFF>): Promise<Raster> {
  let tiff: GeoTIFF;
  let image: GeoTIFFImage;
  try {
    tiff = await open(await geotiffModule());
    image = await tiff.getImage();
  } catch (err) {
    if (err instanceof TransferkitError) throw new TransferkitError(`${file}: ${err.message}`);
    throw new TransferkitError(`${file}: not a readable GeoTIFF (${(err as Error).message.split('\n')[0]})`);
  }
  const format = (image.getSampleFormat(0) as number | undefined) ?? 1;
  const info: RasterInfo = {
    width: image.getWidth(),
    height: image.getHeight(),
    bands: image.getSamplesPerPixel(),
    dtype: DTYPES[`${format}:${image.getBitsPerSample(0)}`] ?? `format ${format}, ${image.getBitsPerSample(0)} bits`,
    geo: georeference(image),
  };
  return {
    info,
    async read([x, y, w, h], bands) {
      const bad = bands.find((b) => b < 0 || b >= info.bands);
      if (bad !== undefined) throw new TransferkitError(`${file}: band ${bad + 1} asked for, the raster has ${info.bands}`);
      try {
        const data = (await image.readRasters({ window: [x, y, x + w, y + h], samples: bands, interleave: true })) as unknown as ArrayLike<number>;
        return Float32Array.from(data);
      } catch (err) {
        throw new TransferkitError(`${file}: cannot read pixels (${(err as Error).message.split('\n')[0]})`);
      }
    },
    async close() {
      tiff.close();
    },
  };
}
