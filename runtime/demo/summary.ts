/**
 * The demo's closing report: every host's ledger verified offline (the same
 * check as `qallow ledger verify --data`), the decisions, rollbacks and
 * adaptations counted from the certified ledger itself rather than from
 * logs, each run's final state from its host, throughput, and the commands
 * to explore further. Rendered as a table, or as JSON with --json.
 */
import { relative } from 'node:path';
import { formatG } from '../format.js';
import { withOfflineLedger } from '../ledger/offline.js';
import { decodeRecord } from '../ledger/record.js';
import { verifyLedgerData } from '../ledger/verify.js';
import { errorMessage } from '../errors.js';
import type { DemoLayout } from './layout.js';

export interface LedgerTally {
  /** Per run: ethics checks passed / failed, rollbacks, adaptations, halts. */
  readonly runs: Record<string, { pass: number; fail: number; rollback: number; adaptation: number; halt: number }>;
  readonly admin: number;
  readonly supervision: number;
}

export interface HostLedger {
  readonly host: string;
  readonly dataDir: string;
  readonly log: string;
  readonly verified: boolean;
  readonly problem: string | null;
  /** Entries that verified, and each origin's head seq. */
  readonly entries: number;
  readonly heads: Record<string, number>;
}

export interface RunSummary {
  readonly run: string;
  readonly host: string;
  readonly phase: string;
  readonly state: string;
  readonly epochs: number;
  readonly tick: number;
  readonly ticks: number;
  readonly lastDecision: { readonly pass: boolean; readonly E: number | null; readonly passed: number; readonly lanes: number } | null;
  readonly checks: { readonly pass: number; readonly fail: number };
  readonly rollbacks: number;
  readonly adaptations: number;
  readonly halts: number;
  /** Final coupling of a one-ring run (after adaptations). */
  readonly coupling: number | null;
  readonly updatesPerSecond: number | null;
  readonly recovered: { readonly epoch: number; readonly tick: number } | null;
}

/** What the demo observed of its crash step; nothing here is assumed. */
export interface KillReport {
  readonly host: string;
  /** The run the last kill hit, and its length in ticks. */
  readonly run: string;
  readonly ticks: number;
  /** The last epoch of `run` the host logged before the last kill. */
  readonly killedAfterEpoch: number;
  /** Where the restarted host resumed `run` from (its own report); null when it had nothing to resume. */
  readonly resumedFromEpoch: number | null;
  readonly resumedFromTick: number | null;
  /** Runs, in order, that had ended before the kill meant for them landed (a fast machine): each got a longer successor. */
  readonly endedBeforeKill: readonly string[];
  /** Ledger entries fetched from peers after the first restart (its log's count). */
  readonly caughtUpEntries: number;
}

export interface DemoSummary {
  readonly ok: boolean;
  readonly quick: boolean;
  readonly nodes: number;
  readonly seconds: number;
  readonly dataDir: string;
  readonly adminKey: string;
  readonly runs: readonly RunSummary[];
  readonly decisions: { readonly pass: number; readonly fail: number };
  readonly rollbacks: number;
  readonly adaptations: number;
  readonly ledgers: readonly HostLedger[];
  /** Every host's ledger verified and all hold the same entries. */
  readonly ledgersAgree: boolean;
  readonly kill: KillReport | null;
  /** Hosts left running (--keep): their pids. */
  readonly kept: readonly number[];
  readonly explore: readonly string[];
}

/** Verify one host's ledger offline; never throws (a failure is the report). */
export async function verifyHostLedger(h: { id: string; dataDir: string; log: string }): Promise<HostLedger> {
  try {
    const r = await verifyLedgerData(h.dataDir);
    const heads = Object.fromEntries(r.heads.map((x) => [x.origin, x.seq]));
    return { host: h.id, dataDir: h.dataDir, log: h.log, verified: r.ok, problem: r.problem ? `${r.problem.code}: ${r.problem.message}` : null, entries: r.entries, heads };
  } catch (e) {
    return { host: h.id, dataDir: h.dataDir, log: h.log, verified: false, problem: errorMessage(e), entries: 0, heads: {} };
  }
}

