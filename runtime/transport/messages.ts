/**
 * The messages that cross hosts: one discriminated union keyed by `type`,
 * the bodies' field rules, and `WIRE_TYPES`, the table of every type that
 * may cross hosts and how it may be sent. A tag that is not in the table is
 * rejected by the decoder (BAD_FRAME, reason `unknown-type`), never passed on.
 *
 * Bodies are MessagePack maps with exactly the listed keys. Actor payloads
 * are plain MessagePack data (`WireValue`): null, booleans, numbers,
 * strings, bytes, arrays and string-keyed maps, nested at most
 * `maxDepth` deep. Typed arrays other than Uint8Array are refused on send:
 * msgpackr 2.1.3 packs a Float32Array wrongly unless `moreTypes` is on, so
 * float data travels as raw little-endian bytes (runtime/store/bytes.ts
 * has the helpers) and is copied out on receipt (decoded bytes are views at
 * any offset of the frame, so they are copied before anyone keeps them).
 * Numbers travel as MessagePack ints or float64; -0 arrives as 0.
 *
 * The same rules check a body on the way out (BAD_PARAMETER, the sender's
 * mistake) and on the way in (BAD_FRAME, untrusted bytes): `checkBody` takes
 * the function that builds the error.
 */
import { ErrorCodes, type ErrorCode } from '../errors.js';
import { exactUint } from '../integer.js';

/** Plain MessagePack data an actor message may carry. */
export type WireValue = null | boolean | number | string | Uint8Array | readonly WireValue[] | { readonly [key: string]: WireValue };

/** Membership liveness: one per interval per peer; `incarnation` changes when the host restarts. */
export interface Heartbeat {
  readonly seq: number;
  /** Sender's wall clock, ms since the epoch. */
  readonly sentAt: number;
  readonly incarnation: number;
}

/**
 * SPEC §6 sync pulse: the sender's tick cycle time (ms per tick; 0 when
 * idle), its total ticks, and the ticks each of its paced runs has reached
 * (at most MAX_PULSE_RUNS, ids as run ids).
 */
export interface SyncPulse {
  readonly cycleMs: number;
  readonly tick: number;
  readonly runs: { readonly [run: string]: number };
  readonly sentAt: number;
}

export const MAX_PULSE_RUNS = 256;
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** A one-way actor message; `to` in the envelope names the actor. */
export interface ActorTell {
  readonly payload: WireValue;
}

/** A request; the answer is an `actor.reply` with the same `requestId`, sent back to the envelope's `from`. */
export interface ActorAsk {
  readonly requestId: number;
  readonly timeoutMs: number;
  readonly payload: WireValue;
}

/**
 * A QallowError as it crosses a host: its code, message and details (the
 * facts that explain it; `details` may be absent: older hosts send none).
 * A code the receiver does not know (a newer peer's) decodes as INTERNAL
 * with the sender's code kept in `details.remoteCode`, rather than failing
 * the frame: an added error code must not break a rolling upgrade.
 */
export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details?: WireErrorDetails | undefined;
}

export type WireErrorDetails = { readonly [key: string]: string | number | boolean | null };

/** Longest error code carried (known or not), most detail entries, longest detail key and string value. */
export const MAX_ERROR_CODE = 64;
export const MAX_ERROR_DETAILS = 32;
export const MAX_ERROR_DETAIL_KEY = 64;
export const MAX_ERROR_DETAIL_VALUE = 1024;

export type ActorReply =
  | { readonly requestId: number; readonly ok: true; readonly payload: WireValue }
  | { readonly requestId: number; readonly ok: false; readonly error: WireError };

/** Every type that may cross hosts, with its body. */
export interface WireBodies {
  heartbeat: Heartbeat;
  'sync.pulse': SyncPulse;
  'actor.tell': ActorTell;
  'actor.ask': ActorAsk;
  'actor.reply': ActorReply;
}

export type WireType = keyof WireBodies;

/** How a type may be sent: to one peer (`send`), to all (`broadcast`), or either. */
export type Delivery = 'directed' | 'broadcast' | 'either';

/**
 * The types that may cross hosts. Nothing else is encoded or decoded; a
 * type added to `WireBodies` without a row here does not compile.
 */
