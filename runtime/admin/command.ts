/**
 * Admin commands (SPEC §2 "Cluster"): what an operator may ask of a host.
 * One discriminated union; `parseAdminCommand` is the only way from an
 * untrusted value (a wire frame, a CLI's assembled object) to a command: it
 * checks every field, rejects unknown types and unknown fields, and returns
 * a normalised copy (no `undefined` members, -0 written as 0) whose
 * canonical bytes (layout.ts) are the same on the signer and the verifier.
 *
 * Run parameters are the `Phase12Request`/`Phase13Request` of
 * kernels/params.ts, minus `maxPockets` (a host applies its own configured
 * limit, not one chosen by the sender). Shape is checked here (integers,
 * finite numbers, non-empty lists); the phase rules proper (`phase12Params`,
 * `phase13Params`) run on the host that starts the run.
 */
import { isBackendRequest, type BackendRequest } from '../../kernels/backend.js';
import type { Phase12Request, Phase13Request } from '../../kernels/params.js';
import { formatAddress, isNodeId, parseAddress } from '../actors/address.js';
import { QallowError, isQallowError } from '../errors.js';
import { exactInteger } from '../integer.js';

export const ADMIN_COMMAND_TYPES = [
  'status',
  'runs',
  'run',
  'pause',
  'resume',
  'cancel',
  'actor.restart',
  'actor.stop',
  'checkpoint.take',
  'shutdown',
  'ledger.tail',
] as const;

export type AdminCommandType = (typeof ADMIN_COMMAND_TYPES)[number];

export type Phase12RunRequest = { readonly phase: 'phase12' } & Readonly<Phase12Request>;
export type Phase13RunRequest = { readonly phase: 'phase13' } & Readonly<Omit<Phase13Request, 'maxPockets'>>;
export type RunRequest = Phase12RunRequest | Phase13RunRequest;

export interface StatusCommand {
  readonly type: 'status';
}
export interface RunsCommand {
  readonly type: 'runs';
}
export interface StartRunCommand {
  readonly type: 'run';
  readonly params: RunRequest;
  /** Run id; the host picks one when absent. */
  readonly id?: string | undefined;
  /** Ticks per epoch; the host's configured value when absent. */
  readonly epochTicks?: number | undefined;
  /** Backend; the host's configured one when absent. */
  readonly backend?: BackendRequest | undefined;
  /** Cluster pacing (runtime/cluster/pacer.ts): true, or absent. */
  readonly paced?: true | undefined;
}
export interface RunControlCommand<T extends 'pause' | 'resume' | 'cancel' | 'checkpoint.take'> {
  readonly type: T;
  readonly run: string;
}
export interface ActorControlCommand<T extends 'actor.restart' | 'actor.stop'> {
  readonly type: T;
  /** `qallow://NODE/ACTOR...` */
  readonly actor: string;
}
export interface ShutdownCommand {
  readonly type: 'shutdown';
}
/** Where a ledger reader stands in one origin's chain: it has every record up to `seq`. */
export interface LedgerCursor {
  readonly origin: string;
  readonly seq: number;
}
/**
 * Read committed ledger records (`qallow ledger tail`): a query, not a
 * governance action. With `after`, every origin's records past its cursor
 * (0 for an origin not listed), at most `limit` per origin; without it, the
 * newest `limit` records overall.
 */
export interface LedgerTailCommand {
  readonly type: 'ledger.tail';
  readonly limit: number;
  readonly after?: readonly LedgerCursor[] | undefined;
}

export type AdminCommand =
  | StatusCommand
  | RunsCommand
  | StartRunCommand
  | RunControlCommand<'pause'>
  | RunControlCommand<'resume'>
  | RunControlCommand<'cancel'>
  | ActorControlCommand<'actor.restart'>
  | ActorControlCommand<'actor.stop'>
  | RunControlCommand<'checkpoint.take'>
  | ShutdownCommand
  | LedgerTailCommand;

export type AdminCommandOf<T extends AdminCommandType> = Extract<AdminCommand, { readonly type: T }>;

/** Run ids: the same rule as config runs. */
export const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Longest eps or couplings list a command may carry. */
export const MAX_LIST = 1 << 20;
/** Most records per origin one `ledger.tail` may ask for, and most cursors it may carry. */
export const MAX_TAIL_LIMIT = 1000;
export const MAX_TAIL_CURSORS = 4096;

