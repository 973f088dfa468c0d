/**
 * A ledger entry: one governance decision by one origin host (SPEC §3, §6),
 * its canonical bytes, its hash, and the decoder that turns untrusted bytes
 * back into a typed entry or names the bad field.
 *
 * Canonical bytes (little-endian, no JSON, no key order):
 *
 *   u32 22 ‖ "qallow/ledger-entry/v1"     purpose prefix (as identity/signing.ts writes it)
 *   str     origin                        node id of the host that wrote the entry
 *   u64     seq                           1, 2, 3, ... per origin
 *   32      prevHash                      hash of the origin's entry seq − 1; 32 zero bytes for seq 1
 *   u8      kind                          1 ethics_check, 2 rollback, 3 adaptation, 4 halt, 5 admin, 6 supervision
 *   str     run                           run id ("" for entries about no run)
 *   u32     epoch
 *   u64     tick
 *   32      stateHash                     the checkpoint's stateHash (zeros when there is none)
 *   f64     figures.minTotal              lowest E = S + C + H over the lanes (NaN allowed)
 *   f64     figures.maxEntropy            highest entropy figure over the lanes (NaN allowed)
 *   u32     figures.passed                lanes (strands or rings) that passed
 *   u32     figures.lanes                 lanes checked
 *   str     decision                      "pass", "fail", "continue", "rollback", "halt", ...
 *   detail, by kind:
 *     ethics_check  f64 threshold ‖ f64 entropyMax
 *     rollback      u32 toEpoch ‖ str reason
 *     adaptation    u32 n ‖ u32 rings[n] ‖ f64 fromCoupling[n] ‖ f64 toCoupling[n]
 *     halt          str reason
 *     admin         str command ‖ str actorOrRun
 *     supervision   str actor ‖ str action ‖ u32 restarts ‖ u32 withinMs
 *   u64     timestamp                     ms since the Unix epoch, origin's clock
 *
 *   str(s) = u32 byte length ‖ UTF-8.  f64 = IEEE 754 binary64, bit for bit
 *   (−0 stays −0); NaN is written as the one quiet NaN 0x7ff8000000000000 and
 *   the decoder refuses any other NaN pattern, so every entry has exactly one
 *   encoding and decode(encode(e)) = e.
 *
 * hash = SHA-256 of those bytes. What the origin signs is a batch root over
 * entry hashes (batch.ts, merkle.ts); a lone entry is a batch of one.
 */
import { createHash } from 'node:crypto';
import { isNodeId, type NodeId } from '../actors/address.js';
import { QallowError, type ErrorCode } from '../errors.js';
import { signedBytes, PURPOSE } from '../identity/signing.js';
import { collect, isHash, type LayoutWriter } from '../store/bytes.js';
import { ByteReader } from './reader.js';

export const ENTRY_PURPOSE = PURPOSE.ledgerEntry;
export const ENTRY_KINDS = ['ethics_check', 'rollback', 'adaptation', 'halt', 'admin', 'supervision'] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

export const ZERO_HASH = '0'.repeat(64);
export const MAX_RUN_BYTES = 256;
export const MAX_DECISION_BYTES = 64;
export const MAX_TEXT_BYTES = 1024;
export const MAX_ADAPTATION_RINGS = 4096;
const MAX_U32 = 0xffff_ffff;

export interface Figures {
  /** Lowest ethics total over the lanes; NaN when a lane diverged. */
  readonly minTotal: number;
  /** Highest entropy figure over the lanes (phase 12 entropy, phase 13 ê). */
  readonly maxEntropy: number;
  readonly passed: number;
  readonly lanes: number;
}

/** The typed per-kind record. Adding a kind means adding it here, to the layout and to the test fixtures. */
export interface DetailByKind {
  ethics_check: { readonly threshold: number; readonly entropyMax: number };
  rollback: { readonly toEpoch: number; readonly reason: string };
  adaptation: { readonly rings: readonly number[]; readonly fromCoupling: readonly number[]; readonly toCoupling: readonly number[] };
  halt: { readonly reason: string };
  admin: { readonly command: string; readonly actorOrRun: string };
  supervision: { readonly actor: string; readonly action: string; readonly restarts: number; readonly withinMs: number };
}

interface EntryCommon {
  readonly origin: NodeId;
  readonly seq: number;
  readonly prevHash: string;
  readonly run: string;
  readonly epoch: number;
  readonly tick: number;
  readonly stateHash: string;
  readonly figures: Figures;
  readonly decision: string;
  readonly timestamp: number;
}

