/**
 * What a host answers to each admin command: `AdminReplies[K]` is the
 * `result` of an `{ ok: true, result }` reply to a command of type K
 * (README.md "Replies" documents each one). The host's handlers are typed
 * against these (runtime/host.ts), and `decodeAdminReply` is the one place
 * a client turns a reply's `result` into them: the CLI commands, `top`,
 * `ledger tail` and the demo all go through `sendAdminCommand`
 * (client.ts), which calls it.
 *
 * Decode means validate: every declared field is checked, and a missing or
 * mistyped one is BAD_FRAME with `details.field` naming it
 * (`status.runs[0].tick`). Fields a host sends beyond the declared ones are
 * kept as they came (a newer host's additions, and diagnostic parts such as
 * `status.cluster.transport` that no client reads); clients must not rely on
 * them. Integers may come in any exact MessagePack encoding (a uint64 as a
 * BigInt too) and are handed on as numbers.
 *
 * Types are the protocol's own, not imports of the host's internals: the
 * host's values must be assignable to them, so a field renamed on either
 * side fails to compile. `REPLY_DECODERS` is a table over every command
 * type: a command added without a reply type and decoder does not compile.
 */
import { QallowError } from '../errors.js';
import { exactInteger } from '../integer.js';
import { ADMIN_COMMAND_TYPES, type AdminCommandType } from './command.js';

export type RunPhase = 'phase12' | 'phase13';

/** The governor's figures at a run's newest epoch. */
export interface DecisionReport {
  readonly epoch: number;
  readonly tick: number;
  /** Lanes (strands or rings) that pass; the epoch passes when all do. */
  readonly passed: number;
  readonly lanes: number;
  readonly pass: boolean;
  /** Lowest total and highest entropy over the lanes (NaN when any is NaN). */
  readonly minTotal: number;
  readonly maxEntropy: number;
}

export type GovernorActionReport =
  | { readonly type: 'continue'; readonly reason: 'passing' | 'converging' | 'failing' }
  | {
      readonly type: 'rollback';
      readonly toEpoch: number;
      readonly toTick: number;
      readonly reason: string;
      readonly adaptation: { readonly rings: readonly number[]; readonly fromCouplings: readonly number[]; readonly toCouplings: readonly number[] };
    }
  | { readonly type: 'halt'; readonly reason: string };

export type PauseReasonReport = 'admin' | 'quorum' | 'storage';

/** The failed write a `storage` pause waits out; times are ms since the Unix epoch. */
export interface StorageFaultReport {
  readonly message: string;
  readonly since: number;
  readonly attempts: number;
  readonly retryAt: number;
}

/** Where a run was reopened from at this host's start. */
export interface RecoveryReport {
  readonly epoch: number;
  readonly tick: number;
  readonly skipped: readonly { readonly epoch: number; readonly reason: string }[];
}

/** A run this host drives now (or one that failed): its last reported status (actors/phase.ts RunStatus). */
export interface LiveRunReport {
  readonly run: string;
  readonly phase: RunPhase;
  /** running, paused, done, halted, cancelled, failed, ... */
  readonly state: string;
  readonly tick: number;
  readonly ticks: number;
  readonly paced: boolean;
  readonly epoch: number;
  /** stateHash of the newest checkpoint (hex; empty before the first). */
  readonly stateHash: string;
  readonly backend: string;
  readonly executor: string;
  readonly lastDecision: DecisionReport | null;
  readonly lastAction: GovernorActionReport | null;
  readonly pauseReason: PauseReasonReport | null;
  readonly storageFault: StorageFaultReport | null;
  readonly adaptations: number;
  readonly couplings: readonly number[];
  readonly recovered: RecoveryReport | null;
  readonly incarnation: number;
  /** Why the run failed (state `failed`); null or absent otherwise. */
  readonly failure?: string | null | undefined;
}

/** A run known only from the store (ended, or not reopened): what the store says of it. */
export interface StoredRunReport {
  readonly run: string;
  readonly phase: RunPhase | null;
  readonly state: string;
  readonly tick: number;
  readonly ticks: number | null;
  readonly epoch: number;
  readonly stateHash: string | null;
  readonly backend: string | null;
  /** Never there: what tells a stored run from a live one (so a live status cannot pass for a stored one). */
  readonly executor?: undefined;
}