export function isAdminCommandType(value: unknown): value is AdminCommandType {
  return typeof value === 'string' && (ADMIN_COMMAND_TYPES as readonly string[]).includes(value);
}

/** BAD_FRAME when decoding what came over the wire; BAD_PARAMETER for a command built locally. */
export type CommandErrorCode = 'BAD_FRAME' | 'BAD_PARAMETER';

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value instanceof Uint8Array) return `${value.byteLength} bytes`;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

export function commandError(code: CommandErrorCode, field: string, message: string, value: unknown): QallowError {
  return new QallowError(code, `${field} ${message} (got ${show(value)})`, { field, value: show(value) });
}

/** An object literal's kind of object (not an array, a Buffer or a class instance). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Reads the fields of one object, naming each in errors. */
class Fields {
  constructor(
    private readonly o: Record<string, unknown>,
    private readonly path: string,
    private readonly code: CommandErrorCode,
    allowed: readonly string[],
  ) {
    for (const k of Object.keys(o)) {
      // An explicitly undefined member is the same as an absent one.
      if (!allowed.includes(k) && o[k] !== undefined) throw this.fail(k, `is not a field of this command (fields: ${allowed.join(', ') || 'none'})`, o[k]);
    }
  }

  static of(value: unknown, path: string, code: CommandErrorCode, allowed: readonly string[]): Fields {
    if (!isPlainObject(value)) throw commandError(code, path, 'must be an object', value);
    return new Fields(value, path, code, allowed);
  }

  name(k: string): string {
    return `${this.path}.${k}`;
  }

  fail(k: string, message: string, value: unknown): QallowError {
    return commandError(this.code, this.name(k), message, value);
  }

  has(k: string): boolean {
    return this.o[k] !== undefined;
  }

  get(k: string): unknown {
    return this.o[k];
  }

  string(k: string, rule: RegExp, ruleText: string): string {
    const v = this.o[k];
    if (typeof v !== 'string' || !rule.test(v)) throw this.fail(k, ruleText, v);
    return v;
  }

  /** A safe integer in any exact encoding (runtime/integer.ts: a BigInt from a uint64 too), at least `min` when given. */
  integer(k: string, min?: number): number {
    const v = exactInteger(this.o[k]); // -0 → 0
    if (v === undefined || (min !== undefined && v < min)) {
      throw this.fail(k, min === undefined ? 'must be an integer of at most 2^53 − 1 either way' : `must be an integer from ${min} to 2^53 − 1`, this.o[k]);
    }
    return v;
  }

  boolean(k: string): boolean {
    const v = this.o[k];
    if (typeof v !== 'boolean') throw this.fail(k, 'must be true or false', v);
    return v;
  }

  numbers(k: string): number[] {
    const v = this.o[k];
    if (!Array.isArray(v)) throw this.fail(k, 'must be a list of numbers', v);
    if (v.length === 0) throw this.fail(k, 'needs at least one value', v);
    if (v.length > MAX_LIST) throw this.fail(k, `must have at most ${MAX_LIST} values`, `${v.length} values`);
    return v.map((x: unknown, i) => {
      // A whole value sent as a 64-bit integer is that number; a BigInt it could not hold exactly is not.
      if (typeof x === 'bigint') {
        const n = exactInteger(x);
        if (n === undefined) throw commandError(this.code, `${this.name(k)}[${i}]`, 'must be a finite number (an integer of at most 2^53 − 1 either way)', x);
        return n;
      }
      if (typeof x !== 'number' || !Number.isFinite(x)) throw commandError(this.code, `${this.name(k)}[${i}]`, 'must be a finite number', x);
      return x === 0 ? 0 : x;
    });
  }
}

const RUN_ID_RULE = 'must be 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit';

