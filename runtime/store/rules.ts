/**
 * What a store accepts and what it recovers, shared by every Store
 * implementation so that they cannot drift apart: argument checks, reading
 * stored bytes back into typed records (with the right error code for each
 * kind of key), the precondition of `putCheckpoint` and the walk of
 * `latestValidCheckpoint`.
 */
import { QallowError, errorMessage } from '../errors.js';
import { verifyCheckpoint, verifyCheckpointHash, type Checkpoint } from './checkpoint.js';
import { decodeCheckpoint, decodeJournalEntry, decodeRunRecord, decodeSnapshot, encodeCheckpoint, encodeJournalEntry, encodeRunRecord, encodeSnapshot } from './codec.js';
import type { RecoveredCheckpoint, SkippedCheckpoint } from './contract.js';
import { journalEntryProblem, type JournalEntry } from './journal.js';
import { runRecordProblem, type RunRecord } from './run.js';
import { snapshotProblem, stateHash, type StateSnapshot } from './snapshot.js';
import { runIdProblem, u32Problem } from './validate.js';

function badParameter(param: string, problem: string): QallowError {
  return new QallowError('BAD_PARAMETER', problem, { param, problem });
}

export function assertRunId(run: string): void {
  const p = runIdProblem(run);
  if (p) throw badParameter('run', p);
}

export function assertU32(param: string, v: number, min = 0): void {
  const p = u32Problem(param, v, min);
  if (p) throw badParameter(param, p);
}

// ------------------------------------------------------------ reading back

/** A stored checkpoint, decoded, and checked to be the one its key says. */
export function readCheckpoint(run: string, epoch: number, bytes: Uint8Array): Checkpoint {
  let c: Checkpoint;
  try {
    c = decodeCheckpoint(bytes);
  } catch (e) {
    throw corrupt(run, epoch, 'checkpoint', e);
  }
  if (c.run !== run || c.epoch !== epoch) {
    throw new QallowError('CHECKPOINT_CORRUPT', `checkpoint stored as run ${JSON.stringify(run)} epoch ${epoch} says run ${JSON.stringify(c.run)} epoch ${c.epoch}`, {
      run,
      epoch,
      field: c.run !== run ? 'run' : 'epoch',
    });
  }
  return c;
}

export function readSnapshot(run: string, epoch: number, bytes: Uint8Array): StateSnapshot {
  try {
    return decodeSnapshot(bytes);
  } catch (e) {
    throw corrupt(run, epoch, 'state', e);
  }
}

function corrupt(run: string, epoch: number, what: 'checkpoint' | 'state', e: unknown): QallowError {
  const field = e instanceof QallowError ? String(e.details['field'] ?? '') : '';
  return new QallowError(
    'CHECKPOINT_CORRUPT',
    `stored ${what} of run ${JSON.stringify(run)} epoch ${epoch} is unreadable: ${errorMessage(e)}`,
    { run, epoch, record: what, field },
    { cause: e },
  );
}

export function readJournalEntry(run: string, seq: number, bytes: Uint8Array): JournalEntry {
  try {
    return decodeJournalEntry(bytes);
  } catch (e) {
    throw new QallowError('STORE_CORRUPT', `journal entry ${seq} of run ${JSON.stringify(run)} is unreadable: ${errorMessage(e)}`, { run, seq, record: 'journal' }, { cause: e });
  }
}

export function readRunRecord(run: string, bytes: Uint8Array): RunRecord {
  let r: RunRecord;
  try {
    r = decodeRunRecord(bytes);
  } catch (e) {
    throw new QallowError('STORE_CORRUPT', `run record of ${JSON.stringify(run)} is unreadable: ${errorMessage(e)}`, { run, record: 'run' }, { cause: e });
  }
  if (r.run !== run) throw new QallowError('STORE_CORRUPT', `run record stored as ${JSON.stringify(run)} says ${JSON.stringify(r.run)}`, { run, record: 'run', field: 'run' });
  return r;
}

// ------------------------------------------------------------ writing

export interface PreparedCheckpoint {
  readonly checkpoint: Uint8Array;
  readonly state: Uint8Array;
}

