/**
 * Cluster pacing with real processes: two hosts of deliberately different
 * speed (the same run id, one with 64× the pockets per tick) run a paced
 * run; at every epoch the fast host ends, it leads the slow one by at most
 * cluster.maxLeadTicks. The same pair unpaced shows the skew the bound
 * prevents (so the check can fail).
 *
 * Skew is read from the hosts' own `epoch` log lines (same machine, same
 * clock): for each epoch the fast host finished at time t, the slow host's
 * tick at t is at least the tick of its last epoch line before t.
 *
 * The bound covers peers whose pulses already name the run, so the fast
 * host's run starts once its status shows the slow host running it.
 */
import test from 'ava';
import { allUp, startCluster, type Cluster } from './helpers/cluster.js';
import type { LogLine } from './helpers/host.js';

const MAX_LEAD = 200;
const EPOCH = 100;
const TICKS = 1500;

function epochs(lines: readonly LogLine[], run: string): Array<{ at: number; tick: number }> {
  return lines.filter((l) => l.msg === 'epoch' && l['run'] === run).map((l) => ({ at: Date.parse(String(l['time'])), tick: Number(l['tick']) }));
}

/** Largest lead of `fast` over `slow` at the moments fast finished an epoch. */
function maxLead(fast: ReturnType<typeof epochs>, slow: ReturnType<typeof epochs>): number {
  let worst = -Infinity;
  for (const f of fast) {
    let slowTick = 0;
    for (const s of slow) if (s.at <= f.at) slowTick = Math.max(slowTick, s.tick);
    worst = Math.max(worst, f.tick - slowTick);
  }
  return worst;
}

/**
 * The slow host's run is submitted first; the fast host's starts once the
 * fast host's sync view shows the slow one running it (a peer constrains a
 * paced run only once its pulses name it: runtime/cluster/pacer.ts). Both
 * are then awaited to their last epoch.
 */
async function runOnBoth(c: Cluster, id: string, paced: boolean): Promise<void> {
  const args = (pockets: number): string[] => ['run', 'phase13', '--pockets', String(pockets), '--ticks', String(TICKS), '--coupling', '0.002', '--id', id, '--epoch-ticks', String(EPOCH), '--backend', 'js', '--json', ...(paced ? ['--paced'] : [])];
  const slowDone = c.hosts[1]!.waitFor((l) => l.msg === 'epoch' && l['run'] === id && Number(l['tick']) === TICKS, `the slow host's run ${id} to end`, 120_000);
  const slow = await c.cli('slow', args(65_536));
  if (slow.code !== 0) throw new Error(`slow host run failed: ${slow.stderr}`);
  if (paced) await fastSees(c, 'slow', id);
  const fast = await c.cli('fast', [...args(1024), '--follow']);
  if (fast.code !== 0) throw new Error(`fast host run failed: ${fast.stderr}`);
  await slowDone;
}

/** Resolve once the fast host's `status` shows `peer`'s sync pulses naming run `id`. */
async function fastSees(c: Cluster, peer: string, id: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await c.cli('fast', ['status', '--json']);
    const s = JSON.parse(r.stdout) as { cluster: { paced: Array<{ node: string; runs: Record<string, number> }> } };
    if (s.cluster.paced.some((p) => p.node === peer && p.runs[id] !== undefined)) return;
    if (Date.now() > deadline) throw new Error(`the fast host never heard ${peer}'s pulses name run ${id}: ${r.stdout}`);
  }
}

test('a paced run on a fast and a slow host stays within cluster.maxLeadTicks; unpaced it does not', async (t) => {
  const c = await startCluster(t, { names: ['fast', 'slow'], config: () => ({ cluster: { maxLeadTicks: MAX_LEAD } }) });
  await allUp(c);
  const [fastHost, slowHost] = c.hosts;

  await runOnBoth(c, 'paced', true);
  const paced = maxLead(epochs(fastHost!.lines, 'paced'), epochs(slowHost!.lines, 'paced'));
  t.true(paced <= MAX_LEAD, `paced: the fast host led by ${paced} ticks (bound ${MAX_LEAD})`);
  t.is(epochs(fastHost!.lines, 'paced').at(-1)?.tick, TICKS);

  await runOnBoth(c, 'free', false);
  const free = maxLead(epochs(fastHost!.lines, 'free'), epochs(slowHost!.lines, 'free'));
  t.true(free > MAX_LEAD, `unpaced: the fast host led by ${free} ticks (the hosts must really differ in speed)`);
  t.log(`lead: paced ${paced} ticks, unpaced ${free} ticks (bound ${MAX_LEAD})`);
});

