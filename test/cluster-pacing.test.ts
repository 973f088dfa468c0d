/**
 * Cluster pacing with two hosts in one process (test/helpers/hosts.ts: the
 * same createHost that `qallow start` uses, on the memory transport): two
 * hosts of deliberately different speed (the same run id, one with 64× the
 * pockets per tick) run a paced run; at every epoch the fast host ends, it leads the slow one by at most
 * cluster.maxLeadTicks. The same pair unpaced shows the skew the bound
 * prevents (so the check can fail).
 *
 * Skew is read from the hosts' own `epoch` log lines (one process, one
 * clock): for each epoch the fast host finished at time t, the slow host's
 * tick at t is at least the tick of its last epoch line before t.
 *
 * The bound covers peers whose pulses already name the run, so the fast
 * host's run starts once its status shows the slow host running it. A peer
 * that dies is a host whose parts are stopped: its pulses end, and
 * membership marks it down.
 */
import test from 'ava';
import type { StartRunCommand } from '../runtime/admin/command.js';
import type { LogRecord } from '../runtime/logger.js';
import { runCli } from './helpers/cli.js';
import { adminCommand, memoryCluster, type MemoryCluster } from './helpers/hosts.js';

type LogLine = LogRecord;

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

const membershipUp = (peer: string) => (l: LogLine) => l['msg'] === 'membership change' && l['peer'] === peer && l['to'] === 'up';

/** Two hosts, started, each seeing the other up. */
async function pair(t: Parameters<typeof memoryCluster>[0], names: [string, string], cluster: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<MemoryCluster> {
  const c = await memoryCluster(t, names, { config: () => ({ cluster, ...extra }) });
  await Promise.all([c.hosts[0]!.waitForLine(membershipUp(names[1])), c.hosts[1]!.waitForLine(membershipUp(names[0]))]);
  return c;
}

/** `qallow run phase13 --coupling 0.002 --epoch-ticks EPOCH --backend js [--paced]` on host `name`, in process. */
function run(c: MemoryCluster, name: string, id: string, pockets: number, ticks: number, paced: boolean): Promise<unknown> {
  const cmd: StartRunCommand = { type: 'run', params: { phase: 'phase13', pockets, ticks, couplings: [0.002] }, id, epochTicks: EPOCH, backend: 'js', paced: paced ? true : undefined };
  return adminCommand(c, name, cmd);
}

const lastEpoch = (id: string, ticks: number) => (l: LogLine) => l['msg'] === 'epoch' && l['run'] === id && Number(l['tick']) === ticks;

/**
 * The slow host's run is submitted first; the fast host's starts once the
 * fast host's sync view shows the slow one running it (a peer constrains a
 * paced run only once its pulses name it: runtime/cluster/pacer.ts). Both
 * are then awaited to their last epoch.
 */
async function runOnBoth(c: MemoryCluster, id: string, paced: boolean): Promise<void> {
  const slowDone = c.hosts[1]!.waitForLine(lastEpoch(id, TICKS), 120_000);
  await run(c, 'slow', id, 65_536, TICKS, paced);
  if (paced) await fastSees(c, 'slow', id);
  await run(c, 'fast', id, 1024, TICKS, paced);
  await c.hosts[0]!.waitForLine(lastEpoch(id, TICKS), 120_000);
  await slowDone;
}

/** Resolve once the fast host's `status` (each a round trip to its admin endpoint) shows `peer`'s sync pulses naming run `id`. */
async function fastSees(c: MemoryCluster, peer: string, id: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const s = await adminCommand(c, 'fast', { type: 'status' });
    if (s.cluster?.paced.some((p) => p.node === peer && p.runs[id] !== undefined)) return;
    if (Date.now() > deadline) throw new Error(`the fast host never heard ${peer}'s pulses name run ${id}: ${JSON.stringify(s.cluster)}`);
  }
}

test('a paced run on a fast and a slow host stays within cluster.maxLeadTicks; unpaced it does not', async (t) => {
  const c = await pair(t, ['fast', 'slow'], { maxLeadTicks: MAX_LEAD });
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
  const c = await memoryCluster(t, ['solo-a', 'solo-b'], { config: () => ({ cluster: { maxLeadTicks: 100 } }) });
  await c.hosts[0]!.waitForLine((l) => l['msg'] === 'host started');
  // The CLI itself: its exit code and message are what is checked.
  const r = await runCli(['run', 'phase13', '--pockets', '64', '--ticks', '400', '--coupling', '0.002', '--epoch-ticks', '200', '--paced', '--data', c.hosts[0]!.config.dataDir, '--admin-key', c.adminSecret]);
  // A bad parameter of the request: exit 2, naming the bound.
  t.is(r.code, 2, r.stderr);
  t.regex(r.stderr, /maxLeadTicks \(100\)/);
});

test('a peer that dies (its parts stopped) stops holding a paced run back once membership marks it down', async (t) => {
  // Two validators cannot make a quorum with one gone, which would pause the run for governance (SPEC §3);
  // runs go on without it here (governance.onQuorumLoss: continue), so that only pacing holds the run.
  const c = await pair(t, ['fast', 'slow'], { maxLeadTicks: MAX_LEAD }, { governance: { onQuorumLoss: 'continue' } });
  const [fastHost, slowHost] = c.hosts;
  // The slow host's run would take far longer than the test (about a second per epoch).
  await run(c, 'slow', 'held', 262_144, 1_000_000, true);
  await fastSees(c, 'slow', 'held');
  const text = await runCli(['status', '--data', fastHost!.config.dataDir, '--admin-key', c.adminSecret]);
  t.regex(text.stdout, /paced on slow: held at tick \d+ \(pulse \d+ ms ago\)/, 'status names the peer\'s paced run');
  // Short: once slow is gone, each epoch's ledger entry waits out the quorum timeout.
  const fastTicks = 800;
  await run(c, 'fast', 'held', 1024, fastTicks, true);
  // Slow does an epoch a second, fast hundreds: at tick 300 fast is at or near its bound, held by slow.
  await fastHost!.waitForLine((l) => l['msg'] === 'epoch' && l['run'] === 'held' && Number(l['tick']) >= 300);
  await slowHost!.host.stop();
  const done = await fastHost!.host.whenFinished('held');
  t.is(done.state, 'done', done.failure ?? '');
  const down = await fastHost!.waitForLine((l) => l['msg'] === 'membership change' && l['peer'] === 'slow' && l['to'] === 'down');
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