export type LedgerEntryOf<K extends EntryKind> = EntryCommon & { readonly kind: K; readonly detail: DetailByKind[K] };
export type LedgerEntry = { [K in EntryKind]: LedgerEntryOf<K> }[EntryKind];

// ---------------------------------------------------------------------------
// Field rules (shared by the encoder, which throws BAD_PARAMETER, and the decoder, LEDGER_BAD_ENTRY)

type Fail = (field: string, problem: string) => QallowError;

const LONE_SURROGATE = /\p{Cs}/u;

function text(fail: Fail, field: string, v: unknown, max: number, nonEmpty = false): void {
  if (typeof v !== 'string') throw fail(field, `must be a string (got ${typeof v})`);
  if (LONE_SURROGATE.test(v)) throw fail(field, 'must be valid Unicode (has a lone surrogate)');
  const n = Buffer.byteLength(v, 'utf8');
  if (n > max) throw fail(field, `must be at most ${max} bytes of UTF-8 (got ${n})`);
  if (nonEmpty && n === 0) throw fail(field, 'must not be empty');
}

function u32(fail: Fail, field: string, v: unknown, min = 0): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > MAX_U32) throw fail(field, `must be an integer from ${min} to ${MAX_U32} (got ${String(v)})`);
}

function u64(fail: Fail, field: string, v: unknown, min = 0): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw fail(field, `must be an integer from ${min} to 2^53 − 1 (got ${String(v)})`);
}

function f64(fail: Fail, field: string, v: unknown, finite = false): void {
  if (typeof v !== 'number') throw fail(field, `must be a number (got ${typeof v})`);
  if (finite && !Number.isFinite(v)) throw fail(field, `must be finite (got ${v})`);
}

function hash(fail: Fail, field: string, v: unknown): void {
  if (!isHash(v)) throw fail(field, `must be 64 lowercase hex digits (got ${JSON.stringify(String(v).slice(0, 80))})`);
}

function list(fail: Fail, field: string, v: unknown, n: number): readonly unknown[] {
  if (!Array.isArray(v)) throw fail(field, 'must be an array');
  if (v.length !== n) throw fail(field, `must have ${n} values, one per ring (got ${v.length})`);
  return v;
}

function checkDetail(fail: Fail, kind: EntryKind, d: unknown): void {
  if (typeof d !== 'object' || d === null) throw fail('detail', `must be an object for kind ${kind}`);
  const o = d as Record<string, unknown>;
  const only = (...keys: string[]): void => {
    for (const k of Object.keys(o)) if (!keys.includes(k)) throw fail(`detail.${k}`, `is not a field of a ${kind} entry (expected ${keys.join(', ')})`);
  };
  switch (kind) {
    case 'ethics_check':
      only('threshold', 'entropyMax');
      f64(fail, 'detail.threshold', o['threshold'], true);
      f64(fail, 'detail.entropyMax', o['entropyMax'], true);
      return;
    case 'rollback':
      only('toEpoch', 'reason');
      u32(fail, 'detail.toEpoch', o['toEpoch']);
      text(fail, 'detail.reason', o['reason'], MAX_TEXT_BYTES);
      return;
    case 'adaptation': {
      only('rings', 'fromCoupling', 'toCoupling');
      const rings = o['rings'];
      if (!Array.isArray(rings)) throw fail('detail.rings', 'must be an array of ring indexes');
      if (rings.length > MAX_ADAPTATION_RINGS) throw fail('detail.rings', `must have at most ${MAX_ADAPTATION_RINGS} values (got ${rings.length})`);
      rings.forEach((r, i) => u32(fail, `detail.rings[${i}]`, r));
      list(fail, 'detail.fromCoupling', o['fromCoupling'], rings.length).forEach((v, i) => f64(fail, `detail.fromCoupling[${i}]`, v, true));
      list(fail, 'detail.toCoupling', o['toCoupling'], rings.length).forEach((v, i) => f64(fail, `detail.toCoupling[${i}]`, v, true));
      return;
    }
    case 'halt':
      only('reason');
      text(fail, 'detail.reason', o['reason'], MAX_TEXT_BYTES);
      return;
    case 'admin':
      only('command', 'actorOrRun');
      text(fail, 'detail.command', o['command'], MAX_DECISION_BYTES, true);
      text(fail, 'detail.actorOrRun', o['actorOrRun'], MAX_TEXT_BYTES);
      return;
    case 'supervision':
      only('actor', 'action', 'restarts', 'withinMs');
      text(fail, 'detail.actor', o['actor'], MAX_TEXT_BYTES, true);
      text(fail, 'detail.action', o['action'], MAX_DECISION_BYTES, true);
      u32(fail, 'detail.restarts', o['restarts']);
      u32(fail, 'detail.withinMs', o['withinMs']);
      return;
  }
}

