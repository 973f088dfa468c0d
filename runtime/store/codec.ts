/**
 * Storage encoding (msgpackr) of the store's records: state snapshots,
 * checkpoints, journal entries, run records.
 *
 * Every value is a MessagePack map {v: 1, t: <record type>, ...fields}. The
 * encoding hands msgpackr only strings, integers, booleans, arrays, maps and
 * Uint8Array (MessagePack bin):
 * - float arrays go in as raw little-endian bytes copied by hand. msgpackr
 *   2.1.3 without `moreTypes` packs a Float32Array as if it were bytes (each
 *   element truncated to a byte, followed by stale buffer memory), and
 *   lmdb-js's default encoder inherits that; this codec never gives it one;
 * - non-integer numbers (eps, couplings) go in as 8 raw float64 bytes:
 *   MessagePack integers would turn -0 into 0 and change the hash;
 * - decoded bin is a view at any offset of the input, so it is copied into
 *   fresh, aligned memory before it is read as floats.
 *
 * Decoding validates: every map must have exactly the expected keys, every
 * tag must be known, every value the right type and the whole record
 * consistent (array lengths match the params, hashes are hex ...). Anything
 * else throws QallowError BAD_ENCODING naming the record and field. A
 * store turns that into CHECKPOINT_CORRUPT or STORE_CORRUPT for the key it read.
 */
import { Packr } from 'msgpackr';
import { BACKENDS } from '../../kernels/backend.js';
import type { PhaseParams } from '../../kernels/params.js';
import { QallowError } from '../errors.js';
import { float32BytesLE, float32FromLE, float64FromLE, float64ToLE } from './bytes.js';
import { CAUSAL_EDGE_KINDS, checkpointProblem, type CausalEdge, type Checkpoint } from './checkpoint.js';
import { JOURNAL_ENTRY_TYPES, journalEntryProblem, type JournalEntry } from './journal.js';
import { RUN_STATES, runRecordProblem, type RunRecord } from './run.js';
import { SNAPSHOT_ARRAYS, snapshotProblem, type StateSnapshot } from './snapshot.js';
import { show } from './validate.js';

export const STORAGE_VERSION = 1;

/** The records the store keeps, by type tag. */
export interface StoredRecords {
  snapshot: StateSnapshot;
  checkpoint: Checkpoint;
  journal: JournalEntry;
  run: RunRecord;
}
export type RecordType = keyof StoredRecords;

export interface Codec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

// Plain MessagePack: no record extension (shared structures would make a
// value undecodable without its neighbours), maps decode to plain objects.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, bundleStrings: false, structuredClone: false });

function badEncoding(record: string, field: string, message: string): QallowError {
  return new QallowError('BAD_ENCODING', `${record} record: ${field} ${message}`, { record, field });
}

/** Checked access to one decoded map. */
class Fields {
  private constructor(
    readonly record: string,
    private readonly path: string,
    private readonly o: Record<string, unknown>,
  ) {}