test('a paced run whose epoch exceeds cluster.maxLeadTicks is refused at submission', async (t) => {
  const c = await startCluster(t, { names: ['solo-a', 'solo-b'], config: () => ({ cluster: { maxLeadTicks: 100 } }) });
  await c.hosts[0]!.waitFor((l) => l.msg === 'host started', 'host started');
  const r = await c.cli('solo-a', ['run', 'phase13', '--pockets', '64', '--ticks', '400', '--coupling', '0.002', '--epoch-ticks', '200', '--paced']);
  // A bad parameter of the request: exit 2, naming the bound.
  t.is(r.code, 2, r.stderr);
  t.regex(r.stderr, /maxLeadTicks \(100\)/);
});

test('a peer that dies stops holding a paced run back once membership marks it down', async (t) => {
  // Two validators cannot make a quorum with one gone, which would pause the run for governance (SPEC §3);
  // runs go on without it here (governance.onQuorumLoss: continue), so that only pacing holds the run.
  const c = await startCluster(t, { names: ['fast', 'slow'], config: () => ({ cluster: { maxLeadTicks: MAX_LEAD }, governance: { onQuorumLoss: 'continue' } }) });
  await allUp(c);
  const [fastHost, slowHost] = c.hosts;
  const run = (pockets: number, ticks: number): string[] => ['run', 'phase13', '--pockets', String(pockets), '--ticks', String(ticks), '--coupling', '0.002', '--id', 'held', '--epoch-ticks', String(EPOCH), '--backend', 'js', '--json', '--paced'];
  // The slow host's run would take far longer than the test (about a second per epoch).
  const slow = await c.cli('slow', run(262_144, 1_000_000));
  t.is(slow.code, 0, slow.stderr);
  await fastSees(c, 'slow', 'held');
  const text = await c.cli('fast', ['status']);
  t.regex(text.stdout, /paced on slow: held at tick \d+ \(pulse \d+ ms ago\)/, 'status names the peer\'s paced run');
  // Short: once slow is gone, each epoch's ledger entry waits out the quorum timeout.
  const fastTicks = 800;
  const fast = c.cli('fast', [...run(1024, fastTicks), '--follow']);
  // Slow does an epoch a second, fast hundreds: at tick 300 fast is at or near its bound, held by slow.
  await fastHost!.waitFor((l) => l.msg === 'epoch' && l['run'] === 'held' && Number(l['tick']) >= 300, 'the fast host to reach tick 300');
  slowHost!.child.kill('SIGKILL');
  await slowHost!.exited;
  const done = await fast;
  t.is(done.code, 0, done.stderr);
  const down = await fastHost!.waitFor((l) => l.msg === 'membership change' && l['peer'] === 'slow' && l['to'] === 'down', 'slow to be marked down');
  const downAt = Date.parse(String(down['time']));
  const fastEpochs = epochs(fastHost!.lines, 'held');
  const slowTick = Math.max(0, ...epochs(slowHost!.lines, 'held').map((e) => e.tick));
  // Held while slow was alive (within the bound of slow's last epoch), finished after it was marked down.
  const before = fastEpochs.filter((e) => e.at < downAt).map((e) => e.tick);
  t.true(Math.max(0, ...before) <= slowTick + MAX_LEAD, `fast reached ${Math.max(0, ...before)} before slow (at ${slowTick}) was marked down`);
  t.is(fastEpochs.at(-1)?.tick, fastTicks);
  t.true(fastEpochs.at(-1)!.at >= downAt, 'the run ended only after the dead peer was marked down');
  t.log(`slow died at tick ${slowTick}; fast was at ${Math.max(0, ...before)} when slow was marked down, then ran to ${fastTicks}`);
});
