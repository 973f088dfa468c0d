/**
 * Checkpoint records and their hash chain (SPEC §4).
 *
 * A checkpoint is {run, epoch, tick, stateHash, edges, timestamp, prevHash,
 * hash}. `hash` is SHA-256 over the fixed layout below, which covers every
 * other field; `prevHash` is the hash of the run's previous checkpoint, or 64
 * zeros for the first (genesis). Chain rules:
 * - same run as the previous checkpoint;
 * - epoch strictly greater than the previous one's. Epoch numbers order the
 *   run's history as it happened: a rollback does not reuse epoch numbers, it
 *   appends a new checkpoint carrying a `rollback` edge (its tick may then be
 *   lower than the previous checkpoint's).
 *
 * Layout (primitives as in bytes.ts):
 *
 *   str("qallow/checkpoint/v1")
 *   str(run) ‖ u32 epoch ‖ u32 tick ‖ hash32(stateHash)
 *   u32 edgeCount, then per edge str(kind) and:
 *     admin:      str(command) ‖ u32 tick
 *     adaptation: u32 ring ‖ f64 coupling ‖ u32 tick
 *     rollback:   u32 toEpoch ‖ u32 tick
 *   u64 timestamp (ms since the Unix epoch)
 *   hash32(prevHash)
 *
 * The chain detects accidental corruption and truncation; authenticity comes
 * from the signed ledger entries that carry the same stateHash (SPEC §6).
 */
import { QallowError } from '../errors.js';
import { isHash, sha256Hex, type LayoutWriter } from './bytes.js';
import { isU32, runIdProblem, show, u32Problem } from './validate.js';

export const CHECKPOINT_PURPOSE = 'qallow/checkpoint/v1';
export const GENESIS_HASH = '0'.repeat(64);
/** Admin command names are short words ("pause", "checkpoint"); the bound keeps records small. */
export const MAX_COMMAND_BYTES = 1024;

/** An admin command that applied during the epoch. */
export interface AdminEdge {
  readonly kind: 'admin';
  readonly command: string;
  readonly tick: number;
}

/** The governor lowered one ring's coupling. */
export interface AdaptationEdge {
  readonly kind: 'adaptation';
  readonly ring: number;
  readonly coupling: number;
  readonly tick: number;
}

/** The run went back to the state of an earlier epoch. */
export interface RollbackEdge {
  readonly kind: 'rollback';
  readonly toEpoch: number;
  readonly tick: number;
}

/** What shaped an epoch besides the previous state. */
export type CausalEdge = AdminEdge | AdaptationEdge | RollbackEdge;
export type CausalEdgeKind = CausalEdge['kind'];
export const CAUSAL_EDGE_KINDS: readonly CausalEdgeKind[] = ['admin', 'adaptation', 'rollback'];

/** The fields a caller supplies; sealing adds prevHash and hash. */
export interface CheckpointFields {
  readonly run: string;
  readonly epoch: number;
  /** Ticks computed in the checkpointed state. */
  readonly tick: number;
  readonly stateHash: string;
  readonly edges: readonly CausalEdge[];
  /** Milliseconds since the Unix epoch. */
  readonly timestamp: number;
}

export interface Checkpoint extends CheckpointFields {
  readonly prevHash: string;
  readonly hash: string;
}

export function edgeProblem(e: CausalEdge, field: string): string | null {
  if (typeof e !== 'object' || e === null) return `${field} must be an object (got ${show(e)})`;
  const tick = u32Problem(`${field}.tick`, e.tick);
  switch (e.kind) {
    case 'admin':
      if (typeof e.command !== 'string' || e.command.length === 0) return `${field}.command must be a non-empty string (got ${show(e.command)})`;
      if (Buffer.byteLength(e.command, 'utf8') > MAX_COMMAND_BYTES) return `${field}.command must be at most ${MAX_COMMAND_BYTES} bytes`;
      return tick;
    case 'adaptation':
      if (typeof e.coupling !== 'number' || !Number.isFinite(e.coupling)) return `${field}.coupling must be a finite number (got ${show(e.coupling)})`;
      return u32Problem(`${field}.ring`, e.ring) ?? tick;
    case 'rollback':
      return u32Problem(`${field}.toEpoch`, e.toEpoch) ?? tick;
    default:
      return `${field}.kind must be one of ${CAUSAL_EDGE_KINDS.join(', ')} (got ${show((e as { kind: unknown }).kind)})`;
  }
}

