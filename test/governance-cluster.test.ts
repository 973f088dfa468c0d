/**
 * Governance with four hosts as real processes on loopback (SPEC §3, §6):
 * the SIGKILL smoke test. A host killed mid-run (nothing flushed, no goodbye)
 * catches up after restart; all four ledgers end identical and verify
 * offline; SIGTERM stops every host with exit code 0. The rest of the
 * governance behaviour (quorum loss and return, the k = 0.01 rescue, a
 * restored backup, /metrics) is tested in one process, through the same
 * createHost, in governance-hosts.test.ts.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { decodeEntry } from '../runtime/ledger/entry.js';
import { runCli } from './helpers/cli.js';
import { allUp, membershipChange, startCluster, type Cluster } from './helpers/cluster.js';
import type { HostProcess, LogLine } from './helpers/host.js';

const NAMES = ['gov-a', 'gov-b', 'gov-c', 'gov-d'];

/** SIGTERM to every host still running; each exits 0. */
async function stopAll(c: Cluster): Promise<Array<{ code: number | null }>> {
  for (const h of c.hosts) if (h.child.exitCode === null && h.child.signalCode === null) h.child.kill('SIGTERM');
  return Promise.all(c.hosts.map((h) => h.exited));
}

async function exportLedger(c: Cluster, name: string): Promise<string[]> {
  const out = join(c.dir, `${name}.jsonl`);
  const r = await runCli(['ledger', 'export', '--data', c.dataDir(name), '--out', out]);
  if (r.code !== 0) throw new Error(`ledger export on ${name} failed: ${r.stderr}`);
  return (await readFile(out, 'utf8')).trim().split('\n');
}

const runDone = (run: string) => (l: LogLine) => l.msg === 'run finished' && l['run'] === run;

test('SIGKILL smoke: a host killed mid-run catches up after restart; all four ledgers identical and verified; SIGTERM exits 0', async (t) => {
  const c = await startCluster(t, { names: NAMES, config: () => ({ epochTicks: 100 }) });
  await allUp(c);
  const [a, , , d] = c.hosts as [HostProcess, HostProcess, HostProcess, HostProcess];
  // Long enough (~0.1 s per epoch) that gov-a's run is still going when gov-d is killed.
  const r = await c.cli('gov-a', ['run', 'phase13', '--pockets', '65536', '--ticks', '3000', '--coupling', '0.002', '--id', 'ra', '--backend', 'js']);
  t.is(r.code, 0, r.stderr);
  // Kill gov-d once some entries are committed, while the run goes on: nothing of it is flushed.
  await a.waitFor((l) => l.msg === 'epoch' && l['run'] === 'ra' && Number(l['epoch']) >= 3, 'ra epoch 3');
  d.child.kill('SIGKILL');
  t.like(await d.exited, { signal: 'SIGKILL' });
  t.false(a.lines.some(runDone('ra')), 'ra was still going when gov-d was killed');
  await a.waitFor(runDone('ra'), 'ra finished', 120_000);
  const restartedAt = Date.now();
  const d2 = c.restart(3);
  await d2.waitFor(membershipChange('gov-a', 'up', restartedAt), 'gov-a up on restarted gov-d');
  await d2.waitFor((l) => l.msg === 'caught up ledger entries' && l['origin'] === 'gov-a', 'gov-d catches up gov-a', 60_000);
  // Then it compares heads (anti-entropy) until it has everything gov-a has.
  const aHeads = (JSON.parse((await c.cli('gov-a', ['status', '--json'])).stdout) as { governance: { heads: Record<string, number> } }).governance.heads;
  await d2.waitFor((l) => l.msg === 'ledger in sync' && JSON.stringify(l['heads']) === JSON.stringify(aHeads), 'gov-d in sync with gov-a', 60_000);
  t.true((aHeads['gov-a'] ?? 0) >= 30, `gov-a has ${aHeads['gov-a']} entries (30 epochs of ethics checks at least)`);
  for (const [i, e] of (await stopAll(c)).entries()) t.like(e, { code: 0 }, `SIGTERM stops ${NAMES[i]}`);
  const ledgers = await Promise.all(NAMES.map((n) => exportLedger(c, n)));
  for (let i = 1; i < 4; i++) t.deepEqual(ledgers[i], ledgers[0], `${NAMES[i]}'s ledger equals gov-a's`);
  for (const n of NAMES) {
    const v = await runCli(['ledger', 'verify', '--data', c.dataDir(n)]);
    t.is(v.code, 0, `${n}: ${v.stdout}${v.stderr}`);
  }
  // The run's ethics checks are in it, certified by at least 3 validators each.
  const lines = ledgers[0]!.slice(1).map((l) => JSON.parse(l) as { entry: string; certificate: unknown[] });
  const entries = lines.map((l) => decodeEntry(new Uint8Array(Buffer.from(l.entry, 'hex'))));
  t.true(entries.filter((e) => e.kind === 'ethics_check' && e.run === 'ra').length >= 30);
  t.true(lines.every((l) => l.certificate.length >= 3));
});
