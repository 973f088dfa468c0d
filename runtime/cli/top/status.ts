/**
 * What `qallow top` reads from a host's `status` reply (runtime/host.ts
 * hostStatus), decoded into the few typed figures the view shows. The reply
 * is untrusted input: the node id must be there (BAD_FRAME naming the field
 * otherwise); every other figure that is missing or of the wrong type reads
 * as "unknown" (null), so a host one version older still gets a view.
 */
import { QallowError } from '../../errors.js';

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

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : null;
}
function list(v: unknown): Obj[] {
  return Array.isArray(v) ? v.map(obj).filter((o): o is Obj => o !== null) : [];
}
function num(o: Obj | null, k: string): number | null {
  const v = o?.[k];
  return typeof v === 'number' ? v : null;
}
function str(o: Obj | null, k: string, dflt = '?'): string {
  const v = o?.[k];
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : dflt;
}

function action(a: Obj | null): string | null {
  if (!a) return null;
  const type = str(a, 'type');
  if (type === 'rollback') return `rollback→e${str(a, 'toEpoch')}`;
  if (type === 'continue') return `continue (${str(a, 'reason')})`;
  return type;
}

function runView(r: Obj): RunView {
  const d = obj(r['lastDecision']);
  return {
    run: str(r, 'run'),
    phase: str(r, 'phase', '-'),
    state: str(r, 'state'),
    pauseReason: typeof r['pauseReason'] === 'string' ? r['pauseReason'] : null,
    tick: num(r, 'tick'),
    ticks: num(r, 'ticks'),
    epoch: num(r, 'epoch'),
    minTotal: num(d, 'minTotal'),
    passed: num(d, 'passed'),
    lanes: num(d, 'lanes'),
    pass: typeof d?.['pass'] === 'boolean' ? d['pass'] : null,
    action: action(obj(r['lastAction'])),
    adaptations: num(r, 'adaptations'),
  };
}

function ledgerView(g: Obj | null): LedgerView | null {
  if (!g) return null;
  const heads: Record<string, number> = {};
  for (const [k, v] of Object.entries(obj(g['heads']) ?? {})) if (typeof v === 'number') heads[k] = v;
  const l = obj(g['ledger']);
  const lat = obj(l?.['commitLatencyMs']);
  return {
    validators: Array.isArray(g['validators']) ? g['validators'].length : 0,
    quorum: num(g, 'quorum') ?? 0,
    quorumAvailable: g['quorumAvailable'] === true,
    heads,
    committed: num(l, 'committed'),
    latency: lat && num(lat, 'p50') !== null ? { p50: num(lat, 'p50')!, p99: num(lat, 'p99') ?? NaN, last: num(lat, 'last') ?? NaN } : null,
  };
}

export function decodeHostStatus(v: unknown): HostView {
  const s = obj(v);
  if (!s || typeof s['node'] !== 'string') throw new QallowError('BAD_FRAME', 'status reply: node must be the host’s node id', { field: 'status.node' });
  const cluster = obj(s['cluster']);
  const pool = obj(s['pool']);
  return {
    node: s['node'],
    uptimeMs: num(s, 'uptimeMs'),
    members: cluster
      ? list(cluster['members']).map((m) => ({ node: str(m, 'node'), status: str(m, 'status'), phi: num(m, 'phi'), silentMs: num(m, 'silentMs') }))
      : null,
    actors: list(s['actors']).map((a) => ({
      actor: str(a, 'actor'),
      state: str(a, 'state'),
      processed: num(a, 'processed'),
      mailboxDepth: num(a, 'mailboxDepth'),
      mailboxCapacity: num(a, 'mailboxCapacity'),
      p50Ms: num(a, 'processingP50Ms'),
      p99Ms: num(a, 'processingP99Ms'),
      restarts: num(a, 'restarts'),
    })),
    runs: list(s['runs']).map(runView),
    ledger: ledgerView(obj(s['governance'])),
    pool: pool ? { threads: num(pool, 'threads'), running: num(pool, 'running'), queued: num(pool, 'queued'), utilization: num(pool, 'utilization') } : null,
  };
}
