/**
 * Three hosts as real processes on loopback form a cluster over ZeroMQ with
 * CURVE: each sees the others `up`; a host killed with SIGKILL is seen `down`
 * by the others within the documented time and `up` again after it restarts;
 * a host whose CURVE key is not on the allow-list is refused; the CLI runs a
 * phase 13 run on a chosen host and follows it.
 */
import { join } from 'node:path';
import test from 'ava';
import { runCli } from './helpers/cli.js';
import { allUp, membershipChange as change, startCluster } from './helpers/cluster.js';
import type { HostProcess } from './helpers/host.js';

const NAMES = ['host-a', 'host-b', 'host-c'];

test('three hosts see each other up; a killed host goes down and comes back up; the CLI runs and follows a run on a chosen host', async (t) => {
  const c = await startCluster(t, { names: NAMES });
  const [a, b, cc] = c.hosts as [HostProcess, HostProcess, HostProcess];
  await allUp(c);
  const status = await runCli(['status', '--json', '--data', join(c.dir, 'host-b', 'data'), '--admin-key', c.adminKey]);
  t.is(status.code, 0, status.stderr);
  const members = (JSON.parse(status.stdout) as { cluster: { members: Array<{ node: string; status: string }> } }).cluster.members;
  t.deepEqual(members.map((m) => [m.node, m.status]).sort(), [['host-a', 'up'], ['host-c', 'up']]);

  const follow = await runCli(['run', 'phase13', '--pockets', '4096', '--ticks', '1000', '--coupling', '0.002', '--id', 'on-c', '--backend', 'js', '--follow', '--json', '--data', join(c.dir, 'host-c', 'data'), '--admin-key', c.adminKey]);
  t.is(follow.code, 0, follow.stderr);
  t.like(JSON.parse(follow.stdout.trim().split('\n').at(-1)!), { run: 'on-c', state: 'done', tick: 1000 });

  const killedAt = Date.now();
  cc.child.kill('SIGKILL');
  await cc.exited;
  const downA = await a.waitFor(change('host-c', 'down', killedAt), 'host-c down on host-a', 15_000);
  await b.waitFor(change('host-c', 'down', killedAt), 'host-c down on host-b', 15_000);
  const detectMs = Date.parse(String(downA['time'])) - killedAt;
  t.true(detectMs < 3000, `detected down after ${detectMs} ms`);

  const restartedAt = Date.now();
  c.restart(2);
  await a.waitFor(change('host-c', 'up', restartedAt), 'host-c up again on host-a', 30_000);
  await b.waitFor(change('host-c', 'up', restartedAt), 'host-c up again on host-b', 30_000);
  t.pass();
});

test('a host whose CURVE key is not on the peers’ allow-list is refused', async (t) => {
  // host-c starts with the rogue identity: same id, unknown key.
  const c = await startCluster(t, { names: NAMES, extraKeys: ['rogue'], keyFor: (n) => (n === 'host-c' ? 'rogue' : n) });
  const [a, b, rogue] = c.hosts as [HostProcess, HostProcess, HostProcess];
  await a.waitFor(change('host-b', 'up'), 'host-b up on host-a');
  await b.waitFor(change('host-a', 'up'), 'host-a up on host-b');
  // Give the rogue host time to try: it must never be seen up, and its connections are refused.
  const st = async (): Promise<{ refused: number; members: Array<{ node: string; status: string }> }> => {
    const r = await runCli(['status', '--json', '--data', join(c.dir, 'host-a', 'data'), '--admin-key', c.adminKey]);
    const s = JSON.parse(r.stdout) as { cluster: { transport: { refused: number }; members: Array<{ node: string; status: string }> } };
    return { refused: s.cluster.transport.refused, members: s.cluster.members };
  };
  await rogue.waitFor((l) => l.msg === 'cluster transport started', 'rogue transport start');
  const refusal = await a.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith('transport: refused a connection'), 'host-a to refuse the rogue key');
  t.is(refusal['reason'], 'unknown key');
  const s = await st();
  t.true(s.refused > 0, 'host-a refused the rogue connection');
  t.is(s.members.find((m) => m.node === 'host-c')!.status, 'down');
  t.false(a.lines.some(change('host-c', 'up')), 'host-c never came up on host-a');
});
