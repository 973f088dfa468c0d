/**
 * Ledger test fixtures: a cluster of validator keys, entries of every kind,
 * and certified chains built the way the protocol will build them (origin
 * seals a batch, validators vote, a certificate collects a quorum).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { nodeId, type NodeId } from '../../runtime/actors/address.js';
import { Ed25519SecretKey } from '../../runtime/identity/ed25519.js';
import { buildBatch } from '../../runtime/ledger/batch.js';
import { CertificateBuilder } from '../../runtime/ledger/certificate.js';
import { ZERO_HASH, entryHash, type EntryKind, type LedgerEntry, type LedgerEntryOf } from '../../runtime/ledger/entry.js';
import { batchRecords, type LedgerRecord } from '../../runtime/ledger/record.js';
import { createLmdbLedgerStore, type LmdbLedgerStore } from '../../runtime/ledger/lmdb-store.js';
import { ValidatorSet } from '../../runtime/ledger/validators.js';
import { createLmdbStore, type LmdbStore } from '../../runtime/store/lmdb.js';
import { signVote } from '../../runtime/ledger/vote.js';

export interface Cluster {
  readonly ids: NodeId[];
  readonly secrets: Map<NodeId, Ed25519SecretKey>;
  readonly set: ValidatorSet;
}

/** n validators node-0 … node-(n−1), deterministic keys from `salt`. */
export function cluster(n: number, salt = 1): Cluster {
  const ids: NodeId[] = [];
  const secrets = new Map<NodeId, Ed25519SecretKey>();
  for (let i = 0; i < n; i++) {
    const id = nodeId(`node-${i}`);
    ids.push(id);
    secrets.set(id, Ed25519SecretKey.fromBytes(new Uint8Array(32).fill(salt * 31 + i + 1)));
  }
  return { ids, secrets, set: ValidatorSet.of(ids.map((id) => ({ nodeId: id, publicKey: secrets.get(id)!.publicKey }))) };
}

const STATE = 'ab'.repeat(32);

/** One fixture per kind: adding a kind without a fixture fails to compile. */
export const DETAILS: { [K in EntryKind]: LedgerEntryOf<K>['detail'] } = {
  ethics_check: { threshold: 2.9, entropyMax: 0.001 },
  rollback: { toEpoch: 3, reason: 'drift rising for 2 epochs; ring 1 C clamped to 0' },
  adaptation: { rings: [1, 4], fromCoupling: [0.01, 0.02], toCoupling: [0.005, 0.01] },
  halt: { reason: 'still failing after 50 epochs' },
  admin: { command: 'pause', actorOrRun: 'ring-1m' },
  supervision: { actor: 'qallow://node-0/runs/ring-1m', action: 'restart', restarts: 2, withinMs: 5000 },
};

export function entryOf<K extends EntryKind>(kind: K, origin: NodeId, seq: number, prevHash: string, extra: Partial<LedgerEntryOf<K>> = {}): LedgerEntryOf<K> {
  return {
    origin,
    seq,
    prevHash,
    kind,
    run: 'ring-1m',
    epoch: seq,
    tick: seq * 1000,
    stateHash: STATE,
    figures: { minTotal: 2.95 + seq / 1000, maxEntropy: 0.0004, passed: 4, lanes: 4 },
    decision: kind === 'ethics_check' ? 'pass' : kind,
    detail: DETAILS[kind],
    timestamp: 1_700_000_000_000 + seq,
    ...extra,
  } as LedgerEntryOf<K>;
}

/** `count` chained entries of `origin` from seq `from` (after `prevHash`), kinds cycling. */
export function chainOf(origin: NodeId, count: number, from = 1, prevHash = ZERO_HASH): LedgerEntry[] {
  const kinds = Object.keys(DETAILS) as EntryKind[];
  const out: LedgerEntry[] = [];
  let prev = prevHash;
  for (let i = 0; i < count; i++) {
    const e = entryOf(kinds[(from + i - 1) % kinds.length]!, origin, from + i, prev) as LedgerEntry;
    out.push(e);
    prev = entryHash(e);
  }
  return out;
}

/** Certify entries (consecutive, one origin) as one batch, with votes from `voters` (default: all). */
export function certify(c: Cluster, entries: readonly LedgerEntry[], voters: readonly NodeId[] = c.ids): LedgerRecord[] {
  const origin = entries[0]!.origin;
  const batch = buildBatch(entries, c.secrets.get(origin)!);
  const b = new CertificateBuilder(batch.header, c.set);
  for (const v of voters) b.add(signVote(batch.header, v, c.secrets.get(v)!));
  return batchRecords(batch, b.certificate());
}

/** Certify entries in batches of `size`. */
export function certifyInBatches(c: Cluster, entries: readonly LedgerEntry[], size: number): LedgerRecord[] {
  const out: LedgerRecord[] = [];
  for (let i = 0; i < entries.length; i += size) out.push(...certify(c, entries.slice(i, i + size)));
  return out;
}

export async function tempDir(t: ExecutionContext, prefix = 'qallow-ledger-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface OpenedLedger {
  readonly store: LmdbStore;
  readonly ledger: LmdbLedgerStore;
  close(): Promise<void>;
}

/**
 * A host store and its ledger store in `dataDir` (stopped in teardown, or by
 * `close`). `validators` undefined opens it as offline tools do (the stored
 * set); `voteLog` false opens it without a vote log, as they do too.
 */
export async function openLedger(t: ExecutionContext, dataDir: string, o: { validators: ValidatorSet | undefined; voteLog?: boolean }): Promise<OpenedLedger> {
  const store = createLmdbStore({ dataDir });
  await store.start();
  const ledger = createLmdbLedgerStore({ validators: o.validators }, { store, voteLogDir: o.voteLog === false ? undefined : join(dataDir, 'votes') });
  try {
    await ledger.start();
  } catch (e) {
    await store.stop();
    throw e;
  }
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await ledger.stop();
    await store.stop();
  };
  t.teardown(close);
  return { store, ledger, close };
}
