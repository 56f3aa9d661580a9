import path from 'node:path';
import { labelIssuesHtml } from '../../data-quality/sheet.js';
import { writeFileAtomic } from '../../util/fs.js';
import { scanLabelIssues, writeReviewList } from '../../data-quality/scan.js';
import { textTable } from '../../report/tables.js';
import { DEFAULT_SEED } from '../../util/defaults.js';
import { command, printJson } from '../command.js';
import { choice, num, withHelp } from '../flag.js';
import { IMAGE_BASE } from '../flags/base.js';
import { fix, json, out } from '../flags/output.js';
import { featureCache, seed } from '../flags/train.js';
import { trainOptionsFrom } from '../train-options.js';

const folds = num('folds', 'K', 'cross-validation folds (default 5)', (n) => Number.isInteger(n) && n >= 2, 'an integer of at least 2');
const filter = choice(
  'filter',
  ['both', 'confident-joint', 'prune-by-noise-rate'],
  'F',
  `both (default: off the confident joint's diagonal and among the n·Q[i][j] largest
margins of its cell, cleanlab's default) | confident-joint | prune-by-noise-rate`,
);
const rank = choice('rank', ['self-confidence', 'normalized-margin'], 'R', 'self-confidence (default: p(given label), lowest first) | normalized-margin', {
  what: 'one of self-confidence, normalized-margin',
});
const fixHelp = withHelp(
  fix,
  `write a review list: file,given_label,suggested_label,self_confidence,action
(action relabel; change it to remove or keep); train --exclude FILE.csv leaves
out every row not marked keep. No image is moved or deleted.`,
);

export const labelIssuesCommand = command({
  name: 'label-issues',
  usage: '<dataDir> --base <model> [--folds K] [--filter F] [--rank R] [--fix FILE.csv] [--out DIR] [--json]',
  positionals: [1, 1],
  help: [
    `Images whose given label is unlikely, by confident learning (Northcutt et al., 2021): out-of-fold probabilities
from K linear probes (logistic regression) on the base's pooled features, per-class thresholds (the mean
probability of its own class over the images labelled with it), the confident joint, and its off-diagonal.
Ranked most suspicious first, each with a suggested label.`,
    '',
    'Options:',
    ...IMAGE_BASE,
    withHelp(featureCache, 'as for train: disk keeps the features for the next command'),
    withHelp(seed, `the folds' shuffle (default ${DEFAULT_SEED})`),
    folds,
    filter,
    rank,
    withHelp(out, 'write DIR/label-issues.html: the images with their given and suggested labels'),
    fixHelp,
    withHelp(
      json,
      `print {classNames, images, folds, thresholds, confidentJoint, issues: [{file,
givenClass, suggestedClass, selfConfidence, margin}], skipped, seconds}`,
    ),
    '',
    'Example:',
    '  transferkit label-issues photos/ --base mobilenet --alpha 0.25 --input-size 96 --fix review.csv',
  ],
  async run(values, [dataDir]) {
    const { folds, filter, rank, fix, out, ...rest } = values;
    const r = await scanLabelIssues(dataDir, trainOptionsFrom(rest), { folds, filter: filter ?? 'both', rank: rank ?? 'self-confidence' });
    if (fix) await writeReviewList(fix, r.issues);
    if (out)
      await writeFileAtomic(path.join(out, 'label-issues.html'), await labelIssuesHtml(r.issues, `Label issues in ${path.basename(path.resolve(dataDir))}`));
    if (values.json) return printJson(r);
    process.stdout.write(
      textTable(
        ['File', 'Given', 'Suggested', 'p(given)', 'Margin'],
        r.issues.map((x) => [x.file, x.givenClass, x.suggestedClass, x.selfConfidence.toFixed(3), x.margin.toFixed(3)]),
        [false, false, false, true, true],
      ),
    );
    process.stdout.write(
      `\n${r.issues.length} possible label issue(s) in ${r.images} images (${r.folds}-fold probes, ${r.seconds.toFixed(1)} s)${fix ? `; review list: ${fix}` : ''}\n`,
    );
  },
});
