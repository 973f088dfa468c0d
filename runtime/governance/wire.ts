/**
 * The governance messages between hosts, as actor payloads (they travel
 * through the cluster router as actor.ask / actor.tell; see
 * runtime/cluster/router.ts). One discriminated union per actor, and one
 * decoder per union that turns untrusted data into the typed message or
 * throws BAD_FRAME naming the field. Entry and record bytes inside are
 * decoded again by runtime/ledger (decode means validate, all the way down).
 *
 *   validator  ← propose {header, originSignature, entries[]}   → vote {validator, signature}
 *   ledger     ← commit  {records[]}                            (tell; the origin's certified batch)
 *   ledger     ← fetch   {origin, from, limit}                   → {records[]}
 *   ledger     ← heads                                          → {heads: {origin: height}}
 */
import { isNodeId, type NodeId } from '../actors/address.js';
import { QallowError } from '../errors.js';
import { exactUint, showInteger } from '../integer.js';
import type { BatchHeader } from '../ledger/batch.js';

export const MAX_BATCH_ENTRIES = 256;
export const MAX_FETCH = 256;
const MAX_ENTRY_BYTES = 64 * 1024;
const MAX_RECORD_BYTES = 128 * 1024;
const HEX32 = /^[0-9a-f]{64}$/;

export interface ProposeMsg {
  readonly type: 'propose';
  readonly header: BatchHeader;
  readonly originSignature: Uint8Array;
  /** Canonical entry bytes, firstSeq first. */
  readonly entries: readonly Uint8Array[];
}

export interface VoteReply {
  readonly validator: NodeId;
  readonly signature: Uint8Array;
}

export type LedgerMsg =
  | { readonly type: 'commit'; readonly records: readonly Uint8Array[] }
  | { readonly type: 'fetch'; readonly origin: NodeId; readonly from: number; readonly limit: number }
  | { readonly type: 'heads' };

export interface FetchReply {
  readonly records: readonly Uint8Array[];
}

export interface HeadsReply {
  readonly heads: Readonly<Record<string, number>>;
}

function bad(field: string, message: string): QallowError {
  return new QallowError('BAD_FRAME', `governance message: ${field} ${message}`, { field, reason: 'invalid' });
}

function map(v: unknown, field: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) throw bad(field, 'must be a map');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw bad(`${field}.${k}`, 'is not a known field');
  for (const k of keys) if (!Object.hasOwn(o, k)) throw bad(`${field}.${k}`, 'is missing');
  return o;
}

/** Any exact integer encoding (runtime/integer.ts: a uint64 from another library too), within [min, max]. */
function uint(v: unknown, field: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const n = exactUint(v, min, max);
  if (n === undefined) throw bad(field, `must be an integer from ${min} to ${max} (got ${showInteger(v)})`);
  return n;
}

function node(v: unknown, field: string): NodeId {
  if (typeof v !== 'string' || !isNodeId(v)) throw bad(field, 'must be a node id');
  return v;
}

function bytes(v: unknown, field: string, max: number, exact?: number): Uint8Array {
  if (!(v instanceof Uint8Array)) throw bad(field, 'must be bytes');
  if (exact !== undefined && v.byteLength !== exact) throw bad(field, `must be ${exact} bytes (got ${v.byteLength})`);
  if (v.byteLength > max) throw bad(field, `must be at most ${max} bytes (got ${v.byteLength})`);
  return v;
}

function byteList(v: unknown, field: string, maxItems: number, maxBytes: number): Uint8Array[] {
  if (!Array.isArray(v)) throw bad(field, 'must be a list of byte strings');
  if (v.length === 0 || v.length > maxItems) throw bad(field, `must hold 1 to ${maxItems} items (got ${v.length})`);
  return v.map((b, i) => bytes(b, `${field}[${i}]`, maxBytes));
}

export function decodePropose(raw: unknown): ProposeMsg {
  const o = map(raw, 'propose', ['type', 'header', 'originSignature', 'entries']);
  if (o['type'] !== 'propose') throw bad('propose.type', 'must be "propose"');
  const h = map(o['header'], 'propose.header', ['origin', 'firstSeq', 'count', 'root']);
  const root = h['root'];
  if (typeof root !== 'string' || !HEX32.test(root)) throw bad('propose.header.root', 'must be 64 lowercase hex digits');
  const header: BatchHeader = {
    origin: node(h['origin'], 'propose.header.origin'),
    firstSeq: uint(h['firstSeq'], 'propose.header.firstSeq', 1),
    count: uint(h['count'], 'propose.header.count', 1, MAX_BATCH_ENTRIES),
    root,
  };
  const entries = byteList(o['entries'], 'propose.entries', MAX_BATCH_ENTRIES, MAX_ENTRY_BYTES);
  if (entries.length !== header.count) throw bad('propose.entries', `must hold header.count (${header.count}) entries (got ${entries.length})`);
  return { type: 'propose', header, originSignature: bytes(o['originSignature'], 'propose.originSignature', 64, 64), entries };
}

export function encodePropose(m: ProposeMsg): Record<string, unknown> {
  return { type: 'propose', header: { ...m.header }, originSignature: m.originSignature, entries: [...m.entries] };
}

export function decodeVoteReply(raw: unknown): VoteReply {
  const o = map(raw, 'vote', ['validator', 'signature']);
  return { validator: node(o['validator'], 'vote.validator'), signature: bytes(o['signature'], 'vote.signature', 64, 64) };
}

export function decodeLedgerMsg(raw: unknown): LedgerMsg {
  const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
  switch (type) {
    case 'commit': {
      const o = map(raw, 'commit', ['type', 'records']);
      return { type, records: byteList(o['records'], 'commit.records', MAX_BATCH_ENTRIES, MAX_RECORD_BYTES) };
    }
    case 'fetch': {
      const o = map(raw, 'fetch', ['type', 'origin', 'from', 'limit']);
      return { type, origin: node(o['origin'], 'fetch.origin'), from: uint(o['from'], 'fetch.from', 1), limit: uint(o['limit'], 'fetch.limit', 1, MAX_FETCH) };
    }
    case 'heads':
      map(raw, 'heads', ['type']);
      return { type };
    default:
      throw bad('type', `must be commit, fetch or heads (got ${JSON.stringify(type)})`);
  }
}

export function decodeFetchReply(raw: unknown): FetchReply {
  const o = map(raw, 'fetch reply', ['records']);
  if (Array.isArray(o['records']) && o['records'].length === 0) return { records: [] };
  return { records: byteList(o['records'], 'fetch reply.records', MAX_FETCH, MAX_RECORD_BYTES) };
}

export function decodeHeadsReply(raw: unknown): HeadsReply {
  const o = map(raw, 'heads reply', ['heads']);
  const h = o['heads'];
  if (typeof h !== 'object' || h === null || Array.isArray(h)) throw bad('heads reply.heads', 'must be a map');
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(h)) out[node(k, 'heads reply.heads key')] = uint(v, `heads reply.heads.${k}`);
  return { heads: out };
}
