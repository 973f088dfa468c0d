/**
 * A run's governance record: what the governor remembered and decided at the
 * run's newest checkpoints, so a restarted host decides exactly as the host
 * that crashed would have (same memory in → same action out).
 *
 * One small file per run beside its CSV (`DATA/runs/RUN.governor`), msgpack
 * (NaN and ±inf survive, unlike JSON), replaced atomically and durably
 * (write a temporary file, fsync, rename, fsync the directory). It holds the
 * entries of the last few checkpoints; an entry is written *before* its
 * checkpoint, so whichever checkpoint recovery lands on — the newest one, or
 * the one before when the crash fell between the two writes — has its entry.
 * An entry for an epoch the chain does not have (the crash fell after the
 * entry, before the checkpoint) is simply never looked up, and the epoch is
 * recomputed and re-entered identically.
 *
 * Why not in LMDB: the Store contract has no place for it, and the record is
 * only this engine's memory, not part of the state's hash chain; if the file
 * is lost the engine falls back to what the chain itself says (see
 * RunEngine.open) and logs that it did.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Packr } from 'msgpackr';
import { QallowError } from '../runtime/errors.js';
import { GOVERNANCE_EVENT_KINDS, type GovernanceEvent } from './governance-hook.js';
import type { GovernorAction, GovernorMemory, GoodCheckpoint, LaneMemory } from './governor.js';

export const GOVERNOR_RECORD_VERSION = 1;
/** Entries kept: the newest checkpoint's, and enough before it to survive a crash between two writes. */
export const GOVERNOR_RECORD_KEEP = 3;

export interface GovernorEntry {
  readonly epoch: number;
  readonly tick: number;
  readonly stateHash: string;
  readonly memory: GovernorMemory;
  /** What the governor decided at this checkpoint; null where it did not judge (a rollback's or an extra checkpoint). */
  readonly action: GovernorAction | null;
  /** The governance events of this checkpoint, in order. */
  readonly events: readonly GovernanceEvent[];
}

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, bundleStrings: false, structuredClone: false });

type Obj = Record<string, unknown>;

class Reader {
  constructor(readonly path: string) {}

  fail(field: string, what: string, got: unknown): never {
    const shown = typeof got === 'object' ? (Array.isArray(got) ? 'an array' : got === null ? 'null' : 'an object') : String(got);
    throw new QallowError('STORE_CORRUPT', `governance record ${this.path}: ${field} must be ${what} (got ${shown})`, { path: this.path, field });
  }