/** One entry of `runs` (and of `status.runs`): a live run has `executor`, a stored one does not. */
export type RunReport = LiveRunReport | StoredRunReport;

export function isLiveRun(r: RunReport): r is LiveRunReport {
  return 'executor' in r;
}

export interface MemberReport {
  readonly node: string;
  readonly status: 'up' | 'suspect' | 'down';
  readonly phi: number;
  readonly incarnation: number | null;
  /** ms since its last heartbeat; null before the first. */
  readonly silentMs: number | null;
  /** When it entered `status` (ms since the Unix epoch). */
  readonly since: number;
}

export interface PacedPeerReport {
  readonly node: string;
  /** Its paced runs and their ticks, from its latest sync pulse. */
  readonly runs: Readonly<Record<string, number>>;
  /** ms since its pulse was sent, by this host's clock against the peer's (negative under skew). */
  readonly ageMs: number;
}

/** The cluster part of `status` (null without `config.cluster`); `links`, `transport`, `router` are diagnostics, not declared. */
export interface ClusterReport {
  readonly node: string;
  readonly endpoint: string;
  readonly incarnation: number;
  readonly members: readonly MemberReport[];
  readonly harmonicMeanCycleMs: number | null;
  readonly slowdownFactor: number;
  readonly paced: readonly PacedPeerReport[];
}

export interface LatencyReport {
  readonly p50: number;
  readonly p99: number;
  readonly last: number;
  readonly samples: number;
}

export interface GovernanceReport {
  readonly validators: readonly string[];
  readonly quorum: number;
  readonly quorumAvailable: boolean;
  /** Committed height by origin. */
  readonly heads: Readonly<Record<string, number>>;
  /** This host's origin chain. */
  readonly ledger: { readonly committed: number; readonly rounds: number; readonly queued: number; readonly inFlight: number; readonly commitLatencyMs: LatencyReport | null };
  readonly validator: { readonly votes: number; readonly refused: number; readonly refusedBy: Readonly<Record<string, number>> };
}

export interface PoolReport {
  readonly threads: number;
  readonly queued: number;
  readonly running: number;
  readonly completed: number;
  readonly failed: number;
  readonly crashed: number;
  /** Share of the pool's capacity spent running tasks, 0..1. */
  readonly utilization: number;
}

/** One actor's figures (runtime/actors/metrics.ts ActorMetrics). */
export interface ActorReport {
  readonly actor: string;
  readonly state: 'running' | 'restarting' | 'stopped';
  readonly incarnation: number;
  readonly processed: number;
  readonly mailboxDepth: number;
  readonly mailboxCapacity: number;
  readonly processingP50Ms: number;
  readonly processingP99Ms: number;
  readonly processingSamples: number;
  readonly restarts: number;
  readonly crashes: number;
  readonly deadLetters: number;
  readonly mailboxFull: number;
}

export interface ActorNodeReport {
  readonly kind: 'actor';
  readonly name: string;
  readonly id: string;
  readonly state: string;
  readonly incarnation: number;
  readonly restarts: number;
  readonly mailboxDepth: number;
  readonly lastError: string | null;
}

/** A supervisor in the tree; `intensity`, `backoff`, `lastDecision` and the like come too, undeclared. */
export interface SupervisorNodeReport {
  readonly kind: 'supervisor';
  readonly name: string;
  readonly id: string;
  readonly strategy: string;
  readonly onExhausted: string;
  readonly state: string;
  readonly incarnation: number;
  readonly restarts: number;
  readonly restartsInWindow: number;
  readonly children: readonly TreeReport[];
}

export type TreeReport = ActorNodeReport | SupervisorNodeReport;

