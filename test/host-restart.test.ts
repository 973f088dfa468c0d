/**
 * Crash restart and replay (SPEC §4): a host killed with SIGKILL mid-run (a
 * real process: nothing flushed) resumes from its newest valid checkpoint
 * and ends with the same final stateHash as an uninterrupted run; a
 * corrupted newest checkpoint is reported and skipped; replay fails naming a
 * tampered epoch. The last two need no real process: their hosts are built
 * in this process by the same createHost that `qallow start` uses, stopped
 * (as SIGTERM stops a host) and built again on the same data dir.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { parseHostConfig } from '../config/schema.js';
import { phase13Params } from '../kernels/params.js';
import { ComputePool } from '../kernels/pool.js';
import { Phase13Simulation } from '../kernels/simulation.js';
import { createHost } from '../runtime/compose/create-host.js';
import type { Host } from '../runtime/host.js';
import { createLogger, memorySink, type LogRecord } from '../runtime/logger.js';
import { createLmdbStore } from '../runtime/store/lmdb.js';
import { snapshotPhase13, stateHash } from '../runtime/store/snapshot.js';
import { flipByte, tamperLmdb } from './fixtures/store-fixtures.js';
import { runCli } from './helpers/cli.js';
import { startHost, writeConfig, type LogLine } from './helpers/host.js';

const RUN = { phase: 'phase13', id: 'ring', pockets: 16384, ticks: 2400, couplings: [0.002], epochTicks: 100, backend: 'js' } as const;

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'qallow-host-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function config(dir: string): Record<string, unknown> {
  return { node: { id: 'host-a' }, dataDir: join(dir, 'data'), compute: { threads: 2 }, telemetry: { intervalMs: 60_000, logLevel: 'info' }, runs: [RUN] };
}

/** The final stateHash of the same run done in one go, in this process. */
async function uninterruptedHash(): Promise<string> {
  const pool = new ComputePool({ threads: 2 });
  pool.start();
  try {
    const params = phase13Params({ pockets: RUN.pockets, ticks: RUN.ticks, couplings: [...RUN.couplings] });
    const sim = Phase13Simulation.create(pool, params, 'js');
    await sim.runEpoch(RUN.ticks);
    return stateHash(snapshotPhase13(sim.state, params, 'js'));
  } finally {
    await pool.stop();
  }
}

/** The host of `config(dir)` built and started in this process; stopped in teardown. */
async function startInProcess(t: ExecutionContext, dir: string): Promise<{ host: Host; lines: LogRecord[]; waitFor(pred: (l: LogRecord) => boolean): Promise<LogRecord> }> {
  const cfg = parseHostConfig(config(dir));
  const sink = memorySink();
  const host = createHost(cfg, { logger: createLogger({ nodeId: cfg.node.id, destination: sink.stream, level: cfg.telemetry.logLevel }) });
  t.teardown(() => host.stop());
  await host.start();
  return { host, lines: sink.lines, waitFor: (pred) => sink.waitFor(pred, 60_000) };
}

const isCheckpoint = (epoch: number) => (l: LogLine) => l.msg === 'checkpoint' && l['run'] === RUN.id && (l['epoch'] as number) >= epoch;
const isFinished = (l: LogLine): boolean => l.msg === 'run finished' && l['run'] === RUN.id;

async function finalCheckpointHash(dataDir: string): Promise<{ hash: string; tick: number }> {
  const store = createLmdbStore({ dataDir });
  await store.start();
  try {
    const c = (await store.listCheckpoints(RUN.id)).at(-1)!;
    return { hash: c.stateHash, tick: c.tick };
  } finally {
    await store.stop();
  }
}