/**
 * Everything about a checkpoint write that does not depend on what is
 * stored (run outside the write transaction): the checkpoint verifies on its
 * own, the snapshot is consistent and hashes to its stateHash. Returns the
 * encoded values.
 */
export function prepareCheckpoint(c: Checkpoint, snapshot: StateSnapshot): PreparedCheckpoint {
  // The link is checked later, inside the write, against what is stored.
  const own = verifyCheckpointHash(c);
  if (own) throw badParameter('checkpoint', `checkpoint: ${own}`);
  const sp = snapshotProblem(snapshot);
  if (sp) throw badParameter('snapshot', `state snapshot: ${sp}`);
  const h = stateHash(snapshot);
  if (h !== c.stateHash) throw badParameter('stateHash', `checkpoint stateHash ${c.stateHash} is not the hash of the snapshot given (${h})`);
  if (snapshot.tick !== c.tick) throw badParameter('tick', `checkpoint tick ${c.tick} is not the snapshot's tick ${snapshot.tick}`);
  return { checkpoint: encodeCheckpoint(c), state: encodeSnapshot(snapshot) };
}

/** Run inside the write transaction: `c` must extend the newest stored checkpoint of its run. */
export function checkExtends(c: Checkpoint, newest: { readonly epoch: number; readonly bytes: Uint8Array } | undefined): void {
  let prev: Checkpoint | null = null;
  if (newest) {
    try {
      prev = readCheckpoint(c.run, newest.epoch, newest.bytes);
    } catch (e) {
      throw new QallowError(
        'CHECKPOINT_CORRUPT',
        `cannot append epoch ${c.epoch} to run ${JSON.stringify(c.run)}: the newest stored checkpoint (epoch ${newest.epoch}) is unreadable; ` +
          `recover with latestValidCheckpoint and discardAfter(run, thatEpoch) first`,
        { run: c.run, epoch: newest.epoch },
        { cause: e },
      );
    }
  }
  const problem = verifyCheckpoint(c, prev);
  if (problem) throw badParameter('checkpoint', `checkpoint epoch ${c.epoch} of run ${JSON.stringify(c.run)} does not extend the stored chain: ${problem}`);
}

export function prepareJournalEntry(run: string, entry: JournalEntry): Uint8Array {
  assertRunId(run);
  const p = journalEntryProblem(entry);
  if (p) throw badParameter('entry', `journal ${p}`);
  return encodeJournalEntry(entry);
}

export function prepareRunRecord(record: RunRecord): Uint8Array {
  const p = runRecordProblem(record);
  if (p) throw badParameter('run', `run record: ${p}`);
  return encodeRunRecord(record);
}

// ------------------------------------------------------------ recovery

export interface StoredCheckpoint {
  readonly epoch: number;
  readonly bytes: Uint8Array;
}

/**
 * The newest usable checkpoint of a run. `stored` is every stored checkpoint
 * of the run in epoch order; `loadState` reads the state stored with one.
 *
 * A checkpoint is usable when it decodes, its hash verifies, it links to the
 * one before it (genesis for the first), every checkpoint before it is usable
 * in the same sense (the chain verifies from the start), its state decodes,
 * hashes to its stateHash and has its tick. Newer ones are reported in
 * `skipped`, newest first.
 */
/** Chain pass, oldest first: each stored checkpoint decoded (null if it does not) and why it cannot be a link of the chain (null: it can). */
function chainPass(run: string, stored: readonly StoredCheckpoint[]): { decoded: Array<Checkpoint | null>; own: Array<string | null>; firstBad: number } {
  const decoded: Array<Checkpoint | null> = [];
  const own: Array<string | null> = [];
  stored.forEach((s, i) => {
    let c: Checkpoint | null = null;
    let reason: string | null;
    try {
      c = readCheckpoint(run, s.epoch, s.bytes);
      const prev = i === 0 ? null : decoded[i - 1];
      // An unreadable predecessor is reported on its own; here only this record's hash can be checked.
      reason = prev === undefined || prev === null ? (i === 0 ? verifyCheckpoint(c, null) : verifyCheckpointHash(c)) : verifyCheckpoint(c, prev);
    } catch (e) {
      reason = `checkpoint record is unreadable: ${errorMessage(e)}`;
    }
    decoded.push(c);
    own.push(reason);
  });
  let firstBad = own.findIndex((r) => r !== null);
  if (firstBad < 0) firstBad = stored.length;
  return { decoded, own, firstBad };
}