function parseRunRequest(value: unknown, path: string, code: CommandErrorCode): RunRequest {
  if (!isPlainObject(value)) throw commandError(code, path, 'must be an object', value);
  const phase = value['phase'];
  if (phase === 'phase12') {
    const f = new Fields(value, path, code, ['phase', 'ticks', 'eps']);
    return { phase, ticks: f.integer('ticks', 1), eps: f.numbers('eps') };
  }
  if (phase === 'phase13') {
    const f = new Fields(value, path, code, ['phase', 'ticks', 'pockets', 'couplings', 'rings', 'reference']);
    const out: { -readonly [K in keyof Phase13RunRequest]: Phase13RunRequest[K] } = {
      phase,
      ticks: f.integer('ticks', 1),
      pockets: f.integer('pockets'), // any integer: reference mode promotes < 2 to 2
      couplings: f.numbers('couplings'),
    };
    if (f.has('rings')) out.rings = f.integer('rings', 1);
    if (f.has('reference')) out.reference = f.boolean('reference');
    return out;
  }
  throw commandError(code, `${path}.phase`, 'must be "phase12" or "phase13"', phase);
}

/**
 * Validate and normalise an admin command; throws `code` (BAD_FRAME by
 * default) with `details.field` naming the bad field (`command.params.ticks`).
 */
export function parseAdminCommand(value: unknown, code: CommandErrorCode = 'BAD_FRAME', path = 'command'): AdminCommand {
  if (!isPlainObject(value)) throw commandError(code, path, 'must be an object', value);
  const type = value['type'];
  if (!isAdminCommandType(type)) throw commandError(code, `${path}.type`, `must be one of ${ADMIN_COMMAND_TYPES.join(', ')}`, type);
  switch (type) {
    case 'status':
    case 'runs':
    case 'shutdown':
      new Fields(value, path, code, ['type']);
      return { type };
    case 'pause':
    case 'resume':
    case 'cancel':
    case 'checkpoint.take': {
      const f = new Fields(value, path, code, ['type', 'run']);
      return { type, run: f.string('run', RUN_ID, RUN_ID_RULE) };
    }
    case 'actor.restart':
    case 'actor.stop': {
      const f = new Fields(value, path, code, ['type', 'actor']);
      const actor = f.get('actor');
      if (typeof actor !== 'string') throw f.fail('actor', 'must be an actor address "qallow://NODE/ACTOR"', actor);
      try {
        return { type, actor: formatAddress(parseAddress(actor)) };
      } catch (e) {
        if (!isQallowError(e)) throw e;
        throw f.fail('actor', `must be an actor address "qallow://NODE/ACTOR" (${e.message})`, actor);
      }
    }
    case 'ledger.tail': {
      const f = new Fields(value, path, code, ['type', 'limit', 'after']);
      const limit = f.integer('limit', 1);
      if (limit > MAX_TAIL_LIMIT) throw f.fail('limit', `must be at most ${MAX_TAIL_LIMIT}`, limit);
      if (!f.has('after')) return { type, limit };
      const after = f.get('after');
      if (!Array.isArray(after) || after.length > MAX_TAIL_CURSORS) throw f.fail('after', `must be a list of at most ${MAX_TAIL_CURSORS} cursors`, after);
      const seen = new Set<string>();
      const cursors = after.map((c: unknown, i): LedgerCursor => {
        const cf = Fields.of(c, `${f.name('after')}[${i}]`, code, ['origin', 'seq']);
        const origin = cf.get('origin');
        if (typeof origin !== 'string' || !isNodeId(origin)) throw cf.fail('origin', 'must be a node id', origin);
        if (seen.has(origin)) throw cf.fail('origin', 'is listed twice', origin);
        seen.add(origin);
        return { origin, seq: cf.integer('seq', 0) };
      });
      return { type, limit, after: cursors };
    }
    case 'run': {
      const f = new Fields(value, path, code, ['type', 'params', 'id', 'epochTicks', 'backend', 'paced']);
      const out: { -readonly [K in keyof StartRunCommand]: StartRunCommand[K] } = { type, params: parseRunRequest(f.get('params'), f.name('params'), code) };
      if (f.has('id')) out.id = f.string('id', RUN_ID, RUN_ID_RULE);
      if (f.has('epochTicks')) out.epochTicks = f.integer('epochTicks', 1);
      if (f.has('backend')) {
        const b = f.get('backend');
        if (typeof b !== 'string' || !isBackendRequest(b)) throw f.fail('backend', 'must be one of auto, js, wasm, webasm, cpu, gpu', b);
        out.backend = b;
      }
      if (f.has('paced')) {
        if (f.get('paced') !== true) throw f.fail('paced', 'must be true when present', f.get('paced'));
        out.paced = true;
      }
      return out;
    }
  }
}
