import path from 'node:path';
import { UsageError } from '../../errors.js';
import { ProgressBar } from '../../util/progress.js';
import { describeShard, resolveShard, shardFileName } from '../../data/shards.js';
import { mergeScenePieces } from '../../report/scene-merge.js';
import { writeSceneGeoJson, writeSceneMapPng } from '../../report/scene-map.js';
import { modelDigest } from '../../train/features/store.js';
import { loadModel } from '../../train/saved/saved-model.js';
import { notForOnnxBase } from '../../train/model/onnx-base.js';
import { mapScene } from '../../train/scene/scene-map.js';
import { type Command, type Values, numberOption, printJson } from '../command.js';
import { ENGINE_HELP, ENGINE_OPTIONS, engineFrom } from '../model-options.js';

export const mapCommand: Command = {
  name: 'map',
  usage:
    '<modelDir> <scene.tif> --out map.png [--tile 64] [--stride 64] [--geojson FILE] [--shard K/N] [--json]  |  merge <pieces.geojson…> --out map.png [--geojson FILE]',
  positionals: [2, Infinity],
  options: {
    out: { type: 'string' },
    tile: { type: 'string' },
    stride: { type: 'string' },
    geojson: { type: 'string' },
    shard: { type: 'string' },
    shards: { type: 'string' },
    ...ENGINE_OPTIONS,
    json: { type: 'boolean' },
  },
  help: `
The scene is read one row of tiles at a time, so its size is not limited by memory. Bands and their scaling
come from the model (transferkit.json); each tile is resized to the model's input.

Options:
  --out FILE.png               the class map
  --tile N                     tile size in scene pixels (default 64)
  --stride N                   step between tiles (default: the tile size)
  --geojson FILE               one polygon per tile with its class and probability, in the scene's coordinates
  --shard K/N                  map only shard K (0-based) of N: a block of tile rows. Writes map-0000K-of-0000N.png
                               and the GeoJSON piece map-0000K-of-0000N.geojson (or --geojson's name, suffixed),
                               which 'transferkit map merge' stitches. Without the flag, K/N come from an array
                               job's environment as for extract (--shards N where it gives only the index)${ENGINE_HELP}
  --json                       print {cols, rows, counts, tilesPerSecond, peakRssMB, out, geojson}

Merge:
  transferkit map merge <pieces.geojson…> --out map.png [--geojson all.geojson]
                               one class map and one GeoJSON from the pieces; refuses pieces of other models or
                               flags, and names any shard missing

Examples:
  transferkit map runs/eurosat scene.tif --tile 64 --out map.png --geojson tiles.geojson
  transferkit map runs/eurosat scene.tif --shard 1/4 --out pieces/map.png
  transferkit map merge pieces/map-*.geojson --out map.png --geojson tiles.geojson`,
  async run(values, [dir, scene, ...more]) {
    const out = values.out as string | undefined;
    if (!out) throw new UsageError('--out map.png is required');
    if (dir === 'merge') return mergeMap(values, [scene, ...more], out);
    if (more.length) throw new UsageError(`unexpected argument '${more[0]}'`);
    const shard = resolveShard(
      values.shard as string | undefined,
      numberOption(values, 'shards', (n) => Number.isInteger(n) && n > 0, 'a positive integer'),
    );
    if (shard) process.stderr.write(`transferkit: ${describeShard(shard)}\n`);
    const int = (name: string) => numberOption(values, name, (n) => Number.isInteger(n) && n > 0, 'a positive integer');
    const { model, metadata, onnxBase } = await loadModel(dir);
    if (onnxBase) throw notForOnnxBase('map');
    let bar: ProgressBar | undefined;
    let seen = 0;
    const start = performance.now();
    const map = await mapScene(model, metadata, scene, {
      tile: int('tile'),
      stride: int('stride'),
      engine: engineFrom(values),
      ...(shard ? { shard } : {}),
      onProgress: (done, total) => {
        bar ??= new ProgressBar({ label: `Mapping ${path.basename(scene)} (tiles)`, total });
        bar.tick(done - seen);
        seen = done;
        if (done >= total) bar.finish();
      },
    });
    const seconds = (performance.now() - start) / 1000;
    const png = shard ? shardFileName(out, shard) : out;
    if (map.rows > 0) await writeSceneMapPng(map, png);
    const geojsonFlag = values.geojson as string | undefined;
    const geojson = shard ? shardFileName(geojsonFlag ?? out.replace(/\.png$/i, '') + '.geojson', shard) : geojsonFlag;
    if (geojson) await writeSceneGeoJson(map, geojson, shard ? { shard: { index: shard.index, count: shard.count }, model: modelDigest(model) } : undefined);
    const counts = Object.fromEntries(map.classNames.map((n, k) => [n, map.classes.reduce((s, v) => s + (v === k ? 1 : 0), 0)]));
    const summary = {
      cols: map.cols,
      rows: map.rows,
      counts,
      tilesPerSecond: (map.cols * map.rows) / seconds,
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      georeferenced: Boolean(map.geo),
      out: path.resolve(png),
      geojson: geojson ? path.resolve(geojson) : null,
    };
    if (values.json) return printJson(summary);
    process.stdout.write(
      `mapped ${map.cols}x${map.rows} tiles (${summary.tilesPerSecond.toFixed(0)} tiles/s): ${Object.entries(counts)
        .map(([n, c]) => `${n} ${c}`)
        .join(', ')}; wrote ${png}${geojson ? ` and ${geojson}` : ''}\n`,
    );
  },
};

/** `map merge`: one class map and one GeoJSON from the pieces of a sharded map. */
async function mergeMap(values: Values, pieces: string[], out: string): Promise<void> {
  const map = await mergeScenePieces(pieces);
  await writeSceneMapPng(map, out);
  const geojson = values.geojson as string | undefined;
  if (geojson) await writeSceneGeoJson(map, geojson);
  const counts = Object.fromEntries(map.classNames.map((n, k) => [n, map.classes.reduce((s, v) => s + (v === k ? 1 : 0), 0)]));
  if (values.json)
    return printJson({
      pieces: pieces.length,
      cols: map.cols,
      rows: map.rows,
      counts,
      out: path.resolve(out),
      geojson: geojson ? path.resolve(geojson) : null,
    });
  process.stdout.write(
    `merged ${pieces.length} piece(s) into ${map.cols}x${map.rows} tiles: ${Object.entries(counts)
      .map(([n, c]) => `${n} ${c}`)
      .join(', ')}; wrote ${out}${geojson ? ` and ${geojson}` : ''}\n`,
  );
}
