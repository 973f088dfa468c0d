/**
 * Runs that must not hurt their host (issue 11, items 14 and 15), on
 * in-process hosts with the real pool and LMDB, and once through the real
 * CLI against a real host process:
 * - a spec the run could never hold (ticks ≥ 2^31, a coupling that is
 *   infinite as float32, an epoch over compute.maxEpochCost) is refused
 *   before anything is spawned, journaled or recorded, and the host serves on;
 * - a run that cannot open, or keeps crashing, is stopped and marked failed
 *   alone: the host (no onFatal) and its other runs carry on, and the failed
 *   run does not come back at the next start;
 * - a long epoch is computed in slices: status is answered at once while it
 *   computes, pause and cancel take effect mid-epoch, and a stop does not
 *   wait for the epoch to end;
 * - `holdRuns` (qallow start --hold-runs) brings unfinished runs back paused,
 *   so the operator can cancel one before it computes again.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type { RunStatus } from '../actors/phase.js';
import { parseHostConfig, type HostConfig } from '../config/schema.js';
import type { PhaseParams } from '../kernels/params.js';
import { phase13Params } from '../kernels/params.js';
import { isQallowError, type QallowError } from '../runtime/errors.js';
import { createHost } from '../runtime/compose/create-host.js';
import type { Host } from '../runtime/host.js';
import { createLogger, memorySink } from '../runtime/logger.js';
import { runCli, tempDir } from './helpers/cli.js';
import { startHost, writeConfig } from './helpers/host.js';
import { runCliInProcess } from './helpers/inprocess.js';

function config(dir: string, extra: Record<string, unknown> = {}): HostConfig {
  return parseHostConfig({
    node: { id: 'runs-t' },
    dataDir: join(dir, 'data'),
    compute: { threads: 2, ...((extra['compute'] as object | undefined) ?? {}) },
    supervision: { maxRestarts: 2, withinSeconds: 60, backoff: { initialMs: 1, maxMs: 5, jitter: 0 } },
    telemetry: { intervalMs: 60_000, logLevel: 'info' },
    ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== 'compute')),
  });
}

interface Started {
  readonly host: Host;
  readonly fatal: QallowError[];
  readonly logs: ReturnType<typeof memorySink>;
}

async function start(t: ExecutionContext, cfg: HostConfig): Promise<Started> {
  const fatal: QallowError[] = [];
  const logs = memorySink();
  const host = createHost(cfg, { logger: createLogger({ nodeId: 'runs-t', destination: logs.stream }), onFatal: (e) => void fatal.push(e) });
  await host.start();
  let stopped = false;
  t.teardown(() => (stopped ? undefined : host.stop()));
  const stop = host.stop.bind(host);
  host.stop = async () => {
    stopped = true;
    await stop();
  };
  return { host, fatal, logs };
}

/** The first status of `run` the host publishes that satisfies `pred` (the timeout is a guard). */
async function until(host: Host, run: string, pred: (s: RunStatus) => boolean, what: string, timeoutMs = 60_000): Promise<RunStatus> {
  let timer!: NodeJS.Timeout;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what} (run ${run})`)), timeoutMs);
  });
  return Promise.race([host.whenStatus(run, pred), guard]).finally(() => clearTimeout(timer));
}

const small = (ticks = 600): PhaseParams => phase13Params({ pockets: 256, ticks, couplings: [0.002] });

test('a spec the run could not hold is refused before anything starts; the host serves on', async (t) => {
  const dir = await tempDir(t);
  const { host, fatal } = await start(t, config(dir));
  // Built by hand, as a decoded admin command or a stored record could carry them.
  const huge: PhaseParams = { phase: 'phase13', ticks: 2 ** 32, pockets: 64, rings: 1, couplings: [0.002], reference: false };
  const inf: PhaseParams = { phase: 'phase13', ticks: 100, pockets: 64, rings: 1, couplings: [1e308], reference: false };
  const e1 = await t.throwsAsync(host.submit('ticks', huge, 'js', 100));
  t.true(isQallowError(e1, 'BAD_PARAMETER') && e1.details['param'] === 'ticks', String(e1));
  const e2 = await t.throwsAsync(host.submit('coupling', inf, 'js', 100));
  t.true(isQallowError(e2, 'BAD_PARAMETER') && e2.details['param'] === 'coupling', String(e2));
  t.regex(String(e2), /finite float32/);
  const e3 = await t.throwsAsync(host.submit('epoch', phase13Params({ pockets: 262_144, ticks: 100_000_000, couplings: [0.002] }), 'js', 50_000_000));
  t.true(isQallowError(e3, 'BAD_PARAMETER') && e3.details['param'] === 'epochTicks', String(e3));
  t.regex(String(e3), /compute\.maxEpochCost.*--epoch-ticks ≤ \d+/);
  const e4 = await t.throwsAsync(host.submit('bad id/', small(), 'js', 100));
  t.true(isQallowError(e4, 'BAD_PARAMETER') && e4.details['param'] === 'id', String(e4));
  t.deepEqual(await host.runIds(), [], 'no actor was spawned');
  t.deepEqual(await host.allRuns(), [], 'nothing was recorded or journaled');
  await host.submit('fine', small(), 'js', 100);
  t.is((await host.whenFinished('fine')).state, 'done');
  t.deepEqual(fatal, []);
  // The same rules as simulate, which refuses them too.
  const sim = await runCliInProcess(['simulate', 'phase13', '--pockets', '64', '--ticks', '4294967296', '--coupling', '0.002']);
  t.is(sim.code, 2);
  t.regex(sim.stderr, /ticks/);
  const simK = await runCliInProcess(['simulate', 'phase13', '--pockets', '64', '--ticks', '10', '--coupling', '1e308']);
  t.is(simK.code, 2);
  t.regex(simK.stderr, /coupling/);
  const simE = await runCliInProcess(['simulate', 'phase12', '--ticks', '10', '--eps', '1e308']);
  t.is(simE.code, 2);
  t.regex(simE.stderr, /eps/);
});

test('a stored run this host cannot run (a limit lowered since) is marked failed at start, not spawned', async (t) => {
  const dir = await tempDir(t);
  const a = await start(t, config(dir));
  await a.host.submit('wide', phase13Params({ pockets: 4096, ticks: 10_000_000, couplings: [0.002] }), 'js', 100);
  await until(a.host, 'wide', (s) => s.epoch >= 1, 'an epoch');
  await a.host.stop();
  const b = await start(t, config(dir, { compute: { maxPockets: 1024 } }));
  t.deepEqual(await b.host.runIds(), [], 'not resumed');
  const s = await b.host.status('wide');
  t.is(s.state, 'failed');
  t.regex(s.failure ?? '', /pockets/);
  t.like((await b.host.allRuns()).find((r) => r['run'] === 'wide'), { state: 'failed' });
  t.deepEqual(b.fatal, []);
});

test('a run that keeps crashing is stopped and marked failed alone; the host and its other runs carry on; it stays failed', async (t) => {
  const dir = await tempDir(t);
  const cfg = config(dir);
  const a = await start(t, cfg);
  await a.host.submit('crashy', small(10_000_000), 'js', 100);
  await a.host.submit('steady', small(3000), 'js', 100);
  await until(a.host, 'crashy', (s) => s.tick > 0, 'crashy to compute');
  // Every incarnation meets another injected fault: more than maxRestarts (2) within the window.
  for (let i = 0; i < 10; i++) a.host.injectFault('crashy');
  const failed = await until(a.host, 'crashy', (s) => s.state === 'failed', 'crashy to fail');
  t.is(failed.state, 'failed');
  t.regex(failed.failure ?? '', /injected fault/);
  t.is((await a.host.whenFinished('steady')).state, 'done', 'the other run ran to its end');
  t.deepEqual(a.fatal, [], 'nothing escalated to the root');
  t.like((await a.host.allRuns()).find((r) => r['run'] === 'crashy'), { state: 'failed' });
  const status = await a.host.hostStatus();
  t.regex(JSON.stringify(status['tree']), /"lastDecision":\{"action":"stop","at":[\d.]+,"child":"crashy"/);
  t.truthy(a.logs.lines.find((l) => l['msg'] === 'run failed: it is stopped and marked failed; the host carries on' && l['run'] === 'crashy'));
  await a.host.stop();
  // Giving up on the run is a supervision decision in the host's ledger, like each restart before it.
  const exported = await runCli(['ledger', 'export', '--data', cfg.dataDir]);
  t.is(exported.code, 0, exported.stderr);
  const { decodeEntry } = await import('../runtime/ledger/entry.js');
  const supervision = exported.stdout
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => decodeEntry(Buffer.from((JSON.parse(l) as { entry: string }).entry, 'hex')))
    .flatMap((e) => (e.kind === 'supervision' && e.detail.actor.endsWith('/runs/crashy') ? [e.detail.action] : []));
  t.true(supervision.includes('restart'), supervision.join(','));
  t.is(supervision.at(-1), 'stop', 'the last supervision entry of the run is the supervisor giving up on it');

  const b = await start(t, cfg);
  t.deepEqual(await b.host.runIds(), [], 'a failed run does not come back at the next start');
  t.like((await b.host.allRuns()).find((r) => r['run'] === 'crashy'), { state: 'failed' });
});

test('a run that cannot open fails alone and `run` says why; the host serves on', async (t) => {
  const dir = await tempDir(t);
  const cfg = config(dir);
  const { host, fatal } = await start(t, cfg);
  // Its CSV path is taken by a directory: every incarnation fails to open the run.
  await mkdir(join(cfg.dataDir, 'runs', 'blocked.csv'), { recursive: true });
  await host.submit('blocked', small(), 'js', 100);
  const s = await host.status('blocked');
  t.is(s.state, 'failed');
  t.truthy(s.failure);
  t.deepEqual(await host.runIds(), []);
  await host.submit('next', small(), 'js', 100);
  t.is((await host.whenFinished('next')).state, 'done');
  t.deepEqual(fatal, []);
});

test('a long epoch computes in slices: status at once, pause and cancel mid-epoch, a stop that does not wait for the epoch', async (t) => {
  const dir = await tempDir(t);
  // One epoch of 200,000 ticks; slices of 50 ticks of 4096 pockets.
  const cfg = config(dir, { compute: { sliceCost: 4096 * 50 } });
  const ticks = 200_000;
  const a = await start(t, cfg);
  await a.host.submit('long', phase13Params({ pockets: 4096, ticks, couplings: [0.002] }), 'wasm', ticks);
  const mid = await until(a.host, 'long', (s) => s.tick >= 100, 'the epoch to be under way');
  t.is(mid.epoch, 0, 'no epoch has ended');
  t.is(mid.state, 'running');
  const paused = await a.host.command('long', 'pause');
  t.is(paused.state, 'paused');
  t.true(paused.tick > 0 && paused.tick < ticks, `paused mid-epoch at tick ${paused.tick}`);
  t.is(paused.tick % 50, 0, 'at a slice boundary');
  const still = await a.host.status('long');
  t.is(still.tick, paused.tick, 'a paused run computes no more');
  const resumed = await a.host.command('long', 'resume');
  t.is(resumed.state, 'running');
  await until(a.host, 'long', (s) => s.tick > paused.tick, 'the run to go on after resume');
  const stopping = Date.now();
  await a.host.stop();
  const b = await start(t, cfg);
  const back = await until(b.host, 'long', (s) => s.recovered !== null, 'the run to resume');
  t.is(back.recovered?.epoch, 0, 'the stop came mid-epoch: the part-computed epoch is recomputed from the last checkpoint');
  t.true(Date.now() - stopping < 60_000);
  const cancelled = await b.host.command('long', 'cancel');
  t.is(cancelled.state, 'cancelled');
  t.true(cancelled.tick < ticks, `cancelled mid-epoch at tick ${cancelled.tick}`);
  t.is((await b.host.whenFinished('long')).state, 'cancelled');
});

test('holdRuns: unfinished runs come back paused for the operator, who can cancel one before it computes again', async (t) => {
  const dir = await tempDir(t);
  const cfg = config(dir);
  const a = await start(t, cfg);
  await a.host.submit('held', small(10_000_000), 'js', 100);
  await until(a.host, 'held', (s) => s.epoch >= 1, 'an epoch');
  await a.host.stop();

  const b = await start(t, { ...cfg, holdRuns: true });
  const s = await b.host.status('held');
  t.is(s.state, 'paused');
  t.is(s.pauseReason, 'admin');
  t.truthy(s.recovered);
  t.like((await b.host.allRuns()).find((r) => r['run'] === 'held'), { state: 'paused' });
  const cancelled = await b.host.command('held', 'cancel');
  t.is(cancelled.state, 'cancelled');
  t.is(cancelled.tick, s.tick, 'nothing was computed while held');
  await b.host.stop();

  const c = await start(t, cfg);
  t.deepEqual(await c.host.runIds(), [], 'the cancelled run is not resumed');
  t.is(parseHostConfig({ node: { id: 'x' }, dataDir: dir }).holdRuns, false, 'not held by default');
});

test('qallow run with a spec the run cannot hold exits 2 and the real host keeps serving', async (t) => {
  const dir = await tempDir(t);
  t.is((await runCli(['keys', 'gen', '--node-id', 'admin', '--out', join(dir, 'admin')])).code, 0);
  const path = await writeConfig(dir, {
    node: { id: 'host-r' },
    dataDir: 'data',
    compute: { threads: 1 },
    admin: { authorizedKeys: ['admin/admin.json'] },
    telemetry: { intervalMs: 60_000, logLevel: 'info' },
  });
  const host = startHost(path);
  t.teardown(() => void host.child.kill('SIGKILL'));
  await host.waitFor((l) => l.msg === 'host started', 'host start');
  const at = ['--data', join(dir, 'data'), '--admin-key', join(dir, 'admin', 'admin.secret.json')];
  for (const bad of [
    ['--pockets', '64', '--ticks', '4294967296', '--coupling', '0.002'],
    ['--pockets', '64', '--ticks', '100', '--coupling', '1e308'],
    ['--pockets', '262144', '--ticks', '100000000', '--coupling', '0.002', '--epoch-ticks', '50000000'],
  ]) {
    const r = await runCli(['run', 'phase13', ...bad, ...at]);
    t.is(r.code, 2, `${bad.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, /ticks|coupling|maxEpochCost/);
  }
  const status = await runCli(['status', '--json', ...at]);
  t.is(status.code, 0, status.stderr);
  t.deepEqual(JSON.parse(status.stdout).runs, [], 'nothing was recorded');
  t.is(host.child.exitCode, null, 'the host is still running');
  t.falsy(host.lines.find((l) => typeof l.msg === 'string' && /escalated/.test(l.msg)));
});

