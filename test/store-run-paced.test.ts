/** The run record's one optional field: `paced` round-trips, and unpaced records keep their bytes. */
import test from 'ava';
import { phase13Params } from '../kernels/params.js';
import { decodeRunRecord, encodeRunRecord } from '../runtime/store/codec.js';
import type { RunRecord } from '../runtime/store/run.js';

const base: RunRecord = { run: 'r1', params: phase13Params({ pockets: 64, ticks: 10, couplings: [0.002] }), backend: 'js', epochTicks: 5, state: 'running' };

test('a paced run record round-trips with paced: true', (t) => {
  const paced: RunRecord = { ...base, paced: true };
  t.deepEqual(decodeRunRecord(encodeRunRecord(paced)), paced);
});

test('an unpaced record has no paced key and the same bytes as paced: false', (t) => {
  const bytes = encodeRunRecord(base);
  t.deepEqual(decodeRunRecord(bytes), base);
  t.false('paced' in decodeRunRecord(bytes));
  t.deepEqual(encodeRunRecord({ ...base, paced: false }), bytes);
});
