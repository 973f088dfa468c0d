/**
 * Governance with four hosts in one process (SPEC §3, §6), each built by the
 * same createHost that `qallow start` uses (test/helpers/hosts.ts), on the
 * memory transport; tests drive them through their real admin endpoints
 * (signed commands, as the CLI sends them; the CLI itself for the human
 * `status` and the offline `ledger export` and `ledger verify`). Entries are certified by a quorum (3 of 4) and replicated; a
 * host stopped mid-run catches up once built again on its data dir, and all
 * four ledgers end identical and verify offline; the k = 0.01 ring is
 * rescued by the closed loop; with 2 of 4 stopped runs pause and nothing
 * commits, and they resume when one returns; a host restored from an older
 * backup fetches its own certified entries before proposing, and its runs go
 * on. The SIGKILL case (nothing flushed) stays a real-process smoke test in
 * governance-cluster.test.ts.
 */
import { cp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { decodeEntry } from '../runtime/ledger/entry.js';
import type { RunRequest } from '../runtime/admin/command.js';
import type { AdminReplies } from '../runtime/admin/replies.js';
import type { LogRecord } from '../runtime/logger.js';
import { parseExposition, sampleValue } from '../runtime/metrics/exposition.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { adminCommand, memoryCluster, type MemoryCluster, type MemoryHost } from './helpers/hosts.js';

const NAMES = ['gov-a', 'gov-b', 'gov-c', 'gov-d'];

const membershipChange =
  (peer: string, to: string, after = 0) =>
  (l: LogRecord): boolean =>
    l['msg'] === 'membership change' && l['peer'] === peer && l['to'] === to && Date.parse(String(l['time'])) >= after;

const runDone = (run: string) => (l: LogRecord) => l['msg'] === 'run finished' && l['run'] === run;

/** Four hosts, started, each seeing the other three up. */
async function cluster(t: Parameters<typeof memoryCluster>[0], extra: (name: string) => Record<string, unknown> = () => ({})): Promise<MemoryCluster> {
  const c = await memoryCluster(t, NAMES, { config: (n) => ({ epochTicks: 100, ...extra(n) }) });
  await Promise.all(c.hosts.flatMap((h) => NAMES.filter((o) => o !== h.name).map((o) => h.waitForLine(membershipChange(o, 'up'), 30_000))));
  return c;
}

/** `qallow ARGS` against host `name`'s admin endpoint (its endpoint.json), with the cluster's admin key. */
function cli(c: MemoryCluster, name: string, args: string[]): Promise<CliResult> {
  const h = c.hosts.find((x) => x.name === name)!;
  return runCli([...args, '--data', h.config.dataDir, '--admin-key', c.adminSecret]);
}

const admin = adminCommand;

/** `qallow run phase13 --coupling K --backend js --id ID ...` on host `name`: the run's first status. */
function startRun(c: MemoryCluster, name: string, id: string, params: Omit<Extract<RunRequest, { phase: 'phase13' }>, 'phase'>, epochTicks?: number): Promise<AdminReplies['run']> {
  return admin(c, name, { type: 'run', params: { phase: 'phase13', ...params }, id, backend: 'js', epochTicks });
}

const heads = async (c: MemoryCluster, name: string): Promise<Record<string, number>> => (await admin(c, name, { type: 'status' })).governance?.heads ?? {};

async function stopAll(c: MemoryCluster): Promise<void> {
  await Promise.all(c.hosts.map((h) => h.host.stop()));
}

async function exportLedger(c: MemoryCluster, h: MemoryHost): Promise<string[]> {
  const out = join(c.dir, `${h.name}.jsonl`);
  const r = await runCli(['ledger', 'export', '--data', h.config.dataDir, '--out', out]);
  if (r.code !== 0) throw new Error(`ledger export on ${h.name} failed: ${r.stderr}`);
  return (await readFile(out, 'utf8')).trim().split('\n');
}

test('four hosts certify and replicate; a host stopped mid-run catches up when built again; the k = 0.01 ring is rescued; all ledgers identical and verified; /metrics shows the heights', async (t) => {
  const c = await cluster(t, (n) => (n === 'gov-a' ? { metrics: { enabled: true, bind: '127.0.0.1:0' } } : {}));
  const [a, b, cc, d] = c.hosts as [MemoryHost, MemoryHost, MemoryHost, MemoryHost];
  // Long enough (30 epochs of 32768 pockets, each certified: about 0.05 s each) that gov-a's run is still going when gov-d stops (checked below).
  t.is((await startRun(c, 'gov-a', 'ra', { pockets: 32768, ticks: 3000, couplings: [0.002] })).run, 'ra');
  t.is((await startRun(c, 'gov-b', 'rb', { pockets: 8192, ticks: 2000, couplings: [0.002] })).run, 'rb');
  // SPEC §3's acceptance case: k = 0.01 on an even ring diverges without governance; the closed loop rescues it.
  t.is((await startRun(c, 'gov-c', 'rescue', { pockets: 64, ticks: 400, couplings: [0.01] }, 50)).run, 'rescue');
  // Stop gov-d's parts once some entries are committed, while the runs go on.
  await a.waitForLine((l) => l['msg'] === 'epoch' && l['run'] === 'ra' && Number(l['epoch']) >= 3, 60_000);
  await d.host.stop();
  t.false(a.lines.some(runDone('ra')), 'ra was still going when gov-d stopped');
  await a.waitForLine(runDone('ra'), 120_000);
  await b.waitForLine(runDone('rb'), 120_000);
  await cc.waitForLine(runDone('rescue'), 120_000);
  const restartedAt = Date.now();
  const d2 = c.rebuild(3);
  await d2.host.start();
  await d2.waitForLine(membershipChange('gov-a', 'up', restartedAt), 30_000);
  await d2.waitForLine((l) => l['msg'] === 'caught up ledger entries' && l['origin'] === 'gov-a', 60_000);
  // Then it compares heads (anti-entropy) until it has everything gov-a has.
  const aHeads = await heads(c, 'gov-a');
  await d2.waitForLine((l) => l['msg'] === 'ledger in sync' && JSON.stringify(l['heads']) === JSON.stringify(aHeads), 60_000);
  const status = { governance: { heads: await heads(c, 'gov-a') } };
  // /metrics shows the same ledger heights and the commit latency (gov-a committed its own rounds).
  const metricsUrl = (JSON.parse(await readFile(join(a.config.dataDir, 'endpoint.json'), 'utf8')) as { metrics: string }).metrics;
  const samples = parseExposition(await (await fetch(`${metricsUrl}/metrics`)).text());
  for (const [origin, h] of Object.entries(status.governance.heads)) t.is(sampleValue(samples, 'qallow_ledger_height', { origin }), h, `qallow_ledger_height{origin="${origin}"}`);
  t.true((sampleValue(samples, 'qallow_ledger_commit_latency_ms', { quantile: '0.5' }) ?? 0) > 0, 'commit latency p50 exported');
  t.true((status.governance.heads['gov-a'] ?? 0) >= 30, `gov-a has ${status.governance.heads['gov-a']} entries (30 epochs of ethics checks at least)`);
  await stopAll(c);
  const ledgers = await Promise.all(c.hosts.map((h) => exportLedger(c, h)));
  for (let i = 1; i < 4; i++) t.deepEqual(ledgers[i], ledgers[0], `${NAMES[i]}'s ledger equals gov-a's`);
  for (const h of c.hosts) {
    const v = await runCli(['ledger', 'verify', '--data', h.config.dataDir]);
    t.is(v.code, 0, `${h.name}: ${v.stdout}${v.stderr}`);
  }
  // The ethics checks of both runs are in it, certified by at least 3 validators each.
  const lines = ledgers[0]!.slice(1).map((l) => JSON.parse(l) as { entry: string; certificate: unknown[] });
  const entries = lines.map((l) => decodeEntry(new Uint8Array(Buffer.from(l.entry, 'hex'))));
  t.true(entries.filter((e) => e.kind === 'ethics_check' && e.run === 'ra').length >= 30);
  t.true(entries.filter((e) => e.kind === 'ethics_check' && e.run === 'rb').length >= 20);
  t.true(entries.some((e) => e.kind === 'admin' && e.detail.command === 'run'));
  t.true(lines.every((l) => l.certificate.length >= 3));
  // The rescued run: failing checks, a rollback, an adaptation halving the coupling, and passing epochs at the end.
  const rescued = entries.filter((e) => e.run === 'rescue');
  t.true(rescued.some((e) => e.kind === 'ethics_check' && e.decision === 'fail'));
  t.true(rescued.some((e) => e.kind === 'rollback'));
  const adaptation = rescued.find((e) => e.kind === 'adaptation');
  t.truthy(adaptation);
  if (adaptation?.kind === 'adaptation') t.deepEqual(adaptation.detail.fromCoupling.map((k, i) => adaptation.detail.toCoupling[i]! / k), adaptation.detail.fromCoupling.map(() => 0.5));
  const checks = rescued.filter((e) => e.kind === 'ethics_check');
  t.is(checks.at(-1)?.decision, 'pass');
});

test('with 2 of 4 hosts stopped runs pause and nothing commits; they resume when one returns', async (t) => {
  const c = await cluster(t);
  const a = c.hosts[0]!;
  await Promise.all([c.hosts[2]!.host.stop(), c.hosts[3]!.host.stop()]);
  await a.waitForLine((l) => l['msg'] === 'validator quorum lost', 30_000);
  t.is((await startRun(c, 'gov-a', 'waits', { pockets: 1024, ticks: 1000, couplings: [0.002] })).run, 'waits');
  // The first epoch is computed and checkpointed, then its ethics check cannot be certified: the run pauses.
  await a.waitForLine((l) => l['msg'] === 'validator quorum unavailable: run paused at the epoch boundary' && l['run'] === 'waits', 30_000);
  const runStatus = async (): Promise<Record<string, unknown>> => (await admin(c, 'gov-a', { type: 'runs' })).find((x) => x.run === 'waits')! as unknown as Record<string, unknown>;
  t.like(await runStatus(), { state: 'paused', pauseReason: 'quorum' });
  const status = (await admin(c, 'gov-a', { type: 'status' })) as unknown as { governance: { heads: Record<string, number>; quorumAvailable: boolean } };
  t.false(status.governance.quorumAvailable);
  const human = await cli(c, 'gov-a', ['status']);
  t.regex(human.stdout, /governance: quorum 3 of 4 validators .* UNAVAILABLE/);
  const before = status.governance.heads['gov-a'] ?? 0;
  const ticksBefore = Number((await runStatus())['tick']);
  t.true(ticksBefore <= 200, `the run stopped at an epoch boundary early on (tick ${ticksBefore})`);

  const back = Date.now();
  await c.rebuild(2).host.start();
  await a.waitForLine(membershipChange('gov-c', 'up', back), 30_000);
  await a.waitForLine(runDone('waits'), 120_000);
  t.true(((await heads(c, 'gov-a'))['gov-a'] ?? 0) > before, 'entries committed after the quorum returned');
  await stopAll(c);
});

test('a host restored from an older backup fetches its own certified entries before proposing; its runs go on, status answers, stop completes', async (t) => {
  const c = await cluster(t);
  const run = async (id: string): Promise<string> => (await startRun(c, 'gov-a', id, { pockets: 1024, ticks: 300, couplings: [0.002] })).run;
  const stopA = async (): Promise<void> => {
    await t.notThrowsAsync(c.hosts[0]!.host.stop(), 'gov-a stops');
  };
  const startA = async (): Promise<MemoryHost> => {
    const at = Date.now();
    const a = c.rebuild(0);
    await a.host.start();
    await a.waitForLine((l) => l['msg'] === 'host started');
    await Promise.all(['gov-b', 'gov-c', 'gov-d'].map((p) => a.waitForLine(membershipChange(p, 'up', at), 30_000)));
    return a;
  };
  const dataA = c.hosts[0]!.config.dataDir;

  t.is(await run('r1'), 'r1');
  await c.hosts[0]!.waitForLine(runDone('r1'), 120_000);
  await stopA();
  // The backup: gov-a's whole data dir (LMDB and vote log), copied while it is stopped.
  const backup = join(c.dir, 'gov-a-backup');
  await cp(dataA, backup, { recursive: true });

  let a = await startA();
  t.is(await run('r2'), 'r2');
  await a.waitForLine(runDone('r2'), 120_000);
  const certified = (await heads(c, 'gov-a'))['gov-a']!;
  await stopA();

  // Restored: gov-a's chain ends where the backup was taken; the cluster's copy of it goes on.
  await rm(dataA, { recursive: true, force: true });
  await cp(backup, dataA, { recursive: true });
  a = await startA();
  const behind = await a.waitForLine((l) => typeof l['msg'] === 'string' && l['msg'].startsWith("this host's own chain was behind what the cluster certified for it"), 60_000);
  t.is(behind['to'], certified, 'it fetched up to what the cluster had certified for it');
  t.true(Number(behind['from']) < certified);
  t.true((await heads(c, 'gov-a'))['gov-a']! >= certified, "status answers, with the cluster's height");
  t.is(await run('r3'), 'r3');
  await a.waitForLine(runDone('r3'), 120_000);
  const after = (await heads(c, 'gov-a'))['gov-a']!;
  t.true(after > certified, `r3's entries certified after the catch-up (${certified} → ${after})`);
  const refusals = c.hosts.slice(1).flatMap((h) => h.lines.filter((l) => l['msg'] === 'proposal refused' && l['origin'] === 'gov-a'));
  t.deepEqual(refusals, [], 'no validator was asked to sign a different entry for a certified seq');
  await stopA();
  await stopAll(c);
  for (const h of c.hosts) {
    const v = await runCli(['ledger', 'verify', '--data', h.config.dataDir]);
    t.is(v.code, 0, `${h.name}: ${v.stdout}${v.stderr}`);
  }
});
