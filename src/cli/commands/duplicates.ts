import path from 'node:path';
import { duplicatesHtml } from '../../data-quality/sheet.js';
import { writeFileAtomic } from '../../util/fs.js';
import { DEFAULT_NEAR_THRESHOLD, scanDuplicates, writeDuplicateList } from '../../data-quality/duplicates.js';
import { DEFAULT_SEED, DEFAULT_VALIDATION_SPLIT } from '../../util/defaults.js';
import { command, printJson } from '../command.js';
import { num, withHelp } from '../flag.js';
import { IMAGE_BASE } from '../flags/base.js';
import { fix, json, out } from '../flags/output.js';
import { featureCache, seed, validationSplit } from '../flags/train.js';
import { trainOptionsFrom } from '../train-options.js';

// Not train's --threshold (a decision threshold): the similarity at which two images are near duplicates.
const threshold = num(
  'threshold',
  'T',
  `cosine similarity for near duplicates (default ${DEFAULT_NEAR_THRESHOLD}; see the README's measurement)`,
  (n) => n > 0 && n <= 1,
  'a number in (0, 1]',
);
const fixHelp = withHelp(
  fix,
  `write a review list: every member of a group but one (a training image when there
is one) with action remove; train --exclude FILE.csv leaves them out. No image is
moved or deleted.`,
);

export const duplicatesCommand = command({
  name: 'duplicates',
  usage: '<dataDir> [otherDir...] --base <model> [--threshold T] [--fix FILE.csv] [--out DIR] [--json]',
  positionals: [1, Infinity],
  help: [
    `Exact duplicates (the same bytes, SHA-256) and near duplicates (cosine similarity of the base's pooled features
at or above --threshold: the same picture re-encoded, resized or lightly edited), grouped. dataDir is split into
training and validation as train splits it (--validation-split, --seed); further folders (test/, holdout/) are
scanned whole. A group spanning two places is a leak: the validation or test score counts images the model
trained on.`,
    '',
    'Options:',
    ...IMAGE_BASE,
    withHelp(validationSplit, `the split to check, as given to train (default ${DEFAULT_VALIDATION_SPLIT}, ${DEFAULT_SEED})`, 'F, --seed N'),
    withHelp(seed, ''),
    withHelp(featureCache, 'as for train'),
    threshold,
    withHelp(out, 'write DIR/duplicates.html: the groups with thumbnails, leaks first'),
    fixHelp,
    withHelp(
      json,
      `print {threshold, images, groups: [{kind, similarity, leak, members: [{file,
place, className}]}], leaks: {groups, images}, skipped, seconds}`,
    ),
    '',
    'Example:',
    '  transferkit duplicates photos/ holdout/ --base mobilenet --alpha 0.25 --input-size 96 --fix dups.csv',
  ],
  async run(values, dirs) {
    const { threshold, fix, out, ...rest } = values;
    const r = await scanDuplicates(dirs, trainOptionsFrom(rest), { threshold });
    if (fix) await writeDuplicateList(fix, r.groups);
    if (out)
      await writeFileAtomic(
        path.join(out, 'duplicates.html'),
        await duplicatesHtml(r.groups, `Duplicates in ${dirs.map((d) => path.basename(path.resolve(d))).join(', ')}`),
      );
    if (values.json) return printJson(r);
    for (const [k, g] of r.groups.entries()) {
      process.stdout.write(`group ${k + 1}: ${g.kind}${g.kind === 'near' ? ` (similarity ≥ ${g.similarity.toFixed(3)})` : ''}${g.leak ? ', LEAK' : ''}\n`);
      for (const m of g.members) process.stdout.write(`  ${m.place}  ${m.className}  ${m.file}\n`);
    }
    process.stdout.write(
      `${r.groups.length} duplicate group(s) in ${r.images} images at similarity ≥ ${r.threshold}; ${r.leaks.groups} leak(s), ${r.leaks.images} validation/test image(s) with a copy in training (${r.seconds.toFixed(1)} s)${fix ? `; review list: ${fix}` : ''}\n`,
    );
  },
});