/** What is malformed in a checkpoint's fields (prevHash and hash too, when present), or null. */
export function checkpointProblem(c: CheckpointFields & { readonly prevHash?: string; readonly hash?: string }): string | null {
  if (typeof c !== 'object' || c === null) return `checkpoint must be an object (got ${show(c)})`;
  const p =
    runIdProblem(c.run) ??
    u32Problem('epoch', c.epoch) ??
    u32Problem('tick', c.tick) ??
    (isHash(c.stateHash) ? null : `stateHash must be 64 lowercase hex digits (got ${show(c.stateHash)})`) ??
    (Number.isSafeInteger(c.timestamp) && c.timestamp >= 0 ? null : `timestamp must be a non-negative integer of milliseconds (got ${show(c.timestamp)})`) ??
    (Array.isArray(c.edges) ? null : `edges must be an array (got ${show(c.edges)})`) ??
    ('prevHash' in c && !isHash(c.prevHash) ? `prevHash must be 64 lowercase hex digits (got ${show(c.prevHash)})` : null) ??
    ('hash' in c && !isHash(c.hash) ? `hash must be 64 lowercase hex digits (got ${show(c.hash)})` : null);
  if (p) return p;
  if (!isU32(c.edges.length)) return 'edges has too many entries';
  for (let i = 0; i < c.edges.length; i++) {
    const e = edgeProblem(c.edges[i]!, `edges[${i}]`);
    if (e) return e;
  }
  return null;
}

function writeCheckpoint(c: CheckpointFields & { readonly prevHash: string }, w: LayoutWriter): void {
  w.str(CHECKPOINT_PURPOSE);
  w.str(c.run);
  w.u32(c.epoch);
  w.u32(c.tick);
  w.hash32(c.stateHash);
  w.u32(c.edges.length);
  for (const e of c.edges) {
    w.str(e.kind);
    switch (e.kind) {
      case 'admin':
        w.str(e.command);
        break;
      case 'adaptation':
        w.u32(e.ring);
        w.f64(e.coupling);
        break;
      case 'rollback':
        w.u32(e.toEpoch);
        break;
    }
    w.u32(e.tick);
  }
  w.u64(c.timestamp);
  w.hash32(c.prevHash);
}

/** Hex SHA-256 of a checkpoint's fixed layout. The fields must be well formed (see checkpointProblem). */
export function checkpointHash(c: CheckpointFields & { readonly prevHash: string }): string {
  return sha256Hex((w) => writeCheckpoint(c, w));
}

function linkProblem(c: Checkpoint, prev: Checkpoint | null): string | null {
  if (prev === null) {
    return c.prevHash === GENESIS_HASH ? null : `prevHash is ${c.prevHash} but there is no previous checkpoint (a first checkpoint has prevHash ${GENESIS_HASH})`;
  }
  if (c.run !== prev.run) return `run is ${show(c.run)} but the previous checkpoint belongs to run ${show(prev.run)}`;
  if (c.epoch <= prev.epoch) return `epoch ${c.epoch} does not follow the previous checkpoint's epoch ${prev.epoch}`;
  if (c.prevHash !== prev.hash) return `prevHash ${c.prevHash} is not the hash of the previous checkpoint (epoch ${prev.epoch}, ${prev.hash})`;
  return null;
}

/** Chain `fields` onto `prev` (null for a run's first checkpoint). Throws BAD_PARAMETER naming the field. */
export function sealCheckpoint(fields: CheckpointFields, prev: Checkpoint | null): Checkpoint {
  const problem = checkpointProblem(fields);
  if (problem) throw new QallowError('BAD_PARAMETER', `checkpoint: ${problem}`, { problem });
  const unsealed = {
    run: fields.run,
    epoch: fields.epoch,
    tick: fields.tick,
    stateHash: fields.stateHash,
    edges: fields.edges.map((e) => ({ ...e })),
    timestamp: fields.timestamp,
    prevHash: prev === null ? GENESIS_HASH : prev.hash,
  };
  const sealed: Checkpoint = { ...unsealed, hash: checkpointHash(unsealed) };
  const link = linkProblem(sealed, prev);
  if (link) throw new QallowError('BAD_PARAMETER', `checkpoint: ${link}`, { problem: link });
  return sealed;
}

/** What is wrong with a checkpoint on its own (malformed, or `hash` does not match its contents), or null. */
export function verifyCheckpointHash(c: Checkpoint): string | null {
  const problem = checkpointProblem(c);
  if (problem) return problem;
  const expected = checkpointHash(c);
  return c.hash === expected ? null : `hash ${c.hash} does not match the checkpoint's contents (expected ${expected})`;
}

/** What is wrong with `c` as the successor of `prev` (null: a run's first checkpoint), or null if it verifies. */
export function verifyCheckpoint(c: Checkpoint, prev: Checkpoint | null): string | null {
  return verifyCheckpointHash(c) ?? linkProblem(c, prev);
}

export interface ChainProblem {
  /** Position in the list of the first checkpoint that does not verify. */
  readonly index: number;
  readonly epoch: number;
  readonly reason: string;
}

/**
 * Verify a run's checkpoints in epoch order. The first links to `prev`
 * (default: genesis, so the list must start at the run's first checkpoint).
 */
export function verifyChain(list: readonly Checkpoint[], prev: Checkpoint | null = null): ChainProblem | null {
  let before = prev;
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    const reason = verifyCheckpoint(c, before);
    if (reason) return { index: i, epoch: typeof c.epoch === 'number' ? c.epoch : -1, reason };
    before = c;
  }
  return null;
}