export interface StatusReply {
  readonly node: string;
  readonly uptimeMs: number;
  readonly cluster: ClusterReport | null;
  readonly governance: GovernanceReport | null;
  readonly pid: number;
  /** The admin endpoint this host bound (tcp://...). */
  readonly admin: string | null;
  readonly pool: PoolReport | null;
  readonly tree: TreeReport | null;
  readonly actors: readonly ActorReport[];
  readonly runs: readonly RunReport[];
}

export interface CheckpointReply {
  readonly epoch: number;
  readonly tick: number;
  readonly stateHash: string;
}

export interface ActorReply {
  /** The actor's address, as sent. */
  readonly actor: string;
  /** What happened, for a person. */
  readonly action: string;
}

export interface ShutdownReply {
  readonly node: string;
  readonly action: string;
  /** `certified`, or `not certified before the stop: WHY`. */
  readonly ledger: string;
}

export interface LedgerTailReply {
  /** Every origin's height when the answer was read: the next cursor. */
  readonly heads: Readonly<Record<string, number>>;
  /** Export lines (runtime/ledger/export.ts), merged by commit time. */
  readonly records: readonly string[];
  /** Some origin had more records past its cursor than `limit`: ask again at once. */
  readonly more: boolean;
  readonly validators: number;
  readonly quorum: number;
}

/** The result of each admin command, by command type. */
export interface AdminReplies {
  readonly status: StatusReply;
  readonly runs: readonly RunReport[];
  readonly run: LiveRunReport;
  readonly pause: LiveRunReport;
  readonly resume: LiveRunReport;
  readonly cancel: LiveRunReport;
  readonly 'actor.restart': ActorReply;
  readonly 'actor.stop': ActorReply;
  readonly 'checkpoint.take': CheckpointReply;
  readonly shutdown: ShutdownReply;
  readonly 'ledger.tail': LedgerTailReply;
}

/** Any reply's result. */
export type AdminResult = AdminReplies[AdminCommandType];

// Compile-time: AdminReplies has exactly the command types as keys.
type SameKeys<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const REPLIES_COVER_COMMANDS: SameKeys<keyof AdminReplies, AdminCommandType> = true;
void REPLIES_COVER_COMMANDS;

/** Decodes (validates) one value at `path`, naming it in the error. */
export type Decoder<T> = (value: unknown, path: string) => T;

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (value instanceof Uint8Array) return `${value.byteLength} bytes`;
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  return String(value);
}

export function badReply(path: string, rule: string, value: unknown): QallowError {
  return new QallowError('BAD_FRAME', `admin reply: ${path} ${rule} (got ${show(value)})`, { field: path, value: show(value) });
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

const str: Decoder<string> = (v, p) => {
  if (typeof v !== 'string') throw badReply(p, 'must be a string', v);
  return v;
};
/** A safe non-negative integer in any exact encoding. */
const count: Decoder<number> = (v, p) => {
  const n = exactInteger(v);
  if (n === undefined || n < 0) throw badReply(p, 'must be an integer from 0 to 2^53 − 1', v);
  return n;
};
/** Any float (NaN and ±Infinity included: figures of a failing run). */
const num: Decoder<number> = (v, p) => {
  if (typeof v === 'number') return v;
  const n = exactInteger(v);
  if (n === undefined) throw badReply(p, 'must be a number', v);
  return n;
};
const bool: Decoder<boolean> = (v, p) => {
  if (typeof v !== 'boolean') throw badReply(p, 'must be true or false', v);
  return v;
};
function nullable<T>(d: Decoder<T>): Decoder<T | null> {
  return (v, p) => (v === null ? null : d(v, p));
}
function optional<T>(d: Decoder<T>): Decoder<T | undefined> {
  return (v, p) => (v === undefined ? undefined : d(v, p));
}
/** A field that must not be there. */
const absent: Decoder<undefined> = (v, p) => {
  if (v !== undefined) throw badReply(p, 'must be absent', v);
  return undefined;
};
function oneOf<const T extends string>(...values: readonly T[]): Decoder<T> {
  return (v, p) => {
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) throw badReply(p, `must be one of ${values.join(', ')}`, v);
    return v as T;
  };
}
function list<T>(d: Decoder<T>): Decoder<readonly T[]> {
  return (v, p) => {
    if (!Array.isArray(v)) throw badReply(p, 'must be a list', v);
    return v.map((x: unknown, i) => d(x, `${p}[${i}]`));
  };
}
function record<T>(d: Decoder<T>): Decoder<Readonly<Record<string, T>>> {
  return (v, p) => {
    if (!isMap(v)) throw badReply(p, 'must be a map', v);
    const out: Record<string, T> = {};
    for (const [k, x] of Object.entries(v)) out[k] = d(x, `${p}.${k}`);
    return out;
  };
}
/**
 * A map with these fields, each decoded; the table must name every field of
 * T (a field added to T without a decoder does not compile). Undeclared
 * fields are kept, in the order they came.
 */
