// The decoder registry: which format takes a file, by extension or (without one) by its first bytes.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { IMAGE_EXTENSIONS, formatOf, isImageFile, isRaster, recognise } from '../src/data/formats.js';
import { ROOT, tempDir } from './helpers.js';

const EXTENSIONLESS_DICOM = path.join(ROOT, 'test', 'fixtures', 'dicom', 'good', 'IM0001');

test('the extensions folders are listed by, in the order error messages print them', () => {
  assert.deepEqual(IMAGE_EXTENSIONS, ['.bmp', '.gif', '.jpeg', '.jpg', '.png', '.webp', '.tif', '.tiff', '.dcm', '.dicom']);
});

test('a file goes to the format its extension names, in any case', async () => {
  assert.ok((await formatOf('a/B.JPG')).extensions.includes('.jpg'));
  assert.ok((await formatOf('scan.dcm')).extensions.includes('.dcm'));
  assert.ok((await formatOf('tile.TIFF')).extensions.includes('.tif'));
  assert.equal(isRaster('tile.TIFF'), true);
  assert.equal(isRaster('photo.png'), false);
  assert.equal(isRaster('scan.dcm'), false);
});

test('without an extension, the DICM preamble makes a DICOM file; other files are not images but decode as photos', async () => {
  assert.equal(await isImageFile(EXTENSIONLESS_DICOM), true);
  assert.ok((await formatOf(EXTENSIONLESS_DICOM)).extensions.includes('.dcm'));
  const plain = path.join(tempDir(), 'NOTES');
  writeFileSync(plain, 'x'.repeat(200));
  assert.equal(await recognise(plain), undefined);
  assert.equal(await isImageFile(plain), false);
  assert.ok((await formatOf(plain)).extensions.includes('.jpg'), 'sharp decides by content');
  assert.equal(await isImageFile('notes.txt'), false);
  assert.equal(await isImageFile(path.join(tempDir(), 'missing')), false);
});
