import path from 'node:path';
import { labelIssuesHtml } from '../../data-quality/sheet.js';
import { writeFileAtomic } from '../../util/fs.js';
import { scanLabelIssues, writeReviewList } from '../../data-quality/scan.js';
import type { IssueFilter, IssueRank } from '../../data-quality/label-issues.js';
import { UsageError } from '../../errors.js';
import { textTable } from '../../report/tables.js';
import { type Command, numberOption, printJson } from '../command.js';
import { IMAGE_BASE_HELP, IMAGE_BASE_OPTIONS } from '../model-options.js';
import { trainOptionsFrom } from './train.js';

const FILTERS = ['both', 'confident-joint', 'prune-by-noise-rate'];
const RANKS = ['self-confidence', 'normalized-margin'];

export const labelIssuesCommand: Command = {
  name: 'label-issues',
  usage: '<dataDir> --base <model> [--folds K] [--filter F] [--rank R] [--fix FILE.csv] [--out DIR] [--json]',
  positionals: [1, 1],
  options: {
    ...IMAGE_BASE_OPTIONS,
    'feature-cache': { type: 'string' },
    seed: { type: 'string' },
    folds: { type: 'string' },
    filter: { type: 'string' },
    rank: { type: 'string' },
    fix: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean' },
  },
  help: `
Images whose given label is unlikely, by confident learning (Northcutt et al., 2021): out-of-fold probabilities
from K linear probes (logistic regression) on the base's pooled features, per-class thresholds (the mean
probability of its own class over the images labelled with it), the confident joint, and its off-diagonal.
Ranked most suspicious first, each with a suggested label.

Options:${IMAGE_BASE_HELP}
  --feature-cache memory|disk  as for train: disk keeps the features for the next command
  --seed N                     the folds' shuffle (default 1337)
  --folds K                    cross-validation folds (default 5)
  --filter F                   both (default: off the confident joint's diagonal and among the n·Q[i][j] largest
                               margins of its cell, cleanlab's default) | confident-joint | prune-by-noise-rate
  --rank R                     self-confidence (default: p(given label), lowest first) | normalized-margin
  --out DIR                    write DIR/label-issues.html: the images with their given and suggested labels
  --fix FILE.csv               write a review list: file,given_label,suggested_label,self_confidence,action
                               (action relabel; change it to remove or keep); train --exclude FILE.csv leaves
                               out every row not marked keep. No image is moved or deleted.
  --json                       print {classNames, images, folds, thresholds, confidentJoint, issues: [{file,
                               givenClass, suggestedClass, selfConfidence, margin}], skipped, seconds}

Example:
  transferkit label-issues photos/ --base mobilenet --alpha 0.25 --input-size 96 --fix review.csv`,
  async run(values, [dataDir]) {
    const filter = (values.filter as string | undefined) ?? 'both';
    if (!FILTERS.includes(filter)) throw new UsageError(`--filter must be one of ${FILTERS.join(', ')}; got '${filter}'`);
    const rank = (values.rank as string | undefined) ?? 'self-confidence';
    if (!RANKS.includes(rank)) throw new UsageError(`--rank must be one of ${RANKS.join(', ')}; got '${rank}'`);
    const folds = numberOption(values, 'folds', (n) => Number.isInteger(n) && n >= 2, 'an integer of at least 2');
    const r = await scanLabelIssues(dataDir, trainOptionsFrom(values), { folds, filter: filter as IssueFilter, rank: rank as IssueRank });
    const fix = values.fix as string | undefined;
    if (fix) await writeReviewList(fix, r.issues);
    const out = values.out as string | undefined;
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
};