/** Count a ledger's entries by run and kind (from a data directory; offline). */
export async function tallyLedger(dataDir: string): Promise<LedgerTally> {
  const runs: Record<string, { pass: number; fail: number; rollback: number; adaptation: number; halt: number }> = {};
  let admin = 0;
  let supervision = 0;
  await withOfflineLedger(dataDir, async (ledger) => {
    for (const raw of ledger.raw()) {
      const e = decodeRecord(raw.bytes).entry;
      if (e.kind === 'admin') admin++;
      else if (e.kind === 'supervision') supervision++;
      else {
        const t = (runs[e.run] ??= { pass: 0, fail: 0, rollback: 0, adaptation: 0, halt: 0 });
        if (e.kind === 'ethics_check') t[e.decision === 'pass' ? 'pass' : 'fail']++;
        else t[e.kind]++;
      }
    }
  });
  return { runs, admin, supervision };
}

export function ledgersAgree(ledgers: readonly HostLedger[]): boolean {
  const key = (h: HostLedger): string => JSON.stringify(Object.entries(h.heads).sort(([a], [b]) => a.localeCompare(b)));
  return ledgers.length > 0 && ledgers.every((h) => h.verified && key(h) === key(ledgers[0]!));
}

export function exploreCommands(layout: DemoLayout, runs: readonly { run: string; host: string }[], kept: boolean): string[] {
  const rel = (p: string): string => {
    const r = relative(process.cwd(), p);
    return r === '' ? '.' : r.startsWith('..') ? p : r;
  };
  const h1 = layout.hosts[0]!;
  const key = `--admin-key ${rel(layout.adminKey)}`;
  const out: string[] = [];
  if (kept) {
    out.push(`npx qallow status --data ${rel(h1.dataDir)} ${key}`);
    out.push(`npx qallow runs --data ${rel(h1.dataDir)} ${key}`);
    out.push(`npx qallow top --data ${rel(h1.dataDir)} ${key}`);
    out.push(...layout.hosts.map((h) => `npx qallow shutdown --data ${rel(h.dataDir)} ${key}`));
  } else {
    out.push(`npx qallow demo --keep --data ${rel(layout.root)}   # leaves the hosts running for qallow status / runs / top`);
  }
  out.push(`npx qallow ledger verify --data ${rel(h1.dataDir)}`);
  out.push(`npx qallow ledger export --data ${rel(h1.dataDir)} --out ledger.jsonl`);
  out.push(`npx qallow checkpoint list --data ${rel(h1.dataDir)}`);
  const rescue = runs.find((r) => r.run === 'rescue');
  if (rescue) {
    const h = layout.hosts.find((x) => x.id === rescue.host)!;
    out.push(`npx qallow plot --data ${rel(h.dataDir)} --run rescue --out rescue.svg`);
    out.push(`npx qallow replay --data ${rel(h.dataDir)} --run rescue --from-epoch 0 --verify`);
  }
  return out;
}