  obj(v: unknown, field: string): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, 'an object', v);
    return v as Obj;
  }

  arr(v: unknown, field: string): unknown[] {
    if (!Array.isArray(v)) this.fail(field, 'an array', v);
    return v;
  }

  num(v: unknown, field: string): number {
    if (typeof v !== 'number') this.fail(field, 'a number', v);
    return v;
  }

  int(v: unknown, field: string): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) this.fail(field, 'a non-negative integer', v);
    return v;
  }

  str(v: unknown, field: string): string {
    if (typeof v !== 'string') this.fail(field, 'a string', v);
    return v;
  }

  nums(v: unknown, field: string): number[] {
    return this.arr(v, field).map((x, i) => this.num(x, `${field}[${i}]`));
  }

  ints(v: unknown, field: string): number[] {
    return this.arr(v, field).map((x, i) => this.int(x, `${field}[${i}]`));
  }

  lanes(v: unknown, field: string): LaneMemory[] | null {
    if (v === null) return null;
    return this.arr(v, field).map((x, i) => {
      const o = this.obj(x, `${field}[${i}]`);
      return { drift: this.num(o['drift'], `${field}[${i}].drift`), total: this.num(o['total'], `${field}[${i}].total`) };
    });
  }

  good(v: unknown, field: string): GoodCheckpoint {
    const o = this.obj(v, field);
    return { epoch: this.int(o['epoch'], `${field}.epoch`), tick: this.int(o['tick'], `${field}.tick`), lanes: this.lanes(o['lanes'], `${field}.lanes`) };
  }

  memory(v: unknown, field: string): GovernorMemory {
    const o = this.obj(v, field);
    return {
      lanes: this.lanes(o['lanes'], `${field}.lanes`),
      failingEpochs: this.int(o['failingEpochs'], `${field}.failingEpochs`),
      adaptations: this.int(o['adaptations'], `${field}.adaptations`),
      lastGood: this.good(o['lastGood'], `${field}.lastGood`),
    };
  }

  action(v: unknown, field: string): GovernorAction {
    const o = this.obj(v, field);
    switch (o['type']) {
      case 'continue': {
        const reason = o['reason'];
        if (reason !== 'passing' && reason !== 'converging' && reason !== 'failing') this.fail(`${field}.reason`, 'passing, converging or failing', reason);
        return { type: 'continue', reason };
      }
      case 'rollback': {
        const a = this.obj(o['adaptation'], `${field}.adaptation`);
        return {
          type: 'rollback',
          toEpoch: this.int(o['toEpoch'], `${field}.toEpoch`),
          toTick: this.int(o['toTick'], `${field}.toTick`),
          reason: this.str(o['reason'], `${field}.reason`),
          adaptation: {
            rings: this.ints(a['rings'], `${field}.adaptation.rings`),
            fromCouplings: this.nums(a['fromCouplings'], `${field}.adaptation.fromCouplings`),
            toCouplings: this.nums(a['toCouplings'], `${field}.adaptation.toCouplings`),
          },
        };
      }
      case 'halt':
        return { type: 'halt', reason: this.str(o['reason'], `${field}.reason`) };
      default:
        return this.fail(`${field}.type`, 'continue, rollback or halt', o['type']);
    }
  }

  event(v: unknown, field: string): GovernanceEvent {
    const o = this.obj(v, field);
    const run = this.str(o['run'], `${field}.run`);
    const epoch = this.int(o['epoch'], `${field}.epoch`);
    const tick = this.int(o['tick'], `${field}.tick`);
    switch (o['kind']) {
      case 'ethics_check': {
        const f = this.obj(o['figures'], `${field}.figures`);
        const decision = o['decision'];
        if (decision !== 'pass' && decision !== 'fail') this.fail(`${field}.decision`, 'pass or fail', decision);
        return {
          kind: 'ethics_check', run, epoch, tick,
          stateHash: this.str(o['stateHash'], `${field}.stateHash`),
          figures: {
            minTotal: this.num(f['minTotal'], `${field}.figures.minTotal`),
            maxEntropy: this.num(f['maxEntropy'], `${field}.figures.maxEntropy`),
            passed: this.int(f['passed'], `${field}.figures.passed`),
            lanes: this.int(f['lanes'], `${field}.figures.lanes`),
          },
          decision,
        };
      }
      case 'rollback':
        return {
          kind: 'rollback', run, epoch, tick,
          stateHash: this.str(o['stateHash'], `${field}.stateHash`),
          toEpoch: this.int(o['toEpoch'], `${field}.toEpoch`),
          reason: this.str(o['reason'], `${field}.reason`),
        };
      case 'adaptation':
        return {
          kind: 'adaptation', run, epoch, tick,
          rings: this.ints(o['rings'], `${field}.rings`),
          fromCouplings: this.nums(o['fromCouplings'], `${field}.fromCouplings`),
          toCouplings: this.nums(o['toCouplings'], `${field}.toCouplings`),
        };
      case 'halt':
        return { kind: 'halt', run, epoch, tick, reason: this.str(o['reason'], `${field}.reason`) };
      default:
        return this.fail(`${field}.kind`, `one of ${GOVERNANCE_EVENT_KINDS.join(', ')}`, o['kind']);
    }
  }

  entry(v: unknown, field: string): GovernorEntry {
    const o = this.obj(v, field);
    return {
      epoch: this.int(o['epoch'], `${field}.epoch`),
      tick: this.int(o['tick'], `${field}.tick`),
      stateHash: this.str(o['stateHash'], `${field}.stateHash`),
      memory: this.memory(o['memory'], `${field}.memory`),
      action: o['action'] === null ? null : this.action(o['action'], `${field}.action`),
      events: this.arr(o['events'], `${field}.events`).map((e, i) => this.event(e, `${field}.events[${i}]`)),
    };
  }
}

/** Decode and validate a record's bytes; STORE_CORRUPT naming the field otherwise. */
export function decodeGovernorRecord(bytes: Uint8Array, path: string, run: string): GovernorEntry[] {
  const r = new Reader(path);
  let raw: unknown;
  try {
    raw = packr.unpack(bytes);
  } catch (e) {
    throw new QallowError('STORE_CORRUPT', `governance record ${path} is not valid msgpack`, { path }, { cause: e });
  }
  const o = r.obj(raw, 'record');
  if (o['v'] !== GOVERNOR_RECORD_VERSION) r.fail('record.v', String(GOVERNOR_RECORD_VERSION), o['v']);
  if (o['run'] !== run) r.fail('record.run', JSON.stringify(run), o['run']);
  return r.arr(o['entries'], 'record.entries').map((e, i) => r.entry(e, `record.entries[${i}]`));
}

export function encodeGovernorRecord(run: string, entries: readonly GovernorEntry[]): Uint8Array {
  return packr.pack({ v: GOVERNOR_RECORD_VERSION, run, entries });
}

/** The record file of one run. */
export class GovernorRecord {
  private entries: GovernorEntry[] = [];

  constructor(
    readonly path: string,
    readonly run: string,
  ) {}

  /** Read the file (a missing file is an empty record). */
  async load(): Promise<void> {
    const bytes = await readFile(this.path).catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    });
    this.entries = bytes === null ? [] : decodeGovernorRecord(bytes, this.path, this.run);
  }

  /** The entry of a checkpoint epoch, if the record has it. */
  entry(epoch: number, stateHash: string): GovernorEntry | undefined {
    return this.entries.find((e) => e.epoch === epoch && e.stateHash === stateHash);
  }

  /** Add (or replace) the entry of an epoch about to be checkpointed, durably. */
  async put(entry: GovernorEntry): Promise<void> {
    const kept = this.entries.filter((e) => e.epoch < entry.epoch);
    this.entries = [...kept.slice(-(GOVERNOR_RECORD_KEEP - 1)), entry];
    await writeDurably(this.path, encodeGovernorRecord(this.run, this.entries));
  }
}

async function writeDurably(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`;
  await mkdir(dirname(path), { recursive: true });
  const f = await open(tmp, 'w');
  try {
    await f.writeFile(bytes);
    await f.sync();
  } finally {
    await f.close();
  }
  await rename(tmp, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