function struct<T extends object>(fields: { readonly [K in keyof T]-?: Decoder<T[K]> }): Decoder<T> {
  return (v, p) => {
    if (!isMap(v)) throw badReply(p, 'must be a map', v);
    const out: Record<string, unknown> = { ...v };
    for (const k of Object.keys(fields) as (keyof T & string)[]) {
      const d = fields[k] as Decoder<unknown>;
      const x = d(v[k], `${p}.${k}`);
      if (x !== undefined || Object.hasOwn(v, k)) out[k] = x;
    }
    return out as T;
  };
}
/** A union told apart by `tag`: the decoder for the tag's value. */
function tagged<T extends object>(tag: string, cases: { readonly [V: string]: Decoder<T> }): Decoder<T> {
  return (v, p) => {
    if (!isMap(v)) throw badReply(p, 'must be a map', v);
    const t = v[tag];
    const d = typeof t === 'string' && Object.hasOwn(cases, t) ? cases[t] : undefined;
    if (!d) throw badReply(`${p}.${tag}`, `must be one of ${Object.keys(cases).join(', ')}`, t);
    return d(v, p);
  };
}

const decision = struct<DecisionReport>({ epoch: count, tick: count, passed: count, lanes: count, pass: bool, minTotal: num, maxEntropy: num });
const couplings = list(num);
const action = tagged<GovernorActionReport>('type', {
  continue: struct<Extract<GovernorActionReport, { type: 'continue' }>>({ type: oneOf('continue'), reason: oneOf('passing', 'converging', 'failing') }),
  rollback: struct<Extract<GovernorActionReport, { type: 'rollback' }>>({
    type: oneOf('rollback'),
    toEpoch: count,
    toTick: count,
    reason: str,
    adaptation: struct({ rings: list(count), fromCouplings: couplings, toCouplings: couplings }),
  }),
  halt: struct<Extract<GovernorActionReport, { type: 'halt' }>>({ type: oneOf('halt'), reason: str }),
});
const phase = oneOf<RunPhase>('phase12', 'phase13');

const liveRun = struct<LiveRunReport>({
  run: str,
  phase,
  state: str,
  tick: count,
  ticks: count,
  paced: bool,
  epoch: count,
  stateHash: str,
  backend: str,
  executor: str,
  lastDecision: nullable(decision),
  lastAction: nullable(action),
  pauseReason: nullable(oneOf<PauseReasonReport>('admin', 'quorum', 'storage')),
  storageFault: nullable(struct<StorageFaultReport>({ message: str, since: count, attempts: count, retryAt: count })),
  adaptations: count,
  couplings,
  recovered: nullable(struct<RecoveryReport>({ epoch: count, tick: count, skipped: list(struct({ epoch: count, reason: str })) })),
  incarnation: count,
  failure: optional(nullable(str)),
});
const storedRun = struct<StoredRunReport>({ run: str, phase: nullable(phase), state: str, tick: count, ticks: nullable(count), epoch: count, stateHash: nullable(str), backend: nullable(str), executor: absent });
const runReport: Decoder<RunReport> = (v, p) => (isMap(v) && Object.hasOwn(v, 'executor') ? liveRun(v, p) : storedRun(v, p));

