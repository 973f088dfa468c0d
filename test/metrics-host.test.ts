/**
 * The metrics endpoint of a real host in this process: /metrics serves the
 * qallow_* series (actors, runs, pool) with values that follow the run
 * between two scrapes, /healthz is 200, /readyz is 200 once started and the
 * server is gone after stop; a bad metrics.bind fails the config naming it.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { applyEnv } from '../config/load.js';
import { parseHostConfig } from '../config/schema.js';
import { isQallowError } from '../runtime/errors.js';
import { createHost } from '../runtime/compose/create-host.js';
import { createLogger, memorySink } from '../runtime/logger.js';
import { parseExposition, sampleValue as value, type Sample } from '../runtime/metrics/exposition.js';

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'qallow-metrics-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function scrape(url: string): Promise<Sample[]> {
  const res = await fetch(`${url}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  if (!(res.headers.get('content-type') ?? '').startsWith('text/plain')) throw new Error(`content-type ${res.headers.get('content-type')}`);
  return parseExposition(await res.text());
}

const RUN = { phase: 'phase13', id: 'ring', pockets: 4096, ticks: 3000, couplings: [0.002], epochTicks: 100, backend: 'wasm' };

test('a running host serves /metrics, /healthz and /readyz; ticks and messages move between scrapes', async (t) => {
  const dir = await tempDir(t);
  const config = parseHostConfig({
    node: { id: 'host-m' },
    dataDir: join(dir, 'data'),
    compute: { threads: 2 },
    telemetry: { intervalMs: 60_000, logLevel: 'info' },
    metrics: { bind: '127.0.0.1:0' },
    runs: [RUN],
  });
  const host = createHost(config, { logger: createLogger({ nodeId: 'host-m', destination: memorySink().stream }) });
  let stopped = false;
  t.teardown(async () => {
    if (!stopped) await host.stop();
  });
  await host.start();
  const paused = await host.command('ring', 'pause');
  t.true(paused.tick < RUN.ticks, `paused before the end (tick ${paused.tick})`);

  const endpoint = JSON.parse(await readFile(join(config.dataDir, 'endpoint.json'), 'utf8')) as { metrics: string };
  t.regex(endpoint.metrics, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.not(endpoint.metrics, 'http://127.0.0.1:0');
  const url = endpoint.metrics;

  const health = await fetch(`${url}/healthz`);
  t.is(health.status, 200);
  const ready = await fetch(`${url}/readyz`);
  t.is(ready.status, 200, await ready.text());
  t.is((await fetch(`${url}/nope`)).status, 404);
  t.is((await fetch(`${url}/metrics`, { method: 'POST' })).status, 405);

  const actor = 'qallow://host-m/runs/ring';
  const first = await scrape(url);
  t.is(value(first, 'qallow_run_ticks_total', { run: 'ring', phase: 'phase13', node: 'host-m' }), paused.tick);
  t.is(value(first, 'qallow_run_ticks_planned', { run: 'ring' }), RUN.ticks);
  t.is(value(first, 'qallow_run_epoch', { run: 'ring' }), paused.epoch);
  t.is(value(first, 'qallow_run_state', { run: 'ring', state: 'paused', backend: 'wasm' }), 1);
  const processed1 = value(first, 'qallow_actor_messages_processed_total', { actor });
  t.true(processed1 !== undefined && processed1 >= 1, `the run actor has handled messages (${processed1})`);
  t.is(value(first, 'qallow_actor_mailbox_capacity', { actor }) !== undefined, true);
  t.is(value(first, 'qallow_actor_restarts_total', { actor }), 0);
  t.is(value(first, 'qallow_actor_crashes_total', { actor }), 0);
  t.is(value(first, 'qallow_actor_dead_letters_total', { actor }), 0);
  t.is(value(first, 'qallow_actor_state', { actor, state: 'running' }), 1);
  t.is(value(first, 'qallow_pool_threads', {}), 2);
  t.not(value(first, 'qallow_pool_utilization', {}), undefined);
  t.not(value(first, 'qallow_pool_queue_depth', {}), undefined);
  t.not(value(first, 'process_cpu_user_seconds_total', {}), undefined, 'node process metrics are served too');
  t.is(value(first, 'qallow_cluster_slowdown_factor', {}), undefined, 'no cluster configured: no cluster series');

  await host.command('ring', 'resume');
  const done = await host.whenFinished('ring');
  t.is(done.tick, RUN.ticks);

  const second = await scrape(url);
  t.is(value(second, 'qallow_run_ticks_total', { run: 'ring' }), RUN.ticks);
  t.true(RUN.ticks > paused.tick, 'the ticks counter moved between scrapes');
  const processed2 = value(second, 'qallow_actor_messages_processed_total', { actor })!;
  t.true(processed2 > processed1!, `messages processed moved: ${processed1} → ${processed2}`);
  t.is(value(second, 'qallow_run_epoch', { run: 'ring' }), done.epoch);
  t.is(value(second, 'qallow_run_state', { run: 'ring', state: 'done' }), 1);
  t.is(value(second, 'qallow_run_decision', { run: 'ring' }), done.lastDecision!.pass ? 1 : 0);
  // No cluster: the host keeps its own ledger (it is the only validator), one ethics check per epoch.
  const height = value(second, 'qallow_ledger_height', { origin: 'host-m' });
  t.true(height !== undefined && height >= 1, `its own ledger has entries (height ${height})`);
  const e = value(second, 'qallow_run_ethics_total', { run: 'ring' })!;
  t.true(Object.is(e, done.lastDecision!.minTotal) || Math.abs(e - done.lastDecision!.minTotal) < 1e-12, `E ${e} vs ${done.lastDecision!.minTotal}`);
  const rate = value(second, 'qallow_run_tick_rate', { run: 'ring' });
  t.true(rate !== undefined && rate > 0, `tick rate over the two scrapes (${rate})`);
  t.not(value(second, 'qallow_actor_processing_time_ms', { actor, quantile: '0.99' }), undefined);

  stopped = true;
  await host.stop();
  await t.throwsAsync(fetch(`${url}/readyz`), undefined, 'the metrics server is gone after stop');
});

test('metrics.bind must be HOST:PORT: CONFIG_INVALID naming config.metrics.bind', (t) => {
  const base = { node: { id: 'host-m' }, dataDir: '/tmp/qallow-x' };
  for (const bind of ['9464', 'tcp://127.0.0.1:9464', '127.0.0.1:99999', '127.0.0.1:', 'a b:1']) {
    const err = t.throws(() => parseHostConfig({ ...base, metrics: { bind } }, 'test.json'));
    t.true(isQallowError(err, 'CONFIG_INVALID'), String(err));
    t.is((err as unknown as { details: Record<string, unknown> }).details['field'], 'config.metrics.bind', bind);
  }
  const viaEnv = t.throws(() => parseHostConfig(applyEnv(base, { QALLOW_METRICS_BIND: 'nope' }), 'test.json'));
  t.is((viaEnv as unknown as { details: Record<string, unknown> }).details['field'], 'config.metrics.bind');
  t.is(parseHostConfig(applyEnv(base, { QALLOW_METRICS_BIND: '0.0.0.0:9464' })).metrics.bind, '0.0.0.0:9464');
  const d = parseHostConfig(base);
  t.deepEqual(d.metrics, { enabled: true, bind: '127.0.0.1:0' });
  t.is(parseHostConfig({ ...base, metrics: { bind: '[::1]:0' } }).metrics.bind, '[::1]:0');
});
