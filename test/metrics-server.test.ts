/**
 * The collector and server on fixed figures: cluster and ledger series appear
 * only when their source does, two hosts' registries in one process never
 * collide, /readyz says why it is not ready, and the tick rate follows the
 * clock it is handed.
 */
import test from 'ava';
import type { SystemMetrics } from '../runtime/actors/metrics.js';
import { HostCollector, MetricsServer, Readiness, RateTracker, parseExposition, sampleValue, type LedgerMetricsSource, type MetricsSource, type RunSample } from '../runtime/metrics/index.js';

function source(node: string, over: Partial<MetricsSource> = {}): MetricsSource {
  const actors: SystemMetrics = {
    node,
    unroutable: 2,
    actors: [
      { actor: `qallow://${node}/runs/a`, state: 'running', incarnation: 1, processed: 7, mailboxDepth: 3, mailboxCapacity: 64, processingP50Ms: 1.5, processingP99Ms: 9, processingSamples: 7, restarts: 1, crashes: 1, deadLetters: 4, mailboxFull: 0 },
    ],
  };
  const run: RunSample = { run: 'a', phase: 'phase13', state: 'running', tick: 200, ticks: 1000, epoch: 2, backend: 'js', lastDecision: { epoch: 2, tick: 200, passed: 1, lanes: 2, pass: false, minTotal: NaN, maxEntropy: 0.5 } };
  return {
    node,
    actors: () => actors,
    pool: () => ({ threads: 4, queued: 5, running: 2, completed: 10, failed: 1, crashed: 0, utilization: 0.25 }),
    runs: () => [run],
    cluster: () => null,
    ledger: () => undefined,
    ...over,
  };
}

async function scrape(c: HostCollector): Promise<ReturnType<typeof parseExposition>> {
  return parseExposition(await c.scrape());
}

test('every actor, run and pool figure is exposed with its labels; NaN E is NaN; absent sources leave no series', async (t) => {
  const s = await scrape(new HostCollector({ processMetrics: false }, { source: source('h1') }));
  const actor = { actor: 'qallow://h1/runs/a', node: 'h1' };
  t.is(sampleValue(s, 'qallow_actor_messages_processed_total', actor), 7);
  t.is(sampleValue(s, 'qallow_actor_mailbox_depth', actor), 3);
  t.is(sampleValue(s, 'qallow_actor_processing_time_ms', { ...actor, quantile: '0.5' }), 1.5);
  t.is(sampleValue(s, 'qallow_actor_processing_time_ms', { ...actor, quantile: '0.99' }), 9);
  t.is(sampleValue(s, 'qallow_actor_restarts_total', actor), 1);
  t.is(sampleValue(s, 'qallow_actor_crashes_total', actor), 1);
  t.is(sampleValue(s, 'qallow_actor_dead_letters_total', actor), 4);
  t.is(sampleValue(s, 'qallow_unroutable_messages_total'), 2);
  t.is(sampleValue(s, 'qallow_run_ticks_total', { run: 'a' }), 200);
  t.true(Number.isNaN(sampleValue(s, 'qallow_run_ethics_total', { run: 'a' })!));
  t.is(sampleValue(s, 'qallow_run_decision', { run: 'a' }), 0);
  t.is(sampleValue(s, 'qallow_run_tick_rate', { run: 'a' }), undefined, 'no rate from one sample');
  t.is(sampleValue(s, 'qallow_pool_queue_depth'), 5);
  t.is(sampleValue(s, 'qallow_pool_utilization'), 0.25);
  for (const name of ['qallow_cluster_peer_state', 'qallow_cluster_slowdown_factor', 'qallow_ledger_height', 'qallow_ledger_commit_latency_ms']) {
    t.false(s.some((x) => x.name === name), `${name} absent without its source`);
  }
  t.false(s.some((x) => x.name.startsWith('process_')), 'process metrics off when asked');
});

