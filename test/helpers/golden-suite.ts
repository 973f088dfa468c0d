/**
 * The golden suite for one backend: every golden file reproduced through the
 * CLI's simulate command, compared byte for byte (see golden.ts).
 */
import test from 'ava';
import { ComputePool } from '../../kernels/pool.js';
import { cliArgs, compareCsv, goldenCases, ourLines } from './golden.js';
import { runCliInProcess } from './inprocess.js';

export function goldenSuite(backend: 'js' | 'wasm' | 'webasm' | 'cpu'): void {
  const pool = new ComputePool({ threads: 2 });
  test.before(() => pool.start());
  test.after.always(() => pool.stop());

  const cases = goldenCases();
  test(`golden directory holds the 134 published cases`, (t) => {
    t.is(cases.length, 134);
  });

  for (const c of cases) {
    test(`${backend}: ${c.file}`, async (t) => {
      const res = await runCliInProcess([...cliArgs(c), '--backend', backend], pool);
      t.is(res.code, 0, res.stderr);
      t.is(compareCsv(c.file, ourLines(res.stdout)), null);
      t.regex(res.stderr, new RegExp(`on ${backend} \\[`), 'the requested backend ran, without fallback');
    });
  }
}
