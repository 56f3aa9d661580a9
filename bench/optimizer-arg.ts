// The optimizer a bench tool's `--optimizer=NAME` names (bench/step-ab.ts, bench/op-profile.ts): SGD with momentum
// 0.9 (the bench's rows) unless said; plain-sgd is SGD without momentum.
import type { OptimizerSpec } from '../src/engine/optimizers.js';

const OPTIMIZERS: Record<string, OptimizerSpec> = {
  sgd: { name: 'sgd', momentum: 0.9 },
  'plain-sgd': { name: 'sgd' },
  adam: { name: 'adam' },
  rmsprop: { name: 'rmsprop' },
};

export function optimizerArg(argv: string[]): OptimizerSpec {
  const name = argv.find((a) => a.startsWith('--optimizer='))?.slice('--optimizer='.length) ?? 'sgd';
  const spec = OPTIMIZERS[name];
  if (!spec) throw new Error(`--optimizer=${name}: one of ${Object.keys(OPTIMIZERS).join(', ')}`);
  return spec;
}