/** Every rule an entry must satisfy; throws `fail(field, problem)` at the first broken one. */
function checkEntry(e: LedgerEntry, fail: Fail): void {
  if (typeof e !== 'object' || e === null) throw fail('entry', 'must be an object');
  if (typeof e.origin !== 'string' || !isNodeId(e.origin)) throw fail('origin', `must be a node id (got ${JSON.stringify(e.origin)})`);
  u64(fail, 'seq', e.seq, 1);
  hash(fail, 'prevHash', e.prevHash);
  if (e.seq === 1 && e.prevHash !== ZERO_HASH) throw fail('prevHash', 'must be 32 zero bytes for seq 1');
  if (e.seq > 1 && e.prevHash === ZERO_HASH) throw fail('prevHash', `must be the hash of entry ${e.seq - 1}, not zeros`);
  if (!(ENTRY_KINDS as readonly string[]).includes(e.kind)) throw fail('kind', `must be one of ${ENTRY_KINDS.join(', ')} (got ${JSON.stringify(e.kind)})`);
  text(fail, 'run', e.run, MAX_RUN_BYTES);
  u32(fail, 'epoch', e.epoch);
  u64(fail, 'tick', e.tick);
  hash(fail, 'stateHash', e.stateHash);
  const f = e.figures;
  if (typeof f !== 'object' || f === null) throw fail('figures', 'must be an object');
  f64(fail, 'figures.minTotal', f.minTotal);
  f64(fail, 'figures.maxEntropy', f.maxEntropy);
  u32(fail, 'figures.lanes', f.lanes);
  u32(fail, 'figures.passed', f.passed);
  if (f.passed > f.lanes) throw fail('figures.passed', `must not exceed figures.lanes (${f.passed} > ${f.lanes})`);
  text(fail, 'decision', e.decision, MAX_DECISION_BYTES, true);
  checkDetail(fail, e.kind, e.detail);
  u64(fail, 'timestamp', e.timestamp);
}

function paramFail(field: string, problem: string): QallowError {
  return new QallowError('BAD_PARAMETER', `ledger entry: ${field} ${problem}`, { field });
}

/** Validate an entry built in this process (BAD_PARAMETER naming the field). */
export function assertEntry(e: LedgerEntry, code: ErrorCode = 'BAD_PARAMETER'): void {
  checkEntry(e, code === 'BAD_PARAMETER' ? paramFail : (field, problem) => new QallowError(code, `ledger entry: ${field} ${problem}`, { field }));
}

// ---------------------------------------------------------------------------
// Encoding

/** A binary64, with the one canonical NaN. */
function writeF64(w: LayoutWriter, v: number): void {
  if (Number.isNaN(v)) {
    w.u32(0);
    w.u32(0x7ff80000);
  } else {
    w.f64(v);
  }
}

function writeDetail(w: LayoutWriter, e: LedgerEntry): void {
  switch (e.kind) {
    case 'ethics_check':
      writeF64(w, e.detail.threshold);
      writeF64(w, e.detail.entropyMax);
      return;
    case 'rollback':
      w.u32(e.detail.toEpoch);
      w.str(e.detail.reason);
      return;
    case 'adaptation':
      w.u32(e.detail.rings.length);
      for (const r of e.detail.rings) w.u32(r);
      for (const v of e.detail.fromCoupling) writeF64(w, v);
      for (const v of e.detail.toCoupling) writeF64(w, v);
      return;
    case 'halt':
      w.str(e.detail.reason);
      return;
    case 'admin':
      w.str(e.detail.command);
      w.str(e.detail.actorOrRun);
      return;
    case 'supervision':
      w.str(e.detail.actor);
      w.str(e.detail.action);
      w.u32(e.detail.restarts);
      w.u32(e.detail.withinMs);
      return;
  }
}