test('a real host with a run of long epochs answers status, pause and checkpoint take mid-epoch, stops on SIGTERM at once, and --hold-runs lets the operator cancel it', async (t) => {
  const dir = await tempDir(t);
  t.is((await runCli(['keys', 'gen', '--node-id', 'admin', '--out', join(dir, 'admin')])).code, 0);
  // Slices of 2 ticks of 262,144 pockets; an epoch of 32,768 ticks is within the default maxEpochCost.
  const path = await writeConfig(dir, {
    node: { id: 'host-l' },
    dataDir: 'data',
    compute: { threads: 1, sliceCost: 2 * 262_144 },
    admin: { authorizedKeys: ['admin/admin.json'] },
    telemetry: { intervalMs: 60_000, logLevel: 'info' },
  });
  const at = ['--data', join(dir, 'data'), '--admin-key', join(dir, 'admin', 'admin.secret.json')];
  const host = startHost(path);
  t.teardown(() => void host.child.kill('SIGKILL'));
  await host.waitFor((l) => l.msg === 'host started', 'host start');
  const run = await runCli(['run', 'phase13', '--pockets', '262144', '--ticks', '1000000', '--coupling', '0.002', '--epoch-ticks', '32768', '--id', 'big', '--backend', 'wasm', '--json', ...at]);
  t.is(run.code, 0, run.stderr);
  const status = await runCli(['runs', '--json', ...at]);
  t.is(status.code, 0, status.stderr);
  t.like(JSON.parse(status.stdout)[0], { run: 'big', state: 'running', epoch: 0 });
  const cp = runCli(['checkpoint', 'take', 'big', '--json', ...at]);
  const paused = await runCli(['pause', 'big', '--json', ...at]);
  t.is(paused.code, 0, paused.stderr);
  const p = JSON.parse(paused.stdout) as RunStatus;
  t.is(p.state, 'paused');
  t.true(p.tick < 32_768, `paused mid-epoch (tick ${p.tick})`);
  const taken = await cp;
  t.is(taken.code, 0, taken.stderr);
  t.like(JSON.parse(taken.stdout), { epoch: 0, tick: 0 }, 'asked mid-epoch, answered with the newest checkpoint once the run stopped computing');
  t.is((await runCli(['resume', 'big', ...at])).code, 0);
  await host.waitFor((l) => l.msg === 'admin command' && l['command'] === 'resume', 'the resume');
  const term = Date.now();
  host.child.kill('SIGTERM');
  const exit = await host.exited;
  t.is(exit.code, 0);
  t.true(Date.now() - term < 20_000, `stopped in ${Date.now() - term} ms, mid-epoch`);

  const held = startHost(path, ['--hold-runs']);
  t.teardown(() => void held.child.kill('SIGKILL'));
  await held.waitFor((l) => l.msg === 'host started', 'second host start');
  await held.waitFor((l) => l.msg === 'run held paused at start (--hold-runs): resume or cancel it', 'the run held');
  const cancelled = await runCli(['cancel', 'big', '--json', ...at]);
  t.is(cancelled.code, 0, cancelled.stderr);
  t.like(JSON.parse(cancelled.stdout), { run: 'big', state: 'cancelled', tick: 0 });
  held.child.kill('SIGTERM');
  t.is((await held.exited).code, 0);
});
