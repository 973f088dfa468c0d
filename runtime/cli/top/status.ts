/**
 * What `qallow top` shows of a host's `status` reply: the few figures of the
 * view, taken from the typed reply (runtime/admin/replies.ts StatusReply,
 * which the admin client has validated: a malformed reply is BAD_FRAME
 * naming the field before it gets here). A figure the host does not have
 * (a run known only from its store has no decision) reads as unknown (null).
 */
import { decodeAdminReply, isLiveRun, type GovernanceReport, type GovernorActionReport, type RunReport, type StatusReply } from '../../admin/replies.js';

export interface MemberView {
  readonly node: string;
  readonly status: string;
  readonly phi: number | null;
  readonly silentMs: number | null;
}

export interface ActorView {
  readonly actor: string;
  readonly state: string;
  readonly processed: number | null;
  readonly mailboxDepth: number | null;
  readonly mailboxCapacity: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly restarts: number | null;
}

export interface RunView {
  readonly run: string;
  readonly phase: string;
  readonly state: string;
  readonly pauseReason: string | null;
  readonly tick: number | null;
  readonly ticks: number | null;
  readonly epoch: number | null;
  readonly minTotal: number | null;
  readonly passed: number | null;
  readonly lanes: number | null;
  readonly pass: boolean | null;
  /** The governor's last action: continue, rollback (to epoch) or halt. */
  readonly action: string | null;
  readonly adaptations: number | null;
}

export interface LedgerView {
  readonly validators: number;
  readonly quorum: number;
  readonly quorumAvailable: boolean;
  /** Height by origin. */
  readonly heads: Readonly<Record<string, number>>;
  readonly committed: number | null;
  readonly latency: { readonly p50: number; readonly p99: number; readonly last: number } | null;
}

export interface PoolView {
  readonly threads: number | null;
  readonly running: number | null;
  readonly queued: number | null;
  readonly utilization: number | null;
}

export interface HostView {
  readonly node: string;
  readonly uptimeMs: number | null;
  /** null: the host runs without a cluster. */
  readonly members: readonly MemberView[] | null;
  readonly actors: readonly ActorView[];
  readonly runs: readonly RunView[];
  /** null: the host keeps no ledger (a host without a cluster keeps its own, quorum 1 of 1). */
  readonly ledger: LedgerView | null;
  readonly pool: PoolView | null;
}

function action(a: GovernorActionReport | null): string | null {
  if (!a) return null;
  if (a.type === 'rollback') return `rollback→e${a.toEpoch}`;
  if (a.type === 'continue') return `continue (${a.reason})`;
  return a.type;
}

function runView(r: RunReport): RunView {
  const live = isLiveRun(r) ? r : null;
  const d = live?.lastDecision ?? null;
  return {
    run: r.run,
    phase: r.phase ?? '-',
    state: r.state,
    pauseReason: live?.pauseReason ?? null,
    tick: r.tick,
    ticks: r.ticks,
    epoch: r.epoch,
    minTotal: d?.minTotal ?? null,
    passed: d?.passed ?? null,
    lanes: d?.lanes ?? null,
    pass: d?.pass ?? null,
    action: action(live?.lastAction ?? null),
    adaptations: live?.adaptations ?? null,
  };
}

function ledgerView(g: GovernanceReport | null): LedgerView | null {
  if (!g) return null;
  const lat = g.ledger.commitLatencyMs;
  return {
    validators: g.validators.length,
    quorum: g.quorum,
    quorumAvailable: g.quorumAvailable,
    heads: { ...g.heads },
    committed: g.ledger.committed,
    latency: lat ? { p50: lat.p50, p99: lat.p99, last: lat.last } : null,
  };
}

/** The view of a validated status reply. */
export function hostView(s: StatusReply): HostView {
  return {
    node: s.node,
    uptimeMs: s.uptimeMs,
    members: s.cluster ? s.cluster.members.map((m) => ({ node: m.node, status: m.status, phi: m.phi, silentMs: m.silentMs })) : null,
    actors: s.actors.map((a) => ({
      actor: a.actor,
      state: a.state,
      processed: a.processed,
      mailboxDepth: a.mailboxDepth,
      mailboxCapacity: a.mailboxCapacity,
      p50Ms: a.processingP50Ms,
      p99Ms: a.processingP99Ms,
      restarts: a.restarts,
    })),
    runs: s.runs.map(runView),
    ledger: ledgerView(s.governance),
    pool: s.pool ? { threads: s.pool.threads, running: s.pool.running, queued: s.pool.queued, utilization: s.pool.utilization } : null,
  };
}

/** A status reply's result as it came (tests, tools): validated by the admin client's decoder, then viewed. */
export function decodeHostStatus(v: unknown): HostView {
  return hostView(decodeAdminReply('status', v));
}
