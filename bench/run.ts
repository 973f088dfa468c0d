/**
 * `npm run bench -- [name ...]`: run benchmarks by name (default: all).
 * Each prints its figures as ratios against a baseline measured in the same
 * run; absolute times on shared machines mean little.
 */
import { checkpointBench } from './checkpoint.js';
import { gpujsCeilingBench } from './gpujs-ceiling.js';
import { kernelsBench } from './kernels.js';
import { transportBench } from './transport.js';
import { ledgerBench } from './ledger.js';
import { governanceBench } from './governance.js';

const benches: Record<string, (args: string[]) => Promise<void>> = {
  kernels: kernelsBench,
  'gpujs-ceiling': gpujsCeilingBench,
  checkpoint: checkpointBench,
  transport: transportBench,
  ledger: ledgerBench,
  governance: governanceBench,
};

const [name, ...rest] = process.argv.slice(2);
const selected = name === undefined ? Object.keys(benches) : [name];
for (const n of selected) {
  const b = benches[n];
  if (!b) {
    process.stderr.write(`unknown benchmark "${n}"; choose one of: ${Object.keys(benches).join(', ')}\n`);
    process.exit(2);
  }
  await b(rest);
}