// Durations between two clocks (a peer's sentAt, this host's now) may be negative under skew: any number.
const member = struct<MemberReport>({ node: str, status: oneOf('up', 'suspect', 'down'), phi: num, incarnation: nullable(count), silentMs: nullable(num), since: num });
const cluster = struct<ClusterReport>({
  node: str,
  endpoint: str,
  incarnation: count,
  members: list(member),
  harmonicMeanCycleMs: nullable(num),
  slowdownFactor: num,
  paced: list(struct<PacedPeerReport>({ node: str, runs: record(count), ageMs: num })),
});
const governance = struct<GovernanceReport>({
  validators: list(str),
  quorum: count,
  quorumAvailable: bool,
  heads: record(count),
  ledger: struct({ committed: count, rounds: count, queued: count, inFlight: count, commitLatencyMs: nullable(struct<LatencyReport>({ p50: num, p99: num, last: num, samples: count })) }),
  validator: struct({ votes: count, refused: count, refusedBy: record(count) }),
});
const pool = struct<PoolReport>({ threads: count, queued: count, running: count, completed: count, failed: count, crashed: count, utilization: num });
const actor = struct<ActorReport>({
  actor: str,
  state: oneOf('running', 'restarting', 'stopped'),
  incarnation: count,
  processed: count,
  mailboxDepth: count,
  mailboxCapacity: count,
  processingP50Ms: num,
  processingP99Ms: num,
  processingSamples: count,
  restarts: count,
  crashes: count,
  deadLetters: count,
  mailboxFull: count,
});
const tree: Decoder<TreeReport> = tagged<TreeReport>('kind', {
  actor: struct<ActorNodeReport>({ kind: oneOf('actor'), name: str, id: str, state: str, incarnation: count, restarts: count, mailboxDepth: count, lastError: nullable(str) }),
  supervisor: (v, p) => supervisor(v, p),
});
const supervisor: Decoder<SupervisorNodeReport> = struct<SupervisorNodeReport>({
  kind: oneOf('supervisor'),
  name: str,
  id: str,
  strategy: str,
  onExhausted: str,
  state: str,
  incarnation: count,
  restarts: count,
  restartsInWindow: count,
  children: list(tree),
});
const liveRunOnly: Decoder<LiveRunReport> = (v, p) => {
  if (isMap(v) && !Object.hasOwn(v, 'executor')) throw badReply(`${p}.executor`, 'must be a string (a run the host drives)', undefined);
  return liveRun(v, p);
};
const actorReply = struct<ActorReply>({ actor: str, action: str });

/** One decoder per command type (the table does not compile with one missing). */
export const REPLY_DECODERS: { readonly [K in AdminCommandType]: Decoder<AdminReplies[K]> } = {
  status: struct<StatusReply>({
    node: str,
    uptimeMs: count,
    cluster: nullable(cluster),
    governance: nullable(governance),
    pid: count,
    admin: nullable(str),
    pool: nullable(pool),
    tree: nullable(tree),
    actors: list(actor),
    runs: list(runReport),
  }),
  runs: list(runReport),
  run: liveRunOnly,
  pause: liveRunOnly,
  resume: liveRunOnly,
  cancel: liveRunOnly,
  'actor.restart': actorReply,
  'actor.stop': actorReply,
  'checkpoint.take': struct<CheckpointReply>({ epoch: count, tick: count, stateHash: str }),
  shutdown: struct<ShutdownReply>({ node: str, action: str, ledger: str }),
  'ledger.tail': struct<LedgerTailReply>({ heads: record(count), records: list(str), more: bool, validators: count, quorum: count }),
};

/**
 * The result of a reply to a command of type `type`, validated; BAD_FRAME
 * with `details.field` naming the first bad field, the path starting with
 * the command type (`status.runs[0].tick`, `ledger.tail.heads.n-a`).
 */
export function decodeAdminReply<K extends AdminCommandType>(type: K, result: unknown): AdminReplies[K] {
  if (!(ADMIN_COMMAND_TYPES as readonly string[]).includes(type)) throw new QallowError('BAD_PARAMETER', `no admin command of type ${String(type)}`, { field: 'type' });
  const decode: Decoder<AdminReplies[K]> = REPLY_DECODERS[type];
  return decode(result, type);
}
