/**
 * Backend selection: probes say what really runs, `auto` measures every
 * available exact backend and picks the fastest, and an unavailable request
 * falls back to the auto choice with the reason reported, never silently.
 */
import test from 'ava';
import { EXACT_BACKENDS } from '../kernels/backend.js';
import { ComputePool } from '../kernels/pool.js';
import { probeBackend, resolveBackend } from '../kernels/select.js';
import { runCliInProcess } from './helpers/inprocess.js';

const pool = new ComputePool({ threads: 2 });
test.before(() => pool.start());
test.after.always(() => pool.stop());

test('every exact backend is available on this host and says what it runs', async (t) => {
  for (const b of EXACT_BACKENDS) {
    const p = await probeBackend(pool, b);
    t.true(p.available, `${b}: ${p.reason ?? ''}`);
    t.true(p.executor.startsWith(b), `${b} runs ${p.executor}`);
  }
});

test('auto measures every available exact backend and picks the fastest', async (t) => {
  const c = await resolveBackend(pool, 'auto', { phase: 'phase13', pockets: 4096, lanes: 4 });
  t.is(c.requested, 'auto');
  t.is(c.fallback, null);
  t.truthy(c.measured);
  const rates = c.measured!;
  t.deepEqual(Object.keys(rates).sort(), [...EXACT_BACKENDS].sort());
  for (const r of Object.values(rates)) t.true(r! > 0);
  const best = Math.max(...Object.values(rates).map((r) => r!));
  t.is(rates[c.backend], best);
});

test('auto choices are cached per shape', async (t) => {
  const a = await resolveBackend(pool, 'auto', { phase: 'phase12', pockets: 1, lanes: 3 });
  const b = await resolveBackend(pool, 'auto', { phase: 'phase12', pockets: 1, lanes: 3 });
  t.is(a, b, 'the same measured choice, not a second measurement');
  const c = await resolveBackend(pool, 'auto', { phase: 'phase13', pockets: 1 << 20, lanes: 1 });
  t.not(c, a, 'a different shape is measured on its own');
});

test('an unavailable gpu backend falls back to the auto choice and says so', async (t) => {
  const p = await probeBackend(pool, 'gpu');
  if (p.available) {
    // On a host with a GPU the request is honoured instead.
    const c = await resolveBackend(pool, 'gpu', { phase: 'phase13', pockets: 64, lanes: 1 });
    t.is(c.backend, 'gpu');
    return;
  }
  const c = await resolveBackend(pool, 'gpu', { phase: 'phase13', pockets: 64, lanes: 1 });
  t.is(c.requested, 'gpu');
  t.not(c.backend, 'gpu');
  t.is(c.fallback?.from, 'gpu');
  t.regex(c.fallback!.reason, /gpu/i);
  const res = await runCliInProcess(['simulate', 'phase13', '--pockets', '64', '--ticks', '3', '--coupling', '0.001', '--backend', 'gpu', '--csv', '/dev/null'], pool);
  t.is(res.code, 0);
  t.regex(res.stderr, /warning: backend gpu is unavailable/);
});
