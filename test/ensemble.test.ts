/**
 * Ensembles: each ring of a multi-ring phase 13 run and each strand of a
 * multi-eps phase 12 run must equal the golden file of its own parameters.
 */
import test from 'ava';
import { ComputePool } from '../kernels/pool.js';
import { compareCsv, goldenLines } from './helpers/golden.js';
import { runCliInProcess } from './helpers/inprocess.js';

const pool = new ComputePool({ threads: 2 });
test.before(() => pool.start());
test.after.always(() => pool.stop());

/** Split multi-lane CSV lines (lead column first) into one golden-shaped file per lane. */
function perLane(csv: string, lanes: number): string[][] {
  const lines = csv.split('\n').filter((l) => l.length > 0);
  const header = lines[0]!.split(',').slice(1, -1).join(',');
  const out = Array.from({ length: lanes }, () => [header]);
  for (const line of lines.slice(1)) {
    const cells = line.split(',');
    out[Number(cells[0])]!.push(cells.slice(1, -1).join(','));
  }
  return out;
}

const ringCases: Array<{ name: string; pockets: number; ticks: number; couplings: string[]; uncapped: boolean }> = [
  { name: 'stable and unstable couplings side by side', pockets: 8, ticks: 500, couplings: ['0.001', '0.01', '0.02', '0.05', '0.0005'], uncapped: false },
  { name: 'three pockets, the stability exception', pockets: 3, ticks: 500, couplings: ['0.1', '0.002', '0.001', '0.05', '0.02', '0'], uncapped: false },
  { name: 'uncapped 4096-pocket rings', pockets: 4096, ticks: 500, couplings: ['0.05', '0.001', '0.01'], uncapped: true },
];

for (const backend of ['js', 'wasm', 'webasm', 'cpu'] as const) {
  for (const c of ringCases) {
    test(`${backend}: phase13 rings, ${c.name}`, async (t) => {
      const args = ['simulate', 'phase13', '--pockets', String(c.pockets), '--ticks', String(c.ticks), `--coupling=${c.couplings.join(',')}`, '--backend', backend];
      if (!c.uncapped) args.push('--reference');
      const res = await runCliInProcess(args, pool);
      t.is(res.code, 0, res.stderr);
      const lanes = perLane(res.stdout, c.couplings.length);
      t.is(lanes.length, c.couplings.length);
      c.couplings.forEach((k, j) => {
        const file = `phase13_${c.uncapped ? 'uncapped_' : ''}p${c.pockets}_t${c.ticks}_k${k}.csv`;
        t.is(compareCsv(file, lanes[j]!), null, `ring ${j} (k=${k}) against ${file}`);
      });
    });
  }

  test(`${backend}: phase12 strands, one per eps, each equal to its golden file`, async (t) => {
    const eps = ['0.0001', '0.001', '0.01', '0.02'];
    const res = await runCliInProcess(['simulate', 'phase12', '--ticks', '1000', `--eps=${eps.join(',')}`, '--backend', backend], pool);
    t.is(res.code, 0, res.stderr);
    const lanes = perLane(res.stdout, eps.length);
    eps.forEach((e, j) => t.is(compareCsv(`phase12_ticks1000_eps${e}.csv`, lanes[j]!), null, `strand ${j} (eps=${e})`));
  });
}

test('a single-ring run has exactly the original columns', async (t) => {
  const res = await runCliInProcess(['simulate', 'phase13', '--pockets', '8', '--ticks', '2', '--coupling', '0.001', '--backend', 'js'], pool);
  t.is(res.stdout.split('\n')[0], goldenLines('phase13_p8_t50_k0.001.csv')[0] + ',audit_tag');
});
