#!/bin/bash
# Submits the extraction array, then the merge to run once every array task has succeeded.
#   DATA=/shared/photos OUT=/shared/features deploy/slurm/submit.sh
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p logs
array=$(sbatch --parsable --export=ALL extract-array.sbatch)
sbatch --parsable --export=ALL --dependency=afterok:"$array" merge.sbatch