  static of(record: string, path: string, v: unknown, keys: readonly string[]): Fields {
    const proto: unknown = typeof v === 'object' && v !== null ? Object.getPrototypeOf(v) : undefined;
    if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array || (proto !== Object.prototype && proto !== null)) {
      throw badEncoding(record, path || 'value', `must be a map (got ${show(v)})`);
    }
    const o = v as Record<string, unknown>;
    const prefix = path ? `${path}.` : '';
    for (const k of Object.keys(o)) if (!keys.includes(k)) throw badEncoding(record, `${prefix}${k}`, 'is not a known field');
    for (const k of keys) if (!Object.hasOwn(o, k)) throw badEncoding(record, `${prefix}${k}`, 'is missing');
    return new Fields(record, path, o);
  }

  name(k: string): string {
    return this.path ? `${this.path}.${k}` : k;
  }

  private fail(k: string, message: string): QallowError {
    return badEncoding(this.record, this.name(k), `${message} (got ${show(this.o[k])})`);
  }

  /** The type tag of a nested map, read before its key set is known (the keys depend on the tag). */
  static tag<T extends string>(record: string, path: string, v: unknown, tagField: string, values: readonly T[]): T {
    return Fields.of(record, path, v, Object.keys(typeof v === 'object' && v !== null ? v : {})).oneOf(tagField, values);
  }

  raw(k: string): unknown {
    return this.o[k];
  }

  str(k: string): string {
    const v = this.o[k];
    if (typeof v !== 'string') throw this.fail(k, 'must be a string');
    return v;
  }

  oneOf<T extends string>(k: string, values: readonly T[]): T {
    const v = this.o[k];
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) throw this.fail(k, `must be one of ${values.join(', ')}`);
    return v as T;
  }

  int(k: string): number {
    const v = this.o[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw this.fail(k, 'must be an integer');
    return v;
  }

  bool(k: string): boolean {
    const v = this.o[k];
    if (typeof v !== 'boolean') throw this.fail(k, 'must be a boolean');
    return v;
  }

  bin(k: string): Uint8Array {
    const v = this.o[k];
    if (!(v instanceof Uint8Array)) throw this.fail(k, 'must be binary');
    return v;
  }

  f64(k: string): number {
    const b = this.bin(k);
    if (b.byteLength !== 8) throw this.fail(k, 'must be 8 bytes of float64');
    return float64FromLE(b)[0]!;
  }

  f64s(k: string): number[] {
    const b = this.bin(k);
    if (b.byteLength % 8 !== 0) throw this.fail(k, 'must be a whole number of float64 values (length a multiple of 8)');
    return float64FromLE(b);
  }

  f32s(k: string): Float32Array {
    const b = this.bin(k);
    if (b.byteLength % 4 !== 0) throw this.fail(k, 'must be a whole number of float32 values (length a multiple of 4)');
    return float32FromLE(b);
  }

  list(k: string): unknown[] {
    const v = this.o[k];
    if (!Array.isArray(v)) throw this.fail(k, 'must be an array');
    return v;
  }

  obj(k: string, keys: readonly string[]): Fields {
    return Fields.of(this.record, this.name(k), this.o[k], keys);
  }
}

function pack(value: Record<string, unknown>): Uint8Array {
  // Copy: msgpackr may hand back a view of a buffer it reuses for the next pack.
  return new Uint8Array(packr.pack(value));
}

