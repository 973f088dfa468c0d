/**
 * Issue 11 item 9: the disk under a host's LMDB environment fills up
 * mid-run (a real tmpfs mounted at DATA/lmdb, filled by a real file; the
 * real pool and LMDB, in-process). The failed commit is a typed IO_ERROR,
 * the run pauses for `storage` with the reason in its status, the host keeps
 * answering, nothing is left to reject unhandled, and once space returns the
 * run resumes by itself (retry with backoff) and ends with the same final
 * stateHash as an undisturbed run.
 */
import { join } from 'node:path';
import test from 'ava';
import { parseHostConfig } from '../config/schema.js';
import { Host } from '../runtime/host.js';
import { createLogger, memorySink } from '../runtime/logger.js';
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

test('a disk that fills mid-run pauses the run with IO_ERROR, keeps the host up, and the run resumes when space returns to the undisturbed result', async (t) => {
  const dir = await tempDir(t);
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => void unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  t.teardown(() => void process.off('unhandledRejection', onUnhandled));

  const ref = new Host(hostConfig(join(dir, 'ref'), [RUN]), { logger: createLogger({ nodeId: 'host-disk', destination: memorySink().stream }) });
  await ref.start();
  const expected = await ref.whenFinished('r');
  await ref.stop();

  const data = join(dir, 'data');
  const disk = await mountSmallDisk(t, join(data, 'lmdb'), '16m');
  const logs = memorySink();
  let fatal: unknown;
  const host = new Host(hostConfig(data, [RUN]), { logger: createLogger({ nodeId: 'host-disk', destination: logs.stream }), onFatal: (e) => (fatal = e) });
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
  t.regex(String(failed['err']), /No space left on device/);

  // Paused for storage, and saying why; the host still answers.
  const paused = await host.status('r');
  t.is(paused.state, 'paused');
  t.is(paused.pauseReason, 'storage');
  t.regex(paused.storageFault?.message ?? '', /IO_ERROR|No space left on device/);
  t.true(paused.tick < RUN.ticks, 'the run did not finish on a full disk');
  const status = await host.hostStatus();
  t.is(status['node'], 'host-disk');
  const runs = (await host.allRuns()).find((r) => r['run'] === 'r');
  t.is(runs?.['pauseReason'], 'storage');

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
});