function rate(x: number | null): string {
  if (x === null) return '-';
  if (x >= 1e9) return `${(x / 1e9).toFixed(2)} G/s`;
  if (x >= 1e6) return `${(x / 1e6).toFixed(1)} M/s`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k/s`;
  return `${x.toFixed(0)} /s`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: readonly string[]): string => '  ' + r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  return [line(header), line(w.map((n) => '─'.repeat(n))), ...rows.map(line)];
}

/** The crash step as the demo saw it: a resume only when the restarted host reported one. */
export function crashLines(k: KillReport): string[] {
  const out: string[] = [];
  k.endedBeforeKill.forEach((run, i) => {
    const next = k.endedBeforeKill[i + 1] ?? (run === k.run ? undefined : k.run);
    out.push(`Crash: ${k.host} was killed (SIGKILL), but ${run} had ended before the kill landed: nothing to resume${next ? `; the demo ran ${next}, a longer run, and killed ${k.host} again` : ''}`);
  });
  if (k.resumedFromEpoch !== null && k.resumedFromTick !== null) {
    out.push(
      `Crash: ${k.host} was killed (SIGKILL) after logging epoch ${k.killedAfterEpoch} of ${k.run}; restarted, it resumed ${k.run} from checkpoint epoch ${k.resumedFromEpoch} (tick ${k.resumedFromTick} of ${k.ticks})`,
    );
  } else if (k.endedBeforeKill.length === 0) {
    out.push(`Crash: ${k.host} was killed (SIGKILL) after logging epoch ${k.killedAfterEpoch} of ${k.run}; restarted, it did not resume ${k.run} from a checkpoint`);
  }
  out.push(
    k.caughtUpEntries > 0
      ? `Catch-up: after its restart ${k.host} fetched ${k.caughtUpEntries} ledger entries certified while it was down`
      : `Catch-up: after its restart ${k.host} held the ledger entries certified while it was down (its log counted none fetched)`,
  );
  return out;
}

export function renderSummary(s: DemoSummary): string[] {
  const out: string[] = [''];
  out.push(`${s.ok ? 'Demo complete' : 'Demo finished with problems'}: ${s.nodes} hosts, ${s.runs.length} runs, ${s.seconds.toFixed(1)} s${s.quick ? ' (--quick)' : ''}`);
  out.push('');
  out.push('Runs');
  out.push(
    ...table(
      ['host', 'run', 'phase', 'state', 'epochs', 'checks pass/fail', 'rollbacks', 'last decision', 'throughput'],
      s.runs.map((r) => [
        r.host,
        r.run,
        r.phase,
        r.state,
        String(r.epochs),
        `${r.checks.pass}/${r.checks.fail}`,
        r.rollbacks === 0 ? '-' : `${r.rollbacks} (k → ${r.coupling === null ? '…' : formatG(r.coupling, 4)})`,
        r.lastDecision ? `${r.lastDecision.pass ? 'pass' : 'fail'} E=${r.lastDecision.E === null ? 'nan' : formatG(r.lastDecision.E, 5)} (${r.lastDecision.passed}/${r.lastDecision.lanes})` : '-',
        rate(r.updatesPerSecond),
      ]),
    ),
  );
  out.push('');
  out.push(`Decisions in the ledger: ${s.decisions.pass} pass, ${s.decisions.fail} fail; rollbacks ${s.rollbacks}, adaptations ${s.adaptations} (each entry certified by a quorum of validators)`);
  if (s.kill) out.push(...crashLines(s.kill));
  out.push('');
  out.push('Ledgers (verified offline: chains, signatures, Merkle proofs, quorum certificates)');
  out.push(
    ...table(
      ['host', 'entries', 'heads', 'verify', 'data'],
      s.ledgers.map((h) => [h.host, String(h.entries), Object.entries(h.heads).map(([o, n]) => `${o}:${n}`).join(' '), h.verified ? 'ok' : `FAILED ${h.problem ?? ''}`, h.dataDir]),
    ),
  );
  out.push(`  ${s.ledgersAgree ? 'all ledgers verify and hold the same entries' : 'the ledgers do NOT agree'}`);
  out.push('');
  out.push(`Data and logs: ${s.dataDir}  (host-N/host.log, host-N/data, keys/)`);
  if (s.kept.length > 0) out.push(`The hosts are still running (pids ${s.kept.join(', ')}); stop each with the shutdown command below, or: kill -TERM ${s.kept.join(' ')}`);
  out.push('Explore:');
  for (const c of s.explore) out.push(`  ${c}`);
  return out;
}
