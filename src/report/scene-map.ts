// A scene map as a picture (one colour per class, with a legend) and as GeoJSON polygons in the scene's
// coordinate system.
import sharp from 'sharp';
import type { SceneMap } from '../train/scene/scene-map.js';
import { writeFileAtomic } from '../util/fs.js';
import { esc } from './charts.js';

/** Which part of which mapping a GeoJSON piece is. */
export interface ScenePiece {
  shard: { index: number; count: number };
  /** The model's digest: pieces of different models do not stitch. */
  model: string;
}

export interface PieceRecord extends ScenePiece {
  format: 'transferkit-map-piece';
  scene: { file: string; width: number; height: number; bands: number };
  tile: number;
  stride: number;
  cols: number;
  sceneRows: number;
  firstRow: number;
  rows: number;
  classNames: string[];
  geo?: SceneMap['geo'];
}

function pieceRecord(map: SceneMap, piece: ScenePiece): PieceRecord {
  const { file, width, height, bands } = { ...map.scene, file: map.sceneFile };
  return {
    format: 'transferkit-map-piece',
    ...piece,
    scene: { file, width, height, bands },
    tile: map.tile,
    stride: map.stride,
    cols: map.cols,
    sceneRows: map.sceneRows,
    firstRow: map.firstRow,
    rows: map.rows,
    classNames: map.classNames,
    ...(map.geo ? { geo: map.geo } : {}),
  };
}

/** Distinct colours (Tableau 10, then more); classes beyond them cycle. */
export const CLASS_COLOURS = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
  '#1b9e77',
  '#d95f02',
  '#7570b3',
];

const rgbOf = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

/** The class map: each tile a block of its class's colour (scaled to about 1,000 px), a legend at the right. */
export async function writeSceneMapPng(map: SceneMap, file: string): Promise<void> {
  const cell = Math.max(1, Math.floor(1000 / Math.max(map.cols, map.rows)));
  const [w, h] = [map.cols * cell, map.rows * cell];
  const px = Buffer.alloc(w * h * 3);
  for (let r = 0; r < map.rows; r++) {
    for (let c = 0; c < map.cols; c++) {
      const [R, G, B] = rgbOf(CLASS_COLOURS[map.classes[r * map.cols + c] % CLASS_COLOURS.length]);
      for (let y = r * cell; y < (r + 1) * cell; y++) {
        for (let x = c * cell; x < (c + 1) * cell; x++) px.set([R, G, B], (y * w + x) * 3);
      }
    }
  }
  const counts = map.classNames.map((_, k) => map.classes.reduce((n, v) => n + (v === k ? 1 : 0), 0));
  const legendW = 40 + 8 * Math.max(...map.classNames.map((n) => n.length + 8));
  const legendH = Math.max(h, 30 + 22 * map.classNames.length);
  const legend = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${legendW}" height="${legendH}" font-family="DejaVu Sans, Arial, sans-serif" font-size="13">`,
    `<rect width="${legendW}" height="${legendH}" fill="white"/>`,
    ...map.classNames.flatMap((name, k) => [
      `<rect x="12" y="${14 + k * 22}" width="14" height="14" fill="${CLASS_COLOURS[k % CLASS_COLOURS.length]}"/>`,
      `<text x="32" y="${26 + k * 22}">${esc(name)} (${counts[k]})</text>`,
    ]),
    '</svg>',
  ].join('');
  const png = await sharp({ create: { width: w + legendW, height: legendH, channels: 3, background: 'white' } })
    .composite([
      { input: px, raw: { width: w, height: h, channels: 3 }, left: 0, top: 0 },
      { input: Buffer.from(legend), left: w, top: 0 },
    ])
    .png()
    .toBuffer();
  await writeFileAtomic(file, png);
}

/** One polygon per tile, in the scene's map coordinates (pixel coordinates when it has no georeferencing). */
export async function writeSceneGeoJson(map: SceneMap, file: string, piece?: ScenePiece): Promise<void> {
  const [ox, oy] = map.geo?.origin ?? [0, 0];
  const [rx, ry] = map.geo?.resolution ?? [1, 1];
  const features = [];
  for (let r = 0; r < map.rows; r++) {
    for (let c = 0; c < map.cols; c++) {
      const x0 = ox + c * map.stride * rx;
      const y0 = oy + (map.firstRow + r) * map.stride * ry;
      const x1 = x0 + map.tile * rx;
      const y1 = y0 + map.tile * ry;
      const k = map.classes[r * map.cols + c];
      features.push({
        type: 'Feature',
        geometry: {
          type: 'Polygon',
          coordinates: [
            [
              [x0, y0],
              [x1, y0],
              [x1, y1],
              [x0, y1],
              [x0, y0],
            ],
          ],
        },
        properties: {
          class: map.classNames[k],
          classIndex: k,
          probability: Number(map.probability[r * map.cols + c].toFixed(4)),
          row: map.firstRow + r,
          col: c,
        },
      });
    }
  }
  const crs = map.geo?.epsg ? { crs: { type: 'name', properties: { name: `urn:ogc:def:crs:EPSG::${map.geo.epsg}` } } } : {};
  // A shard's piece carries what `map merge` needs to check and stitch it (a foreign member, which readers ignore).
  const member = piece ? { transferkit: pieceRecord(map, piece) } : {};
  await writeFileAtomic(file, JSON.stringify({ type: 'FeatureCollection', ...crs, ...member, features }));
}