export const WIRE_TYPES = {
  heartbeat: { delivery: 'either', about: 'membership liveness (SPEC §6 membership)' },
  'sync.pulse': { delivery: 'broadcast', about: 'tick cycle time for cluster pacing (SPEC §6 sync pulses)' },
  'actor.tell': { delivery: 'directed', about: 'one-way message to a remote actor' },
  'actor.ask': { delivery: 'directed', about: 'request to a remote actor, answered by actor.reply' },
  'actor.reply': { delivery: 'directed', about: 'answer to an actor.ask' },
} as const satisfies { readonly [T in WireType]: { readonly delivery: Delivery; readonly about: string } };

/** Types `send` accepts. */
export type DirectedType = { [T in WireType]: (typeof WIRE_TYPES)[T]['delivery'] extends 'broadcast' ? never : T }[WireType];
/** Types `broadcast` accepts. */
export type BroadcastType = { [T in WireType]: (typeof WIRE_TYPES)[T]['delivery'] extends 'directed' ? never : T }[WireType];

export function isWireType(v: unknown): v is WireType {
  return typeof v === 'string' && Object.hasOwn(WIRE_TYPES, v);
}

export function mayBeDirected(type: WireType): boolean {
  return WIRE_TYPES[type].delivery !== 'broadcast';
}

export function mayBeBroadcast(type: WireType): boolean {
  return WIRE_TYPES[type].delivery !== 'directed';
}

// ------------------------------------------------------------------ rules

/** Builds the error for a field that breaks a rule; `reason` classifies it (`invalid`, `unknown-type`, ...). */
export type Reject = (field: string, message: string, reason?: string) => Error;

export interface BodyRules {
  /** Deepest nesting of arrays and maps inside a payload (the payload itself is depth 1). */
  readonly maxDepth: number;
  /** On decode: copy bytes out of the frame so nothing keeps the frame alive. */
  readonly copyBytes: boolean;
}

export const MAX_ERROR_MESSAGE = 4096;
/** ask timeouts fit a 32-bit timer. */
export const MAX_TIMEOUT_MS = 0x7fff_ffff;