test('cluster members and the ledger appear when the host has them', async (t) => {
  const ledger: LedgerMetricsSource = { heights: () => ({ 'host-a': 12, 'host-b': 9 }), commitLatencyMs: () => ({ p50: 3, p99: 40, samples: 20 }) };
  const transport = { sent: 5, received: 6, framesSent: 1, framesReceived: 1, refused: 1, handlerErrors: 0, dropped: {} } as unknown as NonNullable<ReturnType<MetricsSource['cluster']>>['transport'];
  const c = new HostCollector(
    { processMetrics: false },
    {
      source: source('h1', {
        ledger: () => ledger,
        cluster: () => ({
          members: [
            { node: 'host-b', status: 'up', phi: 0.1, incarnation: 1, silentMs: 5, since: 0 },
            { node: 'host-c', status: 'down', phi: 12, incarnation: null, silentMs: null, since: 0 },
          ],
          transport,
          harmonicMeanCycleMs: 2.5,
          slowdownFactor: 1.2,
        }),
      }),
    },
  );
  const s = await scrape(c);
  t.is(sampleValue(s, 'qallow_cluster_peer_state', { peer: 'host-b', state: 'up' }), 1);
  t.is(sampleValue(s, 'qallow_cluster_peer_state', { peer: 'host-b', state: 'down' }), 0);
  t.is(sampleValue(s, 'qallow_cluster_peer_state', { peer: 'host-c', state: 'down' }), 1);
  t.is(sampleValue(s, 'qallow_cluster_peer_phi', { peer: 'host-c' }), 12);
  t.is(sampleValue(s, 'qallow_cluster_slowdown_factor'), 1.2);
  t.is(sampleValue(s, 'qallow_transport_refused_total'), 1);
  t.is(sampleValue(s, 'qallow_ledger_height', { origin: 'host-a' }), 12);
  t.is(sampleValue(s, 'qallow_ledger_height', { origin: 'host-b' }), 9);
  t.is(sampleValue(s, 'qallow_ledger_commit_latency_ms', { quantile: '0.99' }), 40);
});

test('two hosts in one process: separate registries, each labelled with its node; a run that is gone leaves', async (t) => {
  let runs: RunSample[] = [...source('h2').runs()];
  const a = new HostCollector({}, { source: source('h1') });
  const b = new HostCollector({}, { source: source('h2', { runs: () => runs }) });
  const sa = await scrape(a);
  const sb = await scrape(b);
  t.true(sa.filter((x) => x.name.startsWith('qallow_')).every((x) => x.labels['node'] === 'h1'));
  t.true(sb.filter((x) => x.name.startsWith('qallow_')).every((x) => x.labels['node'] === 'h2'));
  t.not(sampleValue(sa, 'process_cpu_user_seconds_total'), undefined, 'process metrics on both');
  t.not(sampleValue(sb, 'process_cpu_user_seconds_total'), undefined);
  runs = [];
  const after = await scrape(b);
  t.is(sampleValue(after, 'qallow_run_ticks_total', { run: 'a' }), undefined);
});

test('tick rate: ticks per second over the window, restarted when the tick goes back', (t) => {
  const r = new RateTracker(10_000);
  t.is(r.observe('a', 0, 1000), undefined);
  t.is(r.observe('a', 500, 2000), 500);
  t.is(r.observe('a', 1500, 3000), 750);
  t.is(r.observe('a', 100, 4000), undefined, 'went back: a resumed run starts a new window');
  t.is(r.observe('a', 300, 5000), 200);
  // Old samples age out: after 10 s only the last 10 s count.
  r.observe('a', 1300, 15_000);
  t.is(r.observe('a', 2300, 25_000), 100);
});

test('/readyz is 503 with the reasons until every part is up, and 503 again once stopping', async (t) => {
  const readiness = new Readiness(['store', 'pool', 'cluster']);
  const server = new MetricsServer({ bind: '127.0.0.1:0' }, { collector: new HostCollector({ processMetrics: false }, { source: source('h1') }), readiness: () => readiness.report() });
  await server.start();
  const url = server.url;
  t.teardown(() => server.stop());
  let res = await fetch(`${url}/readyz`);
  t.is(res.status, 503);
  t.regex(await res.text(), /store not started; pool not started; cluster not started/);
  readiness.up('store');
  readiness.up('pool');
  res = await fetch(`${url}/readyz`);
  t.is(res.status, 503);
  t.regex(await res.text(), /^not ready: cluster not started/);
  readiness.up('cluster');
  t.is((await fetch(`${url}/readyz`)).status, 200);
  t.is((await fetch(`${url}/healthz`)).status, 200);
  readiness.stopping();
  res = await fetch(`${url}/readyz`);
  t.is(res.status, 503);
  t.regex(await res.text(), /stopping/);
  t.is((await fetch(`${url}/healthz`)).status, 200, 'alive while stopping');
});

test('a port in use fails start with IO_ERROR naming config.metrics.bind', async (t) => {
  const readiness = new Readiness([]);
  const collector = new HostCollector({ processMetrics: false }, { source: source('h1') });
  const first = new MetricsServer({ bind: '127.0.0.1:0' }, { collector, readiness: () => readiness.report() });
  await first.start();
  const url = first.url;
  t.teardown(() => first.stop());
  const port = new URL(url).port;
  const second = new MetricsServer({ bind: `127.0.0.1:${port}` }, { collector, readiness: () => readiness.report() });
  const err = await t.throwsAsync(second.start());
  t.is((err as unknown as { code: string }).code, 'IO_ERROR');
  t.is((err as unknown as { details: Record<string, unknown> }).details['field'], 'config.metrics.bind');
});