/** Unpack the envelope and check its version and type tag. */
function unpackEnvelope(bytes: Uint8Array, type: RecordType, keys: readonly string[]): Fields {
  if (!(bytes instanceof Uint8Array)) throw badEncoding(type, 'value', `must be bytes (got ${show(bytes)})`);
  let v: unknown;
  try {
    v = packr.unpack(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new QallowError('BAD_ENCODING', `${type} record: not valid MessagePack (${e instanceof Error ? e.message : String(e)})`, { record: type, field: 'value' }, { cause: e });
  }
  const head = Fields.of(type, '', v, Object.keys(v !== null && typeof v === 'object' ? v : {}));
  if (head.raw('v') !== STORAGE_VERSION) throw badEncoding(type, 'v', `must be storage version ${STORAGE_VERSION} (got ${show(head.raw('v'))})`);
  if (head.raw('t') !== type) throw badEncoding(type, 't', `must be "${type}" (got ${show(head.raw('t'))})`);
  return Fields.of(type, '', v, ['v', 't', ...keys]);
}

function checked<T>(record: RecordType, value: T, problem: (v: T) => string | null): T {
  const p = problem(value);
  // Problem sentences start with the field they are about.
  if (p) throw new QallowError('BAD_ENCODING', `${record} record: ${p}`, { record, field: p.split(' ')[0] ?? '', problem: p });
  return value;
}

// ---------------------------------------------------------------- params

function encodeParams(p: PhaseParams): Record<string, unknown> {
  return p.phase === 'phase12'
    ? { phase: p.phase, ticks: p.ticks, eps: float64ToLE(p.eps) }
    : { phase: p.phase, ticks: p.ticks, pockets: p.pockets, rings: p.rings, couplings: float64ToLE(p.couplings), reference: p.reference };
}

function decodeParams(parent: Fields, k: string): PhaseParams {
  const phase = Fields.tag(parent.record, parent.name(k), parent.raw(k), 'phase', ['phase12', 'phase13'] as const);
  if (phase === 'phase12') {
    const f = parent.obj(k, ['phase', 'ticks', 'eps']);
    return { phase, ticks: f.int('ticks'), eps: f.f64s('eps') };
  }
  const f = parent.obj(k, ['phase', 'ticks', 'pockets', 'rings', 'couplings', 'reference']);
  return { phase, ticks: f.int('ticks'), pockets: f.int('pockets'), rings: f.int('rings'), couplings: f.f64s('couplings'), reference: f.bool('reference') };
}

// ---------------------------------------------------------------- snapshot

export function encodeSnapshot(s: StateSnapshot): Uint8Array {
  checked('snapshot', s, snapshotProblem);
  const arrays: Record<string, Uint8Array> = {};
  const source = s.arrays as unknown as Record<string, Float32Array>;
  // Views, not copies: pack() copies the bytes into its own buffer.
  for (const name of SNAPSHOT_ARRAYS[s.phase]) arrays[name] = float32BytesLE(source[name]!);
  return pack({ v: STORAGE_VERSION, t: 'snapshot', phase: s.phase, backend: s.backend, tick: s.tick, params: encodeParams(s.params), arrays });
}

export function decodeSnapshot(bytes: Uint8Array): StateSnapshot {
  const f = unpackEnvelope(bytes, 'snapshot', ['phase', 'backend', 'tick', 'params', 'arrays']);
  const phase = f.oneOf('phase', ['phase12', 'phase13'] as const);
  const a = f.obj('arrays', SNAPSHOT_ARRAYS[phase]);
  const backend = f.oneOf('backend', BACKENDS);
  const tick = f.int('tick');
  const params = decodeParams(f, 'params');
  const s =
    phase === 'phase12'
      ? { phase, params, backend, tick, arrays: { values: a.f32s('values') } }
      : {
          phase,
          params,
          backend,
          tick,
          arrays: { phase: a.f32s('phase'), coherence: a.f32s('coherence'), history: a.f32s('history'), mean: a.f32s('mean'), coupling: a.f32s('coupling') },
        };
  return checked('snapshot', s as StateSnapshot, snapshotProblem);
}

// ---------------------------------------------------------------- checkpoint

function encodeEdge(e: CausalEdge): Record<string, unknown> {
  switch (e.kind) {
    case 'admin':
      return { kind: e.kind, command: e.command, tick: e.tick };
    case 'adaptation':
      return { kind: e.kind, ring: e.ring, coupling: float64ToLE([e.coupling]), tick: e.tick };
    case 'rollback':
      return { kind: e.kind, toEpoch: e.toEpoch, tick: e.tick };
  }
}

function decodeEdge(v: unknown, path: string): CausalEdge {
  const kind = Fields.tag('checkpoint', path, v, 'kind', CAUSAL_EDGE_KINDS);
  switch (kind) {
    case 'admin': {
      const f = Fields.of('checkpoint', path, v, ['kind', 'command', 'tick']);
      return { kind, command: f.str('command'), tick: f.int('tick') };
    }
    case 'adaptation': {
      const f = Fields.of('checkpoint', path, v, ['kind', 'ring', 'coupling', 'tick']);
      return { kind, ring: f.int('ring'), coupling: f.f64('coupling'), tick: f.int('tick') };
    }
    case 'rollback': {
      const f = Fields.of('checkpoint', path, v, ['kind', 'toEpoch', 'tick']);
      return { kind, toEpoch: f.int('toEpoch'), tick: f.int('tick') };
    }
  }
}

export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  checked('checkpoint', c, checkpointProblem);
  return pack({
    v: STORAGE_VERSION,
    t: 'checkpoint',
    run: c.run,
    epoch: c.epoch,
    tick: c.tick,
    stateHash: c.stateHash,
    edges: c.edges.map(encodeEdge),
    timestamp: c.timestamp,
    prevHash: c.prevHash,
    hash: c.hash,
  });
}

