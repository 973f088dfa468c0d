/**
 * Governance with four hosts as real processes on loopback (SPEC §3, §6):
 * entries are certified by a quorum (3 of 4) and replicated; a host killed
 * mid-run catches up after restart and all four ledgers end identical and
 * verify offline; with 2 of 4 down runs pause and nothing commits, and they
 * resume when one returns; a host restored from an older backup fetches its
 * own certified entries before proposing, and its runs go on.
 */
import { cp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { decodeEntry } from '../runtime/ledger/entry.js';
import { parseExposition, sampleValue } from '../runtime/metrics/exposition.js';
import { runCli } from './helpers/cli.js';
import { allUp, membershipChange, startCluster, type Cluster } from './helpers/cluster.js';
import type { HostProcess, LogLine } from './helpers/host.js';

const NAMES = ['gov-a', 'gov-b', 'gov-c', 'gov-d'];

async function stopAll(c: Cluster): Promise<void> {
  for (const h of c.hosts) if (h.child.exitCode === null && h.child.signalCode === null) h.child.kill('SIGTERM');
  await Promise.all(c.hosts.map((h) => h.exited));
}

async function exportLedger(c: Cluster, name: string): Promise<string[]> {
  const out = join(c.dir, `${name}.jsonl`);
  const r = await runCli(['ledger', 'export', '--data', c.dataDir(name), '--out', out]);
  if (r.code !== 0) throw new Error(`ledger export on ${name} failed: ${r.stderr}`);
  return (await readFile(out, 'utf8')).trim().split('\n');
}


const runDone = (run: string) => (l: LogLine) => l.msg === 'run finished' && l['run'] === run;

test('four hosts certify and replicate; a host killed mid-run catches up; all ledgers identical and verified', async (t) => {
  const c = await startCluster(t, { names: NAMES, config: () => ({ epochTicks: 100 }) });
  await allUp(c);
  const [a, b, , d] = c.hosts as [HostProcess, HostProcess, HostProcess, HostProcess];
  const start = (host: string, id: string, ticks: number): Promise<{ code: number; stderr: string }> =>
    c.cli(host, ['run', 'phase13', '--pockets', '65536', '--ticks', String(ticks), '--coupling', '0.002', '--id', id, '--backend', 'js']);
  // Long enough (~0.1 s per epoch) that gov-a's run is still going when gov-d is killed.
  t.is((await start('gov-a', 'ra', 3000)).code, 0);
  t.is((await start('gov-b', 'rb', 2000)).code, 0);
  // SPEC §3's acceptance case: k = 0.01 on an even ring diverges without governance; the closed loop rescues it.
  const rescue = await c.cli('gov-c', ['run', 'phase13', '--pockets', '64', '--ticks', '400', '--coupling', '0.01', '--epoch-ticks', '50', '--id', 'rescue', '--backend', 'js']);
  t.is(rescue.code, 0, rescue.stderr);
  // Kill gov-d once some entries are committed, while the runs go on.
  await a.waitFor((l) => l.msg === 'epoch' && l['run'] === 'ra' && Number(l['epoch']) >= 3, 'ra epoch 3');
  d.child.kill('SIGKILL');
  await d.exited;
  await a.waitFor(runDone('ra'), 'ra finished', 120_000);
  await b.waitFor(runDone('rb'), 'rb finished', 120_000);
  await c.hosts[2]!.waitFor(runDone('rescue'), 'rescue finished', 120_000);
  const restartedAt = Date.now();
  const d2 = c.restart(3);
  await d2.waitFor(membershipChange('gov-a', 'up', restartedAt), 'gov-a up on restarted gov-d');
  await d2.waitFor((l) => l.msg === 'caught up ledger entries' && l['origin'] === 'gov-a', 'gov-d catches up gov-a', 60_000);
  // Then it compares heads (anti-entropy) until it has everything gov-a has.
  const aHeads = (JSON.parse((await c.cli('gov-a', ['status', '--json'])).stdout) as { governance: { heads: Record<string, number> } }).governance.heads;
  await d2.waitFor((l) => l.msg === 'ledger in sync' && JSON.stringify(l['heads']) === JSON.stringify(aHeads), 'gov-d in sync with gov-a', 60_000);
  const status = JSON.parse((await c.cli('gov-a', ['status', '--json'])).stdout) as { governance: { heads: Record<string, number> } };
  // /metrics shows the same ledger heights and the commit latency (gov-a committed its own rounds).
  const metricsUrl = (JSON.parse(await readFile(join(c.dataDir('gov-a'), 'endpoint.json'), 'utf8')) as { metrics: string }).metrics;
  const samples = parseExposition(await (await fetch(`${metricsUrl}/metrics`)).text());
  for (const [origin, h] of Object.entries(status.governance.heads)) t.is(sampleValue(samples, 'qallow_ledger_height', { origin }), h, `qallow_ledger_height{origin="${origin}"}`);
  t.true((sampleValue(samples, 'qallow_ledger_commit_latency_ms', { quantile: '0.5' }) ?? 0) > 0, 'commit latency p50 exported');
  t.true((status.governance.heads['gov-a'] ?? 0) >= 30, `gov-a has ${status.governance.heads['gov-a']} entries (30 epochs of ethics checks at least)`);
  await stopAll(c);
  const ledgers = await Promise.all(NAMES.map((n) => exportLedger(c, n)));
  for (let i = 1; i < 4; i++) t.deepEqual(ledgers[i], ledgers[0], `${NAMES[i]}'s ledger equals gov-a's`);
  for (const n of NAMES) {
    const v = await runCli(['ledger', 'verify', '--data', c.dataDir(n)]);
    t.is(v.code, 0, `${n}: ${v.stdout}${v.stderr}`);
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

test('with 2 of 4 hosts down runs pause and nothing commits; they resume when one returns', async (t) => {
  const c = await startCluster(t, { names: NAMES, config: () => ({ epochTicks: 100 }) });
  await allUp(c);
  const [a, , cc, d] = c.hosts as [HostProcess, HostProcess, HostProcess, HostProcess];
  cc.child.kill('SIGKILL');
  d.child.kill('SIGKILL');
  await Promise.all([cc.exited, d.exited]);
  await a.waitFor((l) => l.msg === 'validator quorum lost', 'quorum lost on gov-a', 30_000);
  const r = await c.cli('gov-a', ['run', 'phase13', '--pockets', '1024', '--ticks', '1000', '--coupling', '0.002', '--id', 'waits', '--backend', 'js']);
  t.is(r.code, 0, r.stderr);
  // The first epoch is computed and checkpointed, then its ethics check cannot be certified: the run pauses.
  await a.waitFor((l) => l.msg === 'validator quorum unavailable: run paused at the epoch boundary' && l['run'] === 'waits', 'the run pauses', 30_000);
  const runStatus = async (): Promise<Record<string, unknown>> => {
    const s = await c.cli('gov-a', ['runs', '--json']);
    return (JSON.parse(s.stdout) as Array<Record<string, unknown>>).find((x) => x['run'] === 'waits')!;
  };
  t.like(await runStatus(), { state: 'paused', pauseReason: 'quorum' });
  const status = JSON.parse((await c.cli('gov-a', ['status', '--json'])).stdout) as { governance: { heads: Record<string, number>; quorumAvailable: boolean } };
  t.false(status.governance.quorumAvailable);
  const human = await c.cli('gov-a', ['status']);
  t.regex(human.stdout, /governance: quorum 3 of 4 validators .* UNAVAILABLE/);
  const before = status.governance.heads['gov-a'] ?? 0;
  const ticksBefore = Number((await runStatus())['tick']);
  t.true(ticksBefore <= 200, `the run stopped at an epoch boundary early on (tick ${ticksBefore})`);

  const back = Date.now();
  c.restart(2);
  await a.waitFor(membershipChange('gov-c', 'up', back), 'gov-c back on gov-a', 30_000);
  await a.waitFor((l) => l.msg === 'run finished' && l['run'] === 'waits', 'the run resumes and finishes', 120_000);
  const after = JSON.parse((await c.cli('gov-a', ['status', '--json'])).stdout) as { governance: { heads: Record<string, number> } };
  t.true((after.governance.heads['gov-a'] ?? 0) > before, 'entries committed after the quorum returned');
  await stopAll(c);
});

test('a host restored from an older backup fetches its own certified entries before proposing; its runs go on, status answers, SIGTERM completes', async (t) => {
  const c = await startCluster(t, { names: NAMES, config: () => ({ epochTicks: 100 }) });
  await allUp(c);
  const run = (id: string): Promise<{ code: number; stderr: string }> =>
    c.cli('gov-a', ['run', 'phase13', '--pockets', '1024', '--ticks', '300', '--coupling', '0.002', '--id', id, '--backend', 'js']);
  const heads = async (name: string): Promise<Record<string, number>> => {
    const s = await c.cli(name, ['status', '--json']);
    if (s.code !== 0) throw new Error(`status on ${name}: ${s.stderr}`);
    return (JSON.parse(s.stdout) as { governance: { heads: Record<string, number> } }).governance.heads;
  };
  const stopA = async (): Promise<void> => {
    const a = c.hosts[0]!;
    a.child.kill('SIGTERM');
    t.like(await a.exited, { code: 0 }, 'SIGTERM stops gov-a');
  };
  const startA = async (): Promise<HostProcess> => {
    const at = Date.now();
    const a = c.restart(0);
    await a.waitFor((l) => l.msg === 'host started', 'gov-a started');
    await Promise.all(['gov-b', 'gov-c', 'gov-d'].map((p) => a.waitFor(membershipChange(p, 'up', at), `${p} up on gov-a`)));
    return a;
  };

  t.is((await run('r1')).code, 0);
  await c.hosts[0]!.waitFor(runDone('r1'), 'r1 finished', 120_000);
  await stopA();
  // The backup: gov-a's whole data dir (LMDB and vote log), copied while it is stopped.
  const backup = join(c.dir, 'gov-a-backup');
  await cp(c.dataDir('gov-a'), backup, { recursive: true });

  let a = await startA();
  t.is((await run('r2')).code, 0);
  await a.waitFor(runDone('r2'), 'r2 finished', 120_000);
  const certified = (await heads('gov-a'))['gov-a']!;
  await stopA();

  // Restored: gov-a's chain ends where the backup was taken; the cluster's copy of it goes on.
  await rm(c.dataDir('gov-a'), { recursive: true, force: true });
  await cp(backup, c.dataDir('gov-a'), { recursive: true });
  a = await startA();
  const behind = await a.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith("this host's own chain was behind what the cluster certified for it"), 'gov-a catches up on its own chain', 60_000);
  t.is(behind['to'], certified, 'it fetched up to what the cluster had certified for it');
  t.true(Number(behind['from']) < certified);
  t.true((await heads('gov-a'))['gov-a']! >= certified, 'status answers, with the cluster\'s height');
  t.is((await run('r3')).code, 0);
  await a.waitFor(runDone('r3'), 'r3 finished', 120_000);
  const after = (await heads('gov-a'))['gov-a']!;
  t.true(after > certified, `r3's entries certified after the catch-up (${certified} → ${after})`);
  const refusals = c.hosts.slice(1).flatMap((h) => h.lines.filter((l) => l.msg === 'proposal refused' && l['origin'] === 'gov-a'));
  t.deepEqual(refusals, [], 'no validator was asked to sign a different entry for a certified seq');
  await stopA();
  await stopAll(c);
  for (const n of NAMES) {
    const v = await runCli(['ledger', 'verify', '--data', c.dataDir(n)]);
    t.is(v.code, 0, `${n}: ${v.stdout}${v.stderr}`);
  }
});