/** Why the state stored with `c` is unusable (missing, unreadable, another hash or tick), or the state. */
function stateCheck(run: string, c: Checkpoint, bytes: Uint8Array | undefined): { snapshot: StateSnapshot } | { problem: string } {
  if (!bytes) return { problem: 'its state is missing' };
  let snapshot: StateSnapshot;
  try {
    snapshot = readSnapshot(run, c.epoch, bytes);
  } catch (e) {
    return { problem: errorMessage(e) };
  }
  const h = stateHash(snapshot);
  if (h !== c.stateHash) return { problem: `its stored state hashes to ${h}, the checkpoint records ${c.stateHash}` };
  if (snapshot.tick !== c.tick) return { problem: `its stored state is at tick ${snapshot.tick}, the checkpoint records tick ${c.tick}` };
  return { snapshot };
}

export interface AuditedCheckpoint {
  readonly epoch: number;
  /** The decoded record (null when it does not decode). */
  readonly checkpoint: Checkpoint | null;
  /** Why it is not usable, or null when it is: chain, own hash, and its own stored state all verify. */
  readonly problem: string | null;
}

/**
 * Every stored checkpoint of a run checked in full, oldest first: the chain
 * from the run's first checkpoint, each record's own hash, and each one's
 * stored state (decodes, hashes to its stateHash, has its tick). Unlike
 * `recoverLatest`, which stops at the newest usable one, an older checkpoint
 * whose state was damaged is reported too (`qallow checkpoint list`).
 */
export function auditCheckpoints(run: string, stored: readonly StoredCheckpoint[], loadState: (epoch: number) => Uint8Array | undefined): AuditedCheckpoint[] {
  const { decoded, own, firstBad } = chainPass(run, stored);
  return stored.map((s, i) => {
    const checkpoint = decoded[i] ?? null;
    if (own[i]) return { epoch: s.epoch, checkpoint, problem: own[i]! };
    if (i > firstBad) return { epoch: s.epoch, checkpoint, problem: `the chain is broken at an earlier checkpoint (epoch ${stored[firstBad]!.epoch}): ${own[firstBad]!}` };
    const state = stateCheck(run, checkpoint!, loadState(s.epoch));
    return { epoch: s.epoch, checkpoint, problem: 'problem' in state ? state.problem : null };
  });
}

export function recoverLatest(run: string, stored: readonly StoredCheckpoint[], loadState: (epoch: number) => Uint8Array | undefined): RecoveredCheckpoint {
  if (stored.length === 0) throw new QallowError('CHECKPOINT_NOT_FOUND', `run ${JSON.stringify(run)} has no checkpoints`, { run });
  const { decoded, own, firstBad } = chainPass(run, stored);
  const skipped: SkippedCheckpoint[] = [];
  for (let i = stored.length - 1; i >= 0; i--) {
    const epoch = stored[i]!.epoch;
    if (own[i]) {
      skipped.push({ epoch, reason: own[i]! });
      continue;
    }
    if (i > firstBad) {
      skipped.push({ epoch, reason: `the chain is broken at an earlier checkpoint (epoch ${stored[firstBad]!.epoch}): ${own[firstBad]!}` });
      continue;
    }
    const c = decoded[i]!;
    const state = stateCheck(run, c, loadState(epoch));
    if ('problem' in state) {
      skipped.push({ epoch, reason: state.problem });
      continue;
    }
    return { checkpoint: c, snapshot: state.snapshot, skipped };
  }
  throw new QallowError(
    'CHECKPOINT_CORRUPT',
    `run ${JSON.stringify(run)} has ${stored.length} checkpoints and none is usable (newest, epoch ${skipped[0]!.epoch}: ${skipped[0]!.reason})`,
    { run, skipped: skipped.length },
  );
}
