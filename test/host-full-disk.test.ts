/**
 * Issue 11 item 9: the disk under a host's LMDB environment fills up
 * mid-run (a real tmpfs mounted at DATA/lmdb, filled by a real file; the
 * real pool and LMDB, in-process). The failed commit is a typed IO_ERROR,
 * the run pauses for `storage` with the reason in its status, the host keeps
 * answering, nothing is left to reject unhandled, and once space returns the
 * run resumes by itself (retry with backoff) and ends with the same final
 * stateHash as an undisturbed run.
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
import { tempDir } from './helpers/cli.js';
import { mountSmallDisk } from './helpers/tmpfs.js';

function hostConfig(dataDir: string, runs: unknown[]): ReturnType<typeof parseHostConfig> {
  return parseHostConfig({
    node: { id: 'host-disk' },
    dataDir,
    compute: { threads: 2 },
    supervision: { maxRestarts: 3, withinSeconds: 5, backoff: { initialMs: 1, maxMs: 5, jitter: 0 } },
    telemetry: { intervalMs: 60_000, logLevel: 'info' },
    runs,
  });
}

// Long enough to be mid-run when the disk fills; each checkpoint's state takes overflow pages, so commits must grow the file.
const RUN = { phase: 'phase13', id: 'r', pockets: 1024, ticks: 24_000, couplings: [0.002], epochTicks: 60, backend: 'wasm' };

let undisturbed: Promise<{ stateHash: string; epoch: number }> | undefined;
let refDir: string | undefined;
test.after.always(async () => {
  if (refDir) await rm(refDir, { recursive: true, force: true });
});

/** The undisturbed run's final status (its own data directory on the ordinary disk), computed once for the file. */
function reference(): Promise<{ stateHash: string; epoch: number }> {
  undisturbed ??= (async () => {
    refDir = await mkdtemp(join(tmpdir(), 'qallow-fulldisk-ref-'));
    const ref = createHost(hostConfig(join(refDir, 'data'), [RUN]), { logger: createLogger({ nodeId: 'host-disk', destination: memorySink().stream }) });
    await ref.start();
    const done = await ref.whenFinished('r');
    await ref.stop();
    return done;
  })();
  return undisturbed;
}

function watchUnhandled(t: ExecutionContext): unknown[] {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => void unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  t.teardown(() => void process.off('unhandledRejection', onUnhandled));
  return unhandled;
}

for (const where of ['lmdb', 'data'] as const) {
  // Serial: each test runs a host with a worker pool, on a shared 2-core machine.
  test.serial(`a disk that fills mid-run (${where === 'lmdb' ? 'under DATA/lmdb: the LMDB commit fails' : 'under the whole data directory: CSV, governance record or LMDB'}) pauses the run with IO_ERROR, keeps the host up, and the run resumes when space returns to the undisturbed result`, async (t) => {
    await fillsMidRun(t, where);
  });
}

