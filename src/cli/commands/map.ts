import path from 'node:path';
import { UsageError } from '../../errors.js';
import { ProgressBar } from '../../util/progress.js';
import { writeSceneGeoJson, writeSceneMapPng } from '../../report/scene-map.js';
import { loadModel } from '../../train/saved-model.js';
import { mapScene } from '../../train/scene-map.js';
import { type Command, numberOption, printJson } from '../command.js';
import { ENGINE_HELP, ENGINE_OPTIONS, engineFrom } from '../model-options.js';

export const mapCommand: Command = {
  name: 'map',
  usage: '<modelDir> <scene.tif> --out map.png [--tile 64] [--stride 64] [--geojson FILE] [--json]',
  positionals: [2, 2],
  options: { out: { type: 'string' }, tile: { type: 'string' }, stride: { type: 'string' }, geojson: { type: 'string' }, ...ENGINE_OPTIONS, json: { type: 'boolean' } },
  help: `
The scene is read one row of tiles at a time, so its size is not limited by memory. Bands and their scaling
come from the model (transferkit.json); each tile is resized to the model's input.

Options:
  --out FILE.png               the class map
  --tile N                     tile size in scene pixels (default 64)
  --stride N                   step between tiles (default: the tile size)
  --geojson FILE               one polygon per tile with its class and probability, in the scene's coordinates${ENGINE_HELP}
  --json                       print {cols, rows, counts, tilesPerSecond, peakRssMB, out, geojson}

Example:
  transferkit map runs/eurosat scene.tif --tile 64 --out map.png --geojson tiles.geojson`,
  async run(values, [dir, scene]) {
    const out = values.out as string | undefined;
    if (!out) throw new UsageError('--out map.png is required');
    const int = (name: string) => numberOption(values, name, (n) => Number.isInteger(n) && n > 0, 'a positive integer');
    const { model, metadata } = await loadModel(dir);
    let bar: ProgressBar | undefined;
    let seen = 0;
    const start = performance.now();
    const map = await mapScene(model, metadata, scene, {
      tile: int('tile'),
      stride: int('stride'),
      engine: engineFrom(values),
      onProgress: (done, total) => {
        bar ??= new ProgressBar({ label: `Mapping ${path.basename(scene)} (tiles)`, total });
        bar.tick(done - seen);
        seen = done;
        if (done >= total) bar.finish();
      },
    });
    const seconds = (performance.now() - start) / 1000;
    await writeSceneMapPng(map, out);
    const geojson = values.geojson as string | undefined;
    if (geojson) await writeSceneGeoJson(map, geojson);
    const counts = Object.fromEntries(map.classNames.map((n, k) => [n, map.classes.reduce((s, v) => s + (v === k ? 1 : 0), 0)]));
    const summary = { cols: map.cols, rows: map.rows, counts, tilesPerSecond: (map.cols * map.rows) / seconds, peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024), georeferenced: Boolean(map.geo), out: path.resolve(out), geojson: geojson ? path.resolve(geojson) : null };
    if (values.json) return printJson(summary);
    process.stdout.write(`mapped ${map.cols}x${map.rows} tiles (${summary.tilesPerSecond.toFixed(0)} tiles/s): ${Object.entries(counts).map(([n, c]) => `${n} ${c}`).join(', ')}; wrote ${out}${geojson ? ` and ${geojson}` : ''}\n`);
  },
};
