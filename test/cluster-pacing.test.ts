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

async function runOnBoth(c: Cluster, id: string, paced: boolean): Promise<void> {
  const args = (pockets: number): string[] => ['run', 'phase13', '--pockets', String(pockets), '--ticks', String(TICKS), '--coupling', '0.002', '--id', id, '--epoch-ticks', String(EPOCH), '--backend', 'js', '--follow', '--json', ...(paced ? ['--paced'] : [])];
  const [fast, slow] = await Promise.all([c.cli('fast', args(1024)), c.cli('slow', args(65_536))]);
  if (fast.code !== 0) throw new Error(`fast host run failed: ${fast.stderr}`);
  if (slow.code !== 0) throw new Error(`slow host run failed: ${slow.stderr}`);
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
