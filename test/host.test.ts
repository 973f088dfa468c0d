/**
 * The host in-process: boot runs from the config, a crashing phase actor is
 * restarted by its supervisor (never silently stopped) and resumes from its
 * checkpoint to the same result (and one over its restart intensity fails
 * alone, never the host), admin commands are journaled and survive a
 * restart, and a bad config fails `qallow start` with the field named.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { parseHostConfig } from '../config/schema.js';
import { createHost } from '../runtime/compose/create-host.js';
import { createLogger, memorySink } from '../runtime/logger.js';
import { phase13Params } from '../kernels/params.js';
import { isQallowError } from '../runtime/errors.js';
import { runCli } from './helpers/cli.js';
import { writeConfig } from './helpers/host.js';

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'qallow-hostp-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function hostConfig(dir: string, runs: unknown[]): ReturnType<typeof parseHostConfig> {
  return parseHostConfig({
    node: { id: 'host-t' },
    dataDir: join(dir, 'data'),
    compute: { threads: 2 },
    supervision: { maxRestarts: 3, withinSeconds: 5, backoff: { initialMs: 1, maxMs: 5, jitter: 0 } },
    telemetry: { intervalMs: 60_000, logLevel: 'info' },
    runs,
  });
}

const RING = { phase: 'phase13', id: 'r', pockets: 4096, ticks: 1200, couplings: [0.002], epochTicks: 100, backend: 'wasm' };

test('a phase actor that crashes is restarted and resumes from its checkpoint to the same final state', async (t) => {
  const dir = await tempDir(t);
  const sink = memorySink();
  const ref = createHost(hostConfig(join(dir, 'ref'), [RING]), { logger: createLogger({ nodeId: 'host-t', destination: sink.stream }) });
  await ref.start();
  const expected = await ref.whenFinished('r');
  await ref.stop();

  const logs = memorySink();
  const host = createHost(hostConfig(join(dir, 'crash'), [RING]), { logger: createLogger({ nodeId: 'host-t', destination: logs.stream }) });
  await host.start();
  t.teardown(() => host.stop());
  host.injectFault('r');
  const done = await host.whenFinished('r');
  t.true(done.incarnation >= 1, 'the actor was restarted, not stopped');
  t.truthy(done.recovered, 'the new incarnation recovered from a checkpoint');
  const final = await host.status('r');
  t.is(final.tick, 1200);
  t.is(final.epoch, expected.epoch);
  t.is(final.state, 'done');
  const tree = JSON.stringify(host.tree());
  t.regex(tree, /"restarts":[1-9]/);
  t.is(final.stateHash, expected.stateHash, 'same final state as the uninterrupted run');
});

test('admin commands are journaled: a paused run stays paused across a restart and resumes on command', async (t) => {
  const dir = await tempDir(t);
  const cfg = hostConfig(dir, [{ ...RING, ticks: 100_000 }]);
  const logger = createLogger({ nodeId: 'host-t', destination: memorySink().stream });
  const a = createHost(cfg, { logger });
  await a.start();
  const paused = await a.command('r', 'pause');
  t.is(paused.state, 'paused');
  await a.stop();

  const b = createHost(cfg, { logger });
  await b.start();
  t.teardown(() => b.stop());
  const s = await b.status('r');
  t.is(s.state, 'paused');
  t.truthy(s.recovered);
  const tickAtPause = s.tick;
  const resumed = await b.command('r', 'resume');
  t.is(resumed.state, 'running');
  const cancelled = await b.command('r', 'cancel');
  t.is(cancelled.state, 'cancelled');
  t.true(cancelled.tick >= tickAtPause);
  const again = await t.throwsAsync(b.command('r', 'resume'));
  t.regex(String(again), /cancelled/);
});

test('qallow start refuses a bad config with exit 2 naming the field', async (t) => {
  const dir = await tempDir(t);
  const path = await writeConfig(dir, { node: { id: 'host-a' }, dataDir: 'data', compute: { threads: -2 } });
  const r = await runCli(['start', '--config', path]);
  t.is(r.code, 2);
  t.regex(r.stderr, /config\.compute\.threads/);
  t.is(r.stderr.trim().split('\n').length, 1);
  const missing = await runCli(['start', '--config', join(dir, 'nope.json')]);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /nope\.json/);
});

test('telemetry: every interval the host logs per-actor, pool and run metrics with stable field names', async (t) => {
  const dir = await tempDir(t);
  const cfg = parseHostConfig({
    node: { id: 'host-t' },
    dataDir: join(dir, 'data'),
    compute: { threads: 2 },
    telemetry: { intervalMs: 20, logLevel: 'info' },
    runs: [{ ...RING, ticks: 50_000 }],
  });
  const logs = memorySink();
  const host = createHost(cfg, { logger: createLogger({ nodeId: 'host-t', destination: logs.stream }) });
  await host.start();
  t.teardown(() => host.stop());
  const run = await logs.waitFor((l) => l['metric'] === 'run' && typeof l['tick'] === 'number' && (l['tick'] as number) > 0);
  t.like(run, { component: 'telemetry', node: 'host-t', run: 'r', state: 'running' });
  t.true('E' in run && 'epoch' in run && 'decision' in run);
  const actor = await logs.waitFor((l) => l['metric'] === 'actor' && l['actor'] === 'qallow://host-t/runs/r');
  for (const k of ['processed', 'mailboxDepth', 'mailboxCapacity', 'processingP50Ms', 'processingP99Ms', 'restarts', 'deadLetters']) t.true(k in actor, k);
  const pool = await logs.waitFor((l) => l['metric'] === 'pool');
  for (const k of ['threads', 'queued', 'running', 'completed', 'utilization']) t.true(k in pool, k);
});

test('crashes beyond the restart intensity stop that run and mark it failed; they never escalate to the root', async (t) => {
  const dir = await tempDir(t);
  const cfg = hostConfig(dir, [{ ...RING, ticks: 1_000_000 }]);
  const logs = memorySink();
  const fatal: unknown[] = [];
  const host = createHost(cfg, { logger: createLogger({ nodeId: 'host-t', destination: logs.stream }), onFatal: (e) => void fatal.push(e) });
  await host.start();
  t.teardown(() => host.stop());
  // Keep the run crashing: every incarnation meets another injected fault.
  for (let i = 0; i < 40; i++) host.injectFault('r');
  const s = await host.whenFinished('r');
  t.is(s.state, 'failed');
  t.deepEqual(fatal, [], 'the host did not fail');
  t.truthy(logs.lines.find((l) => l['msg'] === 'run failed: it is stopped and marked failed; the host carries on'));
  t.falsy(logs.lines.find((l) => l['msg'] === 'supervision escalated to the root; the host stops'));
});

test('a paced run is refused on a host without a cluster (BAD_USAGE), and nothing is started', async (t) => {
  const dir = await tempDir(t);
  const host = createHost(hostConfig(join(dir, 'solo'), []), { logger: createLogger({ nodeId: 'host-t', destination: memorySink().stream }) });
  await host.start();
  t.teardown(() => host.stop());
  const e = await t.throwsAsync(host.submit('paced-1', phase13Params({ pockets: 64, ticks: 10, couplings: [0.002] }), 'js', 5, { paced: true }));
  t.true(isQallowError(e, 'BAD_USAGE'), String(e));
  t.deepEqual(await host.runIds(), []);
});
