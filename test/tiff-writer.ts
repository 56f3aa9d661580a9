// A small GeoTIFF writer for test fixtures: uncompressed, chunky, uint8/uint16/float32, any band count,
// written strip by strip (a large scene never sits in memory), with optional georeferencing.
import { closeSync, openSync, writeSync } from 'node:fs';

export interface TiffSpec {
  width: number;
  height: number;
  bands: number;
  dtype: 'uint8' | 'uint16' | 'float32';
  /** Value of band b at (x, y). */
  pixel(x: number, y: number, band: number): number;
  /** Top-left map coordinates, pixel size and EPSG code. */
  geo?: { origin: [number, number]; pixelSize: [number, number]; epsg: number };
}

const BYTES = { uint8: 1, uint16: 2, float32: 4 };

export function writeGeoTiff(file: string, t: TiffSpec): void {
  const bps = BYTES[t.dtype];
  const rowBytes = t.width * t.bands * bps;
  const rowsPerStrip = Math.max(1, Math.floor(65536 / rowBytes));
  const strips = Math.ceil(t.height / rowsPerStrip);
  const fd = openSync(file, 'w');
  try {
    const header = Buffer.alloc(8);
    header.write('II', 0, 'latin1');
    header.writeUInt16LE(42, 2);
    const dataBytes = rowBytes * t.height;
    const ifdAt = 8 + dataBytes + (dataBytes % 2);
    header.writeUInt32LE(ifdAt, 4);
    writeSync(fd, header);
    const row = Buffer.alloc(rowBytes);
    for (let y = 0; y < t.height; y++) {
      for (let x = 0; x < t.width; x++) {
        for (let b = 0; b < t.bands; b++) {
          const v = t.pixel(x, y, b);
          const at = (x * t.bands + b) * bps;
          if (t.dtype === 'uint8') row.writeUInt8(Math.max(0, Math.min(255, Math.round(v))), at);
          else if (t.dtype === 'uint16') row.writeUInt16LE(Math.max(0, Math.min(65535, Math.round(v))), at);
          else row.writeFloatLE(v, at);
        }
      }
      writeSync(fd, row);
    }
    if (dataBytes % 2) writeSync(fd, Buffer.alloc(1));
    // Tags: [tag, type (3 short, 4 long, 12 double), values].
    const offsets = Array.from({ length: strips }, (_, i) => 8 + i * rowsPerStrip * rowBytes);
    const counts = Array.from({ length: strips }, (_, i) => Math.min(rowsPerStrip, t.height - i * rowsPerStrip) * rowBytes);
    const tags: Array<[number, 3 | 4 | 12, number[]]> = [
      [256, 4, [t.width]],
      [257, 4, [t.height]],
      [258, 3, Array(t.bands).fill(bps * 8)],
      [259, 3, [1]],
      [262, 3, [t.bands === 3 && t.dtype === 'uint8' ? 2 : 1]],
      [273, 4, offsets],
      [277, 3, [t.bands]],
      [278, 4, [rowsPerStrip]],
      [279, 4, counts],
      [284, 3, [1]],
      [339, 3, Array(t.bands).fill(t.dtype === 'float32' ? 3 : 1)],
    ];
    if (t.geo) {
      tags.push([33550, 12, [t.geo.pixelSize[0], t.geo.pixelSize[1], 0]]);
      tags.push([33922, 12, [0, 0, 0, t.geo.origin[0], t.geo.origin[1], 0]]);
      tags.push([34735, 3, [1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, t.geo.epsg]]);
    }
    const size = { 3: 2, 4: 4, 12: 8 };
    const ifdBytes = 2 + tags.length * 12 + 4;
    let extraAt = ifdAt + ifdBytes;
    const ifd = Buffer.alloc(ifdBytes);
    const extras: Buffer[] = [];
    ifd.writeUInt16LE(tags.length, 0);
    tags.forEach(([tag, type, values], i) => {
      const e = 2 + i * 12;
      ifd.writeUInt16LE(tag, e);
      ifd.writeUInt16LE(type, e + 2);
      ifd.writeUInt32LE(values.length, e + 4);
      const bytes = Buffer.alloc(values.length * size[type]);
      values.forEach((v, k) => (type === 3 ? bytes.writeUInt16LE(v, k * 2) : type === 4 ? bytes.writeUInt32LE(v, k * 4) : bytes.writeDoubleLE(v, k * 8)));
      if (bytes.length <= 4) bytes.copy(ifd, e + 8);
      else {
        ifd.writeUInt32LE(extraAt, e + 8);
        extras.push(bytes);
        extraAt += bytes.length;
      }
    });
    writeSync(fd, ifd);
    for (const b of extras) writeSync(fd, b);
  } finally {
    closeSync(fd);
  }
}