async function fillsMidRun(t: ExecutionContext, where: 'lmdb' | 'data'): Promise<void> {
  const dir = await tempDir(t);
  const unhandled = watchUnhandled(t);
  const expected = await reference();

  const data = join(dir, 'data');
  const disk = await mountSmallDisk(t, where === 'lmdb' ? join(data, 'lmdb') : data, '16m');
  const logs = memorySink();
  let fatal: unknown;
  const host = createHost(hostConfig(data, [RUN]), { logger: createLogger({ nodeId: 'host-disk', destination: logs.stream }), onFatal: (e) => (fatal = e) });
  await host.start();
  t.teardown(async () => {
    await host.stop();
    await disk.unmount();
  });

  await logs.waitFor((l) => l['msg'] === 'checkpoint' && Number(l['epoch']) >= 2, 120_000);
  await disk.fill();
  // The pause, or (without it) the crash that used to come first.
  const failed = await logs.waitFor((l) => /^(a write failed|actor crashed)/.test(String(l['msg'])), 120_000);
  t.regex(String(failed['msg']), /^a write failed: the run is paused/, 'the run pauses rather than crashing');
  t.is(failed['code'], 'IO_ERROR');
  t.regex(String(failed['err']), /no space left on device|input\/output error/i);

  // Paused for storage, and saying why (published once the run is reopened from the store); the host still answers.
  const paused = await host.whenStatus('r', (s) => s.pauseReason === 'storage');
  t.is(paused.state, 'paused');
  t.is(paused.pauseReason, 'storage');
  t.regex(paused.storageFault?.message ?? '', /no space left on device|input\/output error/i);
  t.true(paused.tick < RUN.ticks, 'the run did not finish on a full disk');
  const status = await host.hostStatus();
  t.is(status.node, 'host-disk');
  const runs = (await host.allRuns()).find((r) => r.run === 'r');
  t.is(runs && 'pauseReason' in runs ? runs.pauseReason : undefined, 'storage');

  if (where === 'lmdb') {
    // Backoff: once the next retry is seconds away, an operator resume makes it happen now.
    const late = await logs.waitFor((l) => String(l['msg']).startsWith('a write failed') && Number(l['attempts']) >= 4, 120_000);
    const waiting = await host.whenStatus('r', (s) => (s.storageFault?.attempts ?? 0) >= Number(late['attempts']));
    t.true(waiting.storageFault!.retryAt - Date.now() > 500, 'the next retry is a while off');
    const resumed = await host.command('r', 'resume');
    t.is(resumed.state, 'running', 'resume answers at once: the run retries next');
    const retried = await logs.waitFor((l) => String(l['msg']).startsWith('a write failed') && Number(l['attempts']) === Number(late['attempts']) + 1, 60_000);
    t.true(Date.parse(String(retried['time'])) < waiting.storageFault!.retryAt, 'the resume retried before the backoff was due');
  }

  await disk.free();
  const done = await host.whenFinished('r');
  await logs.waitFor((l) => l['msg'] === 'storage takes writes again: the run resumes', 1000);
  t.is(done.state, 'done');
  t.is(done.tick, RUN.ticks);
  t.is(done.pauseReason, null);
  t.is(done.stateHash, expected.stateHash, 'same final state as the undisturbed run');
  t.is(done.incarnation, 0, 'the actor never crashed');
  t.is(fatal, undefined, 'the host did not fail');
  t.deepEqual(unhandled, [], 'no unhandled rejection');
}

test.serial('a run submitted while the disk is full waits (its status: paused for storage; commands: IO_ERROR), then starts once there is room and finishes like an undisturbed run', async (t) => {
  const dir = await tempDir(t);
  const unhandled = watchUnhandled(t);
  const expected = await reference();

  const data = join(dir, 'data');
  const disk = await mountSmallDisk(t, data, '16m');
  const logs = memorySink();
  let fatal: unknown;
  const host = createHost(hostConfig(data, []), { logger: createLogger({ nodeId: 'host-disk', destination: logs.stream }), onFatal: (e) => (fatal = e) });
  await host.start();
  t.teardown(async () => {
    await host.stop();
    await disk.unmount();
  });
  await disk.fill();
  await host.submit('r', phase13Params({ ticks: RUN.ticks, pockets: RUN.pockets, couplings: RUN.couplings }), 'wasm', RUN.epochTicks);
  const failed = await logs.waitFor((l) => /^(a write failed|actor crashed)/.test(String(l['msg'])), 120_000);
  t.regex(String(failed['msg']), /^a write failed: the run is paused/);
  // The run has no engine yet (its record could not be written): its status says it waits for storage.
  const waiting = await host.whenStatus('r', (s) => s.pauseReason === 'storage');
  t.is(waiting.state, 'paused');
  t.regex(waiting.storageFault?.message ?? '', /no space left on device|input\/output error/i);
  t.true(waiting.storageFault!.attempts >= 1);
  // A request that needs the engine is answered with the IO_ERROR, naming the next retry.
  const e = await t.throwsAsync(() => host.command('r', 'pause'));
  t.true(isQallowError(e, 'IO_ERROR'), String(e));
  t.regex(e!.message, /run r is paused: .*retry \d+ at/);
  t.is((await host.hostStatus())['node'], 'host-disk', 'the host answers');

  await disk.free();
  const done = await host.whenFinished('r');
  t.is(done.state, 'done');
  t.is(done.stateHash, expected.stateHash);
  t.is(done.incarnation, 0);
  t.is(fatal, undefined);
  t.deepEqual(unhandled, []);
});