export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  const f = unpackEnvelope(bytes, 'checkpoint', ['run', 'epoch', 'tick', 'stateHash', 'edges', 'timestamp', 'prevHash', 'hash']);
  const c: Checkpoint = {
    run: f.str('run'),
    epoch: f.int('epoch'),
    tick: f.int('tick'),
    stateHash: f.str('stateHash'),
    edges: f.list('edges').map((e, i) => decodeEdge(e, `edges[${i}]`)),
    timestamp: f.int('timestamp'),
    prevHash: f.str('prevHash'),
    hash: f.str('hash'),
  };
  return checked('checkpoint', c, checkpointProblem);
}

// ---------------------------------------------------------------- journal

function encodeEntry(e: JournalEntry): Record<string, unknown> {
  switch (e.type) {
    case 'start':
      return { type: e.type, params: encodeParams(e.params), backend: e.backend, epochTicks: e.epochTicks, tick: e.tick };
    case 'pause':
    case 'resume':
    case 'cancel':
      return { type: e.type, tick: e.tick };
    case 'adapt':
      return { type: e.type, ring: e.ring, coupling: float64ToLE([e.coupling]), tick: e.tick };
  }
}

export function encodeJournalEntry(e: JournalEntry): Uint8Array {
  checked('journal', e, journalEntryProblem);
  return pack({ v: STORAGE_VERSION, t: 'journal', entry: encodeEntry(e) });
}

export function decodeJournalEntry(bytes: Uint8Array): JournalEntry {
  const env = unpackEnvelope(bytes, 'journal', ['entry']);
  const raw = env.raw('entry');
  const type = Fields.tag('journal', 'entry', raw, 'type', JOURNAL_ENTRY_TYPES);
  let e: JournalEntry;
  switch (type) {
    case 'start': {
      const f = env.obj('entry', ['type', 'params', 'backend', 'epochTicks', 'tick']);
      const tick = f.int('tick');
      if (tick !== 0) throw badEncoding('journal', 'entry.tick', `of a start entry must be 0 (got ${tick})`);
      e = { type, params: decodeParams(f, 'params'), backend: f.oneOf('backend', BACKENDS), epochTicks: f.int('epochTicks'), tick };
      break;
    }
    case 'pause':
    case 'resume':
    case 'cancel':
      e = { type, tick: env.obj('entry', ['type', 'tick']).int('tick') };
      break;
    case 'adapt': {
      const f = env.obj('entry', ['type', 'ring', 'coupling', 'tick']);
      e = { type, ring: f.int('ring'), coupling: f.f64('coupling'), tick: f.int('tick') };
      break;
    }
  }
  return checked('journal', e, journalEntryProblem);
}

// ---------------------------------------------------------------- run

export function encodeRunRecord(r: RunRecord): Uint8Array {
  checked('run', r, runRecordProblem);
  const base = { v: STORAGE_VERSION, t: 'run', run: r.run, params: encodeParams(r.params), backend: r.backend, epochTicks: r.epochTicks, state: r.state };
  // `paced` is written only when set, so records of unpaced runs keep their earlier bytes.
  return pack(r.paced ? { ...base, paced: true } : base);
}

export function decodeRunRecord(bytes: Uint8Array): RunRecord {
  const keys = ['run', 'params', 'backend', 'epochTicks', 'state'];
  let f: Fields;
  try {
    f = unpackEnvelope(bytes, 'run', keys);
  } catch (e) {
    // The one optional key: a paced run's record also has `paced: true`.
    f = unpackEnvelope(bytes, 'run', [...keys, 'paced']);
    if (f.raw('paced') !== true) throw e;
  }
  const paced = f.raw('paced') === true;
  const r: RunRecord = {
    run: f.str('run'),
    params: decodeParams(f, 'params'),
    backend: f.oneOf('backend', BACKENDS),
    epochTicks: f.int('epochTicks'),
    state: f.oneOf('state', RUN_STATES),
    ...(paced ? { paced } : {}),
  };
  return checked('run', r, runRecordProblem);
}

/** Every record type's codec, by tag (tests iterate this). */
export const codecs: { readonly [K in RecordType]: Codec<StoredRecords[K]> } = {
  snapshot: { encode: encodeSnapshot, decode: decodeSnapshot },
  checkpoint: { encode: encodeCheckpoint, decode: decodeCheckpoint },
  journal: { encode: encodeJournalEntry, decode: decodeJournalEntry },
  run: { encode: encodeRunRecord, decode: decodeRunRecord },
};
