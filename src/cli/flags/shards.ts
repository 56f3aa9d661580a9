// Array jobs: which shard of the work this run does (extract, map).
import { int, text } from '../flag.js';

export const shard = text(
  'shard',
  'K/N',
  `extract only shard K (0-based) of N: files are assigned by a hash of their path
under dataDir, so adding files never moves others; writes FILE-0000K-of-0000N.ext`,
);
export const shards = int(
  'shards',
  'N',
  `the shard count where the engine gives only the index (Kubernetes
JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX); Slurm (SLURM_ARRAY_TASK_ID/COUNT)
and Google Batch (BATCH_TASK_INDEX/COUNT) give both`,
);