export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  if (v instanceof Uint8Array) return `${v.constructor.name}(${v.byteLength})`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}`;
  if (Array.isArray(v)) return `array of ${v.length}`;
  if (v === null) return 'null';
  if (typeof v === 'object') {
    const proto: unknown = Object.getPrototypeOf(v);
    return proto === Object.prototype || proto === null ? 'map' : `${(v as object).constructor?.name ?? 'object'} object`;
  }
  if (typeof v === 'bigint') return `${v}n`;
  return String(v);
}

function isPlainMap(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A map with exactly `keys`; names the first extra or missing key. */
function fields(v: unknown, keys: readonly string[], field: string, reject: Reject): Record<string, unknown> {
  if (!isPlainMap(v)) throw reject(field, `must be a map (got ${show(v)})`);
  // Count with for-in rather than Object.keys: no array per message on the hot path.
  let n = 0;
  for (const k in v) {
    if (!Object.hasOwn(v, k)) continue;
    if (!keys.includes(k)) throw reject(`${field}.${k}`, 'is not a known field');
    n++;
  }
  if (n !== keys.length) for (const k of keys) if (!Object.hasOwn(v, k)) throw reject(`${field}.${k}`, 'is missing');
  return v;
}

/** A count or id: any exact integer encoding (runtime/integer.ts), 0 to 2^53 − 1; stored back as a number. */
function uint(o: Record<string, unknown>, k: string, field: string, reject: Reject): number {
  const v = exactUint(o[k]);
  if (v === undefined) throw reject(`${field}.${k}`, `must be an integer from 0 to 2^53 − 1 (got ${show(o[k])})`);
  if (o[k] !== v) o[k] = v; // a BigInt (or -0.0) becomes the number; an untouched body is never written to
  return v;
}

function finite(o: Record<string, unknown>, k: string, field: string, reject: Reject, min: number, minOpen: boolean): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v) || (minOpen ? v <= min : v < min)) {
    throw reject(`${field}.${k}`, `must be a finite number ${minOpen ? '>' : '≥'} ${min} (got ${show(v)})`);
  }
  return v;
}

/** A payload problem on its way up: each level prepends its key, so paths are built only on failure. */
class PayloadProblem {
  readonly path: string[] = [];
  constructor(readonly message: string) {}
}

const PLAIN_DATA = 'must be plain data: null, boolean, number, string, Uint8Array, array or plain object';

function walk(v: unknown, rules: BodyRules, depth: number): WireValue {
  switch (typeof v) {
    case 'string':
    case 'boolean':
    case 'number':
      return v;
    case 'object': {
      if (v === null) return v;
      if (v instanceof Uint8Array) {
        // A Buffer is a Uint8Array and packs as bytes; other typed arrays do not pack faithfully.
        return rules.copyBytes ? new Uint8Array(v) : v;
      }
      if (depth > rules.maxDepth) throw new PayloadProblem(`nests deeper than ${rules.maxDepth} levels`);
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          try {
            const c = walk(v[i], rules, depth + 1);
            if (rules.copyBytes) v[i] = c;
          } catch (e) {
            if (e instanceof PayloadProblem) e.path.push(`[${i}]`);
            throw e;
          }
        }
        return v as WireValue[];
      }
      if (ArrayBuffer.isView(v)) {
        throw new PayloadProblem(`must be plain data; a ${v.constructor.name} does not travel: send its bytes as a Uint8Array (runtime/store/bytes.ts) and rebuild it on receipt`);
      }
      if (!isPlainMap(v)) throw new PayloadProblem(`${PLAIN_DATA} (got ${show(v)})`);
      const o = v as Record<string, unknown>;
      for (const k in o) {
        if (!Object.hasOwn(o, k)) continue;
        try {
          // msgpackr renames this key on decode; refuse it rather than change the message.
          if (k === '__proto__') throw new PayloadProblem('is not allowed as a key');
          const c = walk(o[k], rules, depth + 1);
          if (rules.copyBytes) o[k] = c;
        } catch (e) {
          if (e instanceof PayloadProblem) e.path.push(`.${k}`);
          throw e;
        }
      }
      return o as WireValue;
    }
    default:
      throw new PayloadProblem(`${PLAIN_DATA} (got ${typeof v === 'undefined' ? 'undefined' : show(v)})`);
  }
}

/**
 * Check a payload; with `copyBytes`, replace every byte string in it by a
 * copy in fresh memory (decoded bytes are views of the frame). The field
 * named in an error is `field + suffix + path`.
 */
export function checkPayload(v: unknown, field: string, rules: BodyRules, reject: Reject, suffix = ''): WireValue {
  try {
    return walk(v, rules, 1);
  } catch (e) {
    if (e instanceof PayloadProblem) throw reject(field + suffix + e.path.reverse().join(''), e.message);
    throw e;
  }
}

type BodyChecker<T extends WireType> = (v: unknown, field: string, rules: BodyRules, reject: Reject) => WireBodies[T];

// Each checker validates in place and returns the map it was given (its keys are exactly the body's),
// so a decoded message costs no copies; only payload bytes are replaced by copies when asked.
const BODY_CHECKS: { readonly [T in WireType]: BodyChecker<T> } = {
  heartbeat(v, f, _r, reject) {
    const o = fields(v, ['seq', 'sentAt', 'incarnation'], f, reject);
    uint(o, 'seq', f, reject);
    finite(o, 'sentAt', f, reject, 0, false);
    uint(o, 'incarnation', f, reject);
    return o as unknown as Heartbeat;
  },
  'sync.pulse'(v, f, _r, reject) {
    const o = fields(v, ['cycleMs', 'tick', 'runs', 'sentAt'], f, reject);
    finite(o, 'cycleMs', f, reject, 0, false);
    uint(o, 'tick', f, reject);
    const runs = o['runs'];
    if (!isPlainMap(runs)) throw reject(`${f}.runs`, `must be a map of run id to ticks (got ${show(runs)})`);
    let n = 0;
    for (const k in runs) {
      if (!Object.hasOwn(runs, k)) continue;
      if (++n > MAX_PULSE_RUNS) throw reject(`${f}.runs`, `must list at most ${MAX_PULSE_RUNS} runs`);
      if (!RUN_ID.test(k)) throw reject(`${f}.runs`, `keys must be run ids (got ${show(k)})`);
      uint(runs, k, `${f}.runs`, reject);
    }
    finite(o, 'sentAt', f, reject, 0, false);
    return o as unknown as SyncPulse;
  },
  'actor.tell'(v, f, rules, reject) {
    const o = fields(v, ['payload'], f, reject);
    const p = checkPayload(o['payload'], f, rules, reject, '.payload');
    if (rules.copyBytes) o['payload'] = p;
    return o as unknown as ActorTell;
  },
  'actor.ask'(v, f, rules, reject) {
    const o = fields(v, ['requestId', 'timeoutMs', 'payload'], f, reject);
    uint(o, 'requestId', f, reject);
    const timeoutMs = uint(o, 'timeoutMs', f, reject);
    if (timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS) throw reject(`${f}.timeoutMs`, `must be from 1 to ${MAX_TIMEOUT_MS} (got ${timeoutMs})`);
    const p = checkPayload(o['payload'], f, rules, reject, '.payload');
    if (rules.copyBytes) o['payload'] = p;
    return o as unknown as ActorAsk;
  },
  'actor.reply'(v, f, rules, reject) {
    if (!isPlainMap(v)) throw reject(f, `must be a map (got ${show(v)})`);
    const ok = v['ok'];
    if (ok === true) {
      const o = fields(v, ['requestId', 'ok', 'payload'], f, reject);
      uint(o, 'requestId', f, reject);
      const p = checkPayload(o['payload'], f, rules, reject, '.payload');
      if (rules.copyBytes) o['payload'] = p;
      return o as unknown as ActorReply;
    }
    if (ok === false) {
      const o = fields(v, ['requestId', 'ok', 'error'], f, reject);
      uint(o, 'requestId', f, reject);
      o['error'] = checkWireError(o['error'], `${f}.error`, reject);
      return o as unknown as ActorReply;
    }
    throw reject(`${f}.ok`, `must be true or false (got ${show(ok)})`);
  },
};

/**
 * The error of a failed reply: `{ code, message }` or `{ code, message,
 * details }`. The code must be a string (an error code's shape), but need
 * not be one this host knows: an unknown one becomes INTERNAL with
 * `details.remoteCode` (see WireError). Returns the error as it is to be
 * used (a new map only when the code was unknown).
 */
function checkWireError(v: unknown, f: string, reject: Reject): WireError {
  if (!isPlainMap(v)) throw reject(f, `must be a map (got ${show(v)})`);
  for (const k in v) {
    if (Object.hasOwn(v, k) && k !== 'code' && k !== 'message' && k !== 'details') throw reject(`${f}.${k}`, 'is not a known field');
  }
  for (const k of ['code', 'message']) if (!Object.hasOwn(v, k)) throw reject(`${f}.${k}`, 'is missing');
  const code = v['code'];
  if (typeof code !== 'string' || !/^[A-Z][A-Z0-9_]*$/.test(code) || code.length > MAX_ERROR_CODE) {
    throw reject(`${f}.code`, `must be an error code: 1 to ${MAX_ERROR_CODE} capital letters, digits or "_" (got ${show(code)})`);
  }
  const message = v['message'];
  if (typeof message !== 'string' || message.length > MAX_ERROR_MESSAGE) {
    throw reject(`${f}.message`, `must be a string of at most ${MAX_ERROR_MESSAGE} characters (got ${show(message)})`);
  }
  const details = v['details'];
  if (details !== undefined) {
    if (!isPlainMap(details)) throw reject(`${f}.details`, `must be a map (got ${show(details)})`);
    let n = 0;
    for (const k in details) {
      if (!Object.hasOwn(details, k)) continue;
      if (++n > MAX_ERROR_DETAILS) throw reject(`${f}.details`, `must have at most ${MAX_ERROR_DETAILS} entries`);
      if (k.length > MAX_ERROR_DETAIL_KEY) throw reject(`${f}.details`, `keys must be at most ${MAX_ERROR_DETAIL_KEY} characters (got ${show(k)})`);
      const d = details[k];
      const fine = d === null || typeof d === 'boolean' || (typeof d === 'number' && Number.isFinite(d)) || (typeof d === 'string' && d.length <= MAX_ERROR_DETAIL_VALUE);
      if (!fine) throw reject(`${f}.details.${k}`, `must be null, a boolean, a finite number or a string of at most ${MAX_ERROR_DETAIL_VALUE} characters (got ${show(d)})`);
    }
  }
  if ((ErrorCodes as readonly string[]).includes(code)) return v as unknown as WireError;
  const kept: Record<string, string | number | boolean | null> = { ...(details as WireErrorDetails | undefined), remoteCode: code };
  return { code: 'INTERNAL', message, details: kept };
}

/** Check the body of a message of type `type`, naming the bad field under `field` (e.g. `body`). */
export function checkBody<T extends WireType>(type: T, body: unknown, field: string, rules: BodyRules, reject: Reject): WireBodies[T] {
  return (BODY_CHECKS[type] as BodyChecker<T>)(body, field, rules, reject);
}
