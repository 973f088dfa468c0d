/**
 * A network partition between two real hosts, healed. Each host runs in its
 * own network namespace (test/helpers/netns.ts); the network between them is
 * cut silently (packets dropped on the way, as on a real partition), each
 * host sees the other down, and after the cut has lasted a few seconds the
 * network comes back. The hosts must find each other again within a few
 * heartbeat intervals of the network (ZMTP heartbeats drop the dead
 * connection, reconnects are attempted every few heartbeats with a bounded
 * connect timeout), not when TCP's retransmission backoff next lets a
 * segment through (which was 24.5 s after one partition).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { runCli } from './helpers/cli.js';
import { membershipChange as change } from './helpers/cluster.js';
import { startHost, writeConfig, type HostProcess } from './helpers/host.js';
import { partitionNet } from './helpers/netns.js';

const HEARTBEAT_MS = 100;
/**
 * How long the network stays cut. TCP retransmits an unacknowledged segment
 * about 0.2, 0.6, 1.4, 3.0, 6.2 s after the cut; healed at 4.5 s, a link
 * that waits for TCP is back at about 6.2 s, 1.7 s after the network.
 */
const PARTITION_MS = 4_500;
/** Back within this long after the network (a few heartbeats, the reconnect interval, a CURVE handshake, on a loaded machine). */
const BACK_WITHIN_MS = 1_200;

test('after a network partition heals, two hosts see each other up again within a few heartbeats', async (t) => {
  const net = await partitionNet(t);
  const dir = await mkdtemp(join(tmpdir(), 'qallow-partition-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const names = ['host-a', 'host-b'] as const;
  await Promise.all(
    [...names, 'admin'].map(async (n) => {
      const r = await runCli(['keys', 'gen', '--node-id', n, '--out', join(dir, 'keys', n)]);
      if (r.code !== 0) throw new Error(`keys gen ${n} failed: ${r.stderr}`);
    }),
  );
  const side = { 'host-a': net.a, 'host-b': net.b };
  const hosts = await Promise.all(
    names.map(async (n): Promise<HostProcess> => {
      const other = n === 'host-a' ? 'host-b' : 'host-a';
      const hostDir = join(dir, n);
      await mkdir(hostDir, { recursive: true });
      const config = await writeConfig(hostDir, {
        node: { id: n },
        dataDir: 'data',
        compute: { threads: 1 },
        admin: { authorizedKeys: [join(dir, 'keys', 'admin', 'admin.json')] },
        telemetry: { intervalMs: 60_000, logLevel: 'info' },
        cluster: {
          // Each namespace has its own ports: a fixed one cannot clash.
          bind: `tcp://${side[n].ip}:7400`,
          identityDir: join(dir, 'keys', n),
          peers: [{ id: other, address: `tcp://${side[other].ip}:7400`, identityFile: join(dir, 'keys', other, 'node.json') }],
          heartbeatMs: HEARTBEAT_MS,
        },
      });
      const h = startHost(config, [], net.exec(side[n].ns));
      t.teardown(async () => {
        h.child.kill('SIGKILL');
        await h.exited;
      });
      return h;
    }),
  );
  const [a, b] = hosts as [HostProcess, HostProcess];
  await Promise.all([a.waitFor(change('host-b', 'up'), 'host-b up on host-a', 120_000), b.waitFor(change('host-a', 'up'), 'host-a up on host-b', 120_000)]);

  const cutAt = Date.now();
  await net.cut();
  await Promise.all([a.waitFor(change('host-b', 'down', cutAt), 'host-b down on host-a', 15_000), b.waitFor(change('host-a', 'down', cutAt), 'host-a down on host-b', 15_000)]);
  // The partition goes on for its full length (the fault being injected, not a wait for an outcome).
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, cutAt + PARTITION_MS - Date.now())));

  const healedAt = Date.now();
  await net.heal();
  // Waited for well past TCP's next retransmission, so a failure says how late the link came back.
  const [upA, upB] = await Promise.all([a.waitFor(change('host-b', 'up', healedAt), 'host-b up again on host-a', 30_000), b.waitFor(change('host-a', 'up', healedAt), 'host-a up again on host-b', 30_000)]);
  const backA = Date.parse(String(upA['time'])) - healedAt;
  const backB = Date.parse(String(upB['time'])) - healedAt;
  t.log(`partition ${healedAt - cutAt} ms; back after ${backA} ms (host-a) and ${backB} ms (host-b)`);
  t.true(backA <= BACK_WITHIN_MS, `host-a saw host-b up ${backA} ms after the network healed`);
  t.true(backB <= BACK_WITHIN_MS, `host-b saw host-a up ${backB} ms after the network healed`);
});