/** The canonical bytes of `entry` (validated first: BAD_PARAMETER naming the field). */
export function encodeEntry(entry: LedgerEntry): Uint8Array {
  assertEntry(entry);
  const body = collect((w) => {
    w.str(entry.origin);
    w.u64(entry.seq);
    w.hash32(entry.prevHash);
    w.u8(ENTRY_KINDS.indexOf(entry.kind) + 1);
    w.str(entry.run);
    w.u32(entry.epoch);
    w.u64(entry.tick);
    w.hash32(entry.stateHash);
    writeF64(w, entry.figures.minTotal);
    writeF64(w, entry.figures.maxEntropy);
    w.u32(entry.figures.passed);
    w.u32(entry.figures.lanes);
    w.str(entry.decision);
    writeDetail(w, entry);
    w.u64(entry.timestamp);
  });
  return signedBytes(ENTRY_PURPOSE, body);
}

/** SHA-256 of bytes, lowercase hex. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The entry's hash: SHA-256 of its canonical bytes. */
export function entryHash(entry: LedgerEntry): string {
  return sha256(encodeEntry(entry));
}

// ---------------------------------------------------------------------------
// Decoding

const PREFIX = signedBytes(ENTRY_PURPOSE, new Uint8Array(0));

function readDetail(r: ByteReader, kind: EntryKind): LedgerEntry['detail'] {
  switch (kind) {
    case 'ethics_check':
      return { threshold: r.f64('detail.threshold'), entropyMax: r.f64('detail.entropyMax') };
    case 'rollback':
      return { toEpoch: r.u32('detail.toEpoch'), reason: r.str('detail.reason', MAX_TEXT_BYTES) };
    case 'adaptation': {
      const n = r.count('detail.rings', MAX_ADAPTATION_RINGS);
      const rings = Array.from({ length: n }, (_, i) => r.u32(`detail.rings[${i}]`));
      const fromCoupling = Array.from({ length: n }, (_, i) => r.f64(`detail.fromCoupling[${i}]`));
      const toCoupling = Array.from({ length: n }, (_, i) => r.f64(`detail.toCoupling[${i}]`));
      return { rings, fromCoupling, toCoupling };
    }
    case 'halt':
      return { reason: r.str('detail.reason', MAX_TEXT_BYTES) };
    case 'admin':
      return { command: r.str('detail.command', MAX_DECISION_BYTES), actorOrRun: r.str('detail.actorOrRun', MAX_TEXT_BYTES) };
    case 'supervision':
      return { actor: r.str('detail.actor', MAX_TEXT_BYTES), action: r.str('detail.action', MAX_DECISION_BYTES), restarts: r.u32('detail.restarts'), withinMs: r.u32('detail.withinMs') };
  }
}

/**
 * Decode canonical bytes into an entry, validating every field: a wrong
 * prefix, an unknown kind, a bad field value, short input or trailing bytes
 * fail with LEDGER_BAD_ENTRY whose `details.field` names the field.
 */
export function decodeEntry(bytes: Uint8Array): LedgerEntry {
  const r = new ByteReader(bytes, 'ledger entry');
  const prefix = r.raw('purpose', PREFIX.byteLength);
  if (Buffer.compare(prefix, PREFIX) !== 0) throw r.fail('purpose', `must be "${ENTRY_PURPOSE}"`);
  const origin = r.str('origin', 63);
  const seq = r.u64('seq');
  const prevHash = r.hash32('prevHash');
  const code = r.u8('kind');
  const kind = ENTRY_KINDS[code - 1];
  if (kind === undefined) throw r.fail('kind', `must be 1 to ${ENTRY_KINDS.length} (got ${code})`);
  const run = r.str('run', MAX_RUN_BYTES);
  const epoch = r.u32('epoch');
  const tick = r.u64('tick');
  const stateHash = r.hash32('stateHash');
  const figures: Figures = { minTotal: r.f64('figures.minTotal'), maxEntropy: r.f64('figures.maxEntropy'), passed: r.u32('figures.passed'), lanes: r.u32('figures.lanes') };
  const decision = r.str('decision', MAX_DECISION_BYTES);
  const detail = readDetail(r, kind);
  const timestamp = r.u64('timestamp');
  r.end();
  const entry = { origin: origin as NodeId, seq, prevHash, kind, run, epoch, tick, stateHash, figures, decision, detail, timestamp } as LedgerEntry;
  checkEntry(entry, (field, problem) => r.fail(field, problem));
  return entry;
}