test('kill -9 mid-run: the host resumes from its newest checkpoint and ends bit-identical to an uninterrupted run', async (t) => {
  const dir = await tempDir(t);
  const path = await writeConfig(dir, config(dir));
  const expected = uninterruptedHash();

  const first = startHost(path);
  t.teardown(() => void first.child.kill('SIGKILL'));
  await first.waitFor(isCheckpoint(4), 'the fourth checkpoint');
  first.child.kill('SIGKILL');
  const killed = await first.exited;
  t.is(killed.signal, 'SIGKILL');
  t.false(first.lines.some(isFinished), 'the run was really interrupted');

  const second = startHost(path, ['--exit-when-done']);
  t.teardown(() => void second.child.kill('SIGKILL'));
  const recovered = await second.waitFor((l) => l.msg === 'run recovered from checkpoint' && l['run'] === RUN.id, 'recovery');
  t.true((recovered['epoch'] as number) >= 4, `resumed from epoch ${String(recovered['epoch'])}`);
  await second.waitFor(isFinished, 'the run to finish');
  t.is((await second.exited).code, 0);

  const final = await finalCheckpointHash(join(dir, 'data'));
  t.is(final.tick, RUN.ticks);
  t.is(final.hash, await expected, 'final stateHash equals the uninterrupted run');

  // The telemetry CSV has every tick exactly once, despite the crash.
  const csv = (await readFile(join(dir, 'data', 'runs', `${RUN.id}.csv`), 'utf8')).trim().split('\n');
  t.is(csv.length, RUN.ticks + 1);
  t.deepEqual(csv.slice(1).map((l) => Number(l.split(',')[0])), Array.from({ length: RUN.ticks }, (_, i) => i + 1));
});

test('a corrupted newest checkpoint is reported and skipped; the previous one is used', async (t) => {
  const dir = await tempDir(t);
  const expected = uninterruptedHash();
  const first = await startInProcess(t, dir);
  const cp = await first.waitFor(isCheckpoint(3));
  await first.host.stop(); // graceful, as SIGTERM: the epoch in progress completes and is checkpointed

  const store = createLmdbStore({ dataDir: join(dir, 'data') });
  await store.start();
  const newest = (await store.listCheckpoints(RUN.id)).at(-1)!;
  await store.stop();
  t.true(newest.epoch >= (cp['epoch'] as number));
  await tamperLmdb(join(dir, 'data'), 'states', [RUN.id, newest.epoch], flipByte(-3));

  const list = await runCli(['checkpoint', 'list', '--data', join(dir, 'data')]);
  t.is(list.code, 1, 'checkpoint list fails while a checkpoint is corrupt');
  t.regex(list.stdout, new RegExp(`\\s${newest.epoch}\\s.*CORRUPT`));

  const second = await startInProcess(t, dir);
  const skipped = await second.waitFor((l) => l['msg'] === 'corrupt checkpoint skipped');
  t.is(skipped['epoch'], newest.epoch);
  const recovered = await second.waitFor((l) => l['msg'] === 'run recovered from checkpoint');
  t.is(recovered['epoch'], newest.epoch - 1, 'the previous checkpoint was used');
  await second.waitFor(isFinished);
  await second.host.stop();
  t.is((await finalCheckpointHash(join(dir, 'data'))).hash, await expected);
});

test('replay --verify recomputes every epoch and fails naming a tampered epoch', async (t) => {
  const dir = await tempDir(t);
  const host = await startInProcess(t, dir);
  await host.waitFor(isFinished);
  await host.host.stop();
  const data = join(dir, 'data');

  const ok = await runCli(['replay', '--data', data, '--run', RUN.id, '--from-epoch', '0', '--verify']);
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout, /replayed 24 epoch\(s\) .* all stateHashes match/);

  const partial = await runCli(['replay', '--data', data, '--run', RUN.id, '--from-epoch', '10', '--to-epoch', '12', '--verify', '--json']);
  t.is(partial.code, 0, partial.stderr);
  t.is(partial.stdout.trim().split('\n').length, 3);

  await tamperLmdb(data, 'states', [RUN.id, 7], flipByte(-5));
  const bad = await runCli(['replay', '--data', data, '--run', RUN.id, '--from-epoch', '0', '--verify']);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /epoch 7\b/);
  t.regex(bad.stdout, /epoch 6 tick 600: ok/);

  const fromBad = await runCli(['replay', '--data', data, '--run', RUN.id, '--from-epoch', '7', '--verify']);
  t.is(fromBad.code, 1);
  t.regex(fromBad.stderr, /epoch 7\b/);

  const noEpoch = await runCli(['replay', '--data', data, '--run', RUN.id, '--from-epoch', '99', '--verify']);
  t.is(noEpoch.code, 2);
  t.regex(noEpoch.stderr, /--from-epoch 99/);
});
