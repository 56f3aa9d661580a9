import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { MOBILENET_H5, cli, makeImageFolder, needsShared, tempDir } from './helpers.js';

describe('train --features', { skip: needsShared(MOBILENET_H5) }, () => {
  test('trains exactly as train on the images would; the saved model predicts images; wrong uses are refused', async () => {
    const data = await makeImageFolder(path.join(tempDir(), 'data'), { classes: ['ant', 'bee', 'cat'], perClass: 8 });
    const dir = tempDir();
    const base = ['--base', 'mobilenet', '--alpha', '0.25', '--weights', MOBILENET_H5, '--input-size', '32'];
    const features = path.join(dir, 'all.parquet');
    assert.equal(cli(['extract', data, ...base, '--out', features]).code, 0);
    const train = ['--epochs', '3', '--seed', '5', '--json'];
    const fromImages = cli(['train', data, ...base, '--pooling', 'avg', ...train, '--out', path.join(dir, 'images')]);
    assert.equal(fromImages.code, 0, fromImages.stderr);
    // The file records the weights file's path; only a file the user names (or the weights cache) is opened.
    const unnamed = cli(['train', '--features', features, ...train, '--out', path.join(dir, 'unnamed')]);
    assert.equal(unnamed.code, 1);
    assert.match(unnamed.stderr, /was extracted with the weights file .*mobilenet_2_5_224_tf_no_top\.h5: transferkit opens only the weights you name/);
    const fromFeatures = cli(['train', '--features', features, '--weights', MOBILENET_H5, ...train, '--out', path.join(dir, 'features')]);
    assert.equal(fromFeatures.code, 0, fromFeatures.stderr);
    const a = JSON.parse(fromImages.stdout);
    const b = JSON.parse(fromFeatures.stdout);
    assert.deepEqual(b.history, a.history);
    assert.deepEqual(b.val, a.val);
    assert.deepEqual(b.images, { train: 20, validation: 4 });
    assert.deepEqual(readFileSync(path.join(dir, 'features', 'weights.bin')), readFileSync(path.join(dir, 'images', 'weights.bin')));
    const saved = JSON.parse(readFileSync(path.join(dir, 'features', 'transferkit.json'), 'utf8'));
    assert.equal(saved.base.id, 'mobilenet');
    assert.equal(saved.training.precomputed, features);

    const p = cli(['predict', path.join(dir, 'features'), path.join(data, 'bee', '001.jpg'), '--json']);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /"(ant|bee|cat)"/);

    const ft = cli(['train', '--features', features, '--strategy', 'fine-tune', '--unfreeze-from', 'conv_dw_13']);
    assert.equal(ft.code, 1);
    assert.match(ft.stderr, /--strategy fine-tune needs the images/);
    const size = cli(['train', '--features', features, '--input-size', '64']);
    assert.match(size.stderr, /holds features of --input-size 32, not 64/);
    const weights = cli(['train', '--features', features, '--weights', 'none']);
    assert.match(weights.stderr, /the features were computed by another base/);
    const shard = path.join(dir, 's.parquet');
    assert.equal(cli(['extract', data, ...base, '--shard', '1/2', '--out', shard]).code, 0);
    const s = cli(['train', '--features', path.join(dir, 's-00001-of-00002.parquet')]);
    assert.match(s.stderr, /is shard 1\/2: merge the shards first/);
    assert.match(cli(['train', data, '--features', features]).stderr, /give either a dataset .* or --features/);
  });
});
