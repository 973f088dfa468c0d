/**
 * A host frozen (SIGSTOP, like a paused VM) for longer than the transport's
 * heartbeat timeout, then resumed, twice. Its peer sees it down both times
 * (the first freeze does not blunt the detector for the second); both
 * hosts' connections are dropped by the ZMTP heartbeats while it is frozen
 * and redialled, and after it resumes each hears the other again (the
 * resumed host's ROUTER takes its peer's redialled connection).
 */
import test from 'ava';
import { membershipChange as change, startCluster, type Cluster } from './helpers/cluster.js';
import type { HostProcess } from './helpers/host.js';

/** Longer than the transport's heartbeat timeout at heartbeatMs 100 (1 s, +0.2 s for the DEALER). */
const FREEZE_MS = 3_000;

type Member = { node: string; status: string; silentMs: number | null };

/** Resolves when `host`'s `qallow status` shows `peer` up and heard from in the last 500 ms. */
async function hears(c: Cluster, host: string, peer: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await c.cli(host, ['status', '--json']);
    const m = (JSON.parse(r.stdout) as { cluster: { members: Member[] } }).cluster.members.find((x) => x.node === peer);
    if (m?.status === 'up' && m.silentMs !== null && m.silentMs < 500) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${host} does not hear ${peer} (${JSON.stringify(m)})`);
  }
}

test('a host frozen for seconds is seen down, and after it resumes both hear each other again; twice', async (t) => {
  const c = await startCluster(t, { names: ['host-a', 'host-b'] });
  const [a, b] = c.hosts as [HostProcess, HostProcess];
  await Promise.all([a.waitFor(change('host-b', 'up'), 'host-b up on host-a'), b.waitFor(change('host-a', 'up'), 'host-a up on host-b')]);
  for (const round of [1, 2]) {
    const stoppedAt = Date.now();
    b.child.kill('SIGSTOP');
    const down = await a.waitFor(change('host-b', 'down', stoppedAt), `host-b down on host-a (freeze ${round})`, 10_000);
    const detectMs = Date.parse(String(down['time'])) - stoppedAt;
    // The freeze lasts its full length (the fault being injected, not a wait for an outcome).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, stoppedAt + FREEZE_MS - Date.now())));
    const resumedAt = Date.now();
    b.child.kill('SIGCONT');
    const up = await a.waitFor(change('host-b', 'up', resumedAt), `host-b up again on host-a (freeze ${round})`, 20_000);
    // host-b's own timers were stopped too, so it may never have marked host-a down: what counts is
    // that host-a's heartbeats reach it again, over the connection host-a redialled meanwhile.
    await hears(c, 'host-b', 'host-a');
    t.log(`freeze ${round}: down after ${detectMs} ms; up on host-a ${Date.parse(String(up['time'])) - resumedAt} ms and heard on host-b ${Date.now() - resumedAt} ms (a CLI call) after the resume`);
    t.true(detectMs < 3000, `freeze ${round}: host-b down on host-a after ${detectMs} ms`);
  }
});
