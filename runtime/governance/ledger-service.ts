/**
 * The ledger of one host (SPEC §6 "Ledger protocol": signed consistent
 * broadcast). As an origin it turns governance events into entries of its
 * own hash chain and gets them certified; as a replica it appends every
 * other origin's certified entries and catches up on what it missed.
 *
 * Origin side, one round at a time:
 *   1. events queue (`record`); when no round is in flight, everything queued
 *      (up to MAX_BATCH_ENTRIES) becomes one batch: consecutive seqs, each
 *      entry linking to the one before, a Merkle root over their hashes that
 *      the origin signs once (runtime/ledger/batch.ts) — under load one
 *      signature and one vote per validator cover hundreds of entries;
 *   2. this host's own validator checks the batch's decisions and writes
 *      its vote together with the batch itself — one append to the vote
 *      log (runtime/ledger/vote-log.ts) — before anyone sees it, so an
 *      origin that crashes mid-round proposes the *same* batch again after
 *      restart (validators refuse a different one);
 *   3. every other configured validator is asked for its vote through the
 *      location-transparent `system.ask`;
 *      votes are verified as they come (CertificateBuilder); at a quorum
 *      (> 2/3 of the configured validators) the certificate is complete;
 *   4. at the quorum the batch is committed (the quorum's votes are durable
 *      at the validators, the batch in this host's vote log; `stats()`
 *      reports this latency); the records are appended to the local chain
 *      in LMDB (a start that finds the round above the chain's height
 *      proposes it again, and the validators sign the same entries again)
 *      and the next round may be proposed while that append syncs — its
 *      append queues behind it, so seqs still enter the chain in order.
 *      Each event's `record` resolves at the commit, once the append is
 *      queued (its checks passed), not when it is durable: the store's
 *      reads wait for the appends in flight when they are made, so what
 *      was recorded still reads back here, as a linearizable read in etcd
 *      waits for the applied index to reach the commit index. Once the
 *      append is durable the records are told to every peer's ledger
 *      (`commit`); `stats().applyLatencyMs` is commit → durable append;
 *   5. without a quorum within `roundTimeoutMs`, waiting `record` calls
 *      reject QUORUM_UNAVAILABLE (the engine pauses the run) while the round
 *      keeps retrying the validators that have not voted, every
 *      `retryMs` and whenever a peer comes up; a later `record` of the same
 *      event (same run, epoch, kind) joins the pending one instead of
 *      making a second entry.
 *
 * Before its first round (and again when a validator says it equivocated),
 * an origin compares its own chain with its peers' copies and fetches what
 * the cluster certified for it beyond its height (syncOwn): a host restored
 * from an older backup goes on from the cluster's height instead of
 * proposing a different entry for a certified seq. A validator set of one
 * (no peers) commits each round with the origin's own vote.
 *
 * Replica side: a `commit` is decoded and appended (LedgerStore verifies
 * the certificate, the proof and the chain link). A gap (this host missed
 * entries: it was down or partitioned) starts a catch-up: `fetch` from the
 * sender, in order, verified the same way. On start, whenever a peer
 * comes up, and every ANTI_ENTROPY_MS with one random live peer, hosts
 * compare `heads` and fetch what they lack.
 */
import { performance } from 'node:perf_hooks';
import type { ActorSystem } from '../actors/system.js';
import type { NodeId } from '../actors/address.js';
import { QallowError, errorMessage, isQallowError } from '../errors.js';
import type { Ed25519SecretKey } from '../identity/ed25519.js';
import type { Logger } from '../logger.js';
import type { GovernanceEvent } from '../../actors/governance-hook.js';
import { buildBatch, signBatch, type Batch, type BatchHeader } from '../ledger/batch.js';
import { CertificateBuilder } from '../ledger/certificate.js';
import type { LedgerStore } from '../ledger/contract.js';
import { decodeEntry, encodeEntry, sha256, ZERO_HASH, type LedgerEntry } from '../ledger/entry.js';
import { merkleTree } from '../ledger/merkle.js';
import { BatchCache, batchRecords, decodeRecord, encodeRecord, type LedgerRecord } from '../ledger/record.js';
import type { ValidatorSet } from '../ledger/validators.js';
import { decodeFetchReply, decodeHeadsReply, decodeVoteReply, encodePropose, MAX_BATCH_ENTRIES, MAX_FETCH, type LedgerMsg, type VoteReply } from './wire.js';
import { eventEntry, eventKey, isDraft, type EntryDraft } from './events.js';

export interface LedgerServiceInit {
  readonly node: NodeId;
  readonly secretKey: Ed25519SecretKey;
  readonly validators: ValidatorSet;
  readonly ethics: { readonly threshold: number; readonly entropyMax: number };
  /** How long `record` waits for a quorum before rejecting QUORUM_UNAVAILABLE. */
  readonly roundTimeoutMs?: number;
  /** How often a round without quorum asks the missing validators again. */
  readonly retryMs?: number;
  /** Entries per batch, at most MAX_BATCH_ENTRIES (the default); 1 = one signature per entry. */
  readonly maxBatchEntries?: number | undefined;
}

export interface LedgerServiceComponents {
  readonly store: LedgerStore;
  readonly system: ActorSystem;
  readonly logger: Logger;
  /** Whether a peer is up (membership), for the quorum-available view. */
  readonly peerUp: (node: NodeId) => boolean;
  readonly now?: () => number;
  /** The store's cache of verified batches (LmdbLedgerStoreComponents.verified), told of each batch this origin certifies. */
  readonly verified?: BatchCache | undefined;
  /**
   * This host's own vote on its batch (EthicsValidator.voteOwn): written
   * durably together with the batch itself, which is also the pending round.
   */
  readonly ownVote: (batch: Batch) => Promise<VoteReply>;
}

export interface LedgerStats {
  readonly committed: number;
  readonly rounds: number;
  readonly queued: number;
  readonly inFlight: number;
  /**
   * Proposal → committed certificate of the last rounds, ms (p50, p99 over a window; `last` is the
   * newest): from the round's start (batch built, own vote written, proposals sent) to the quorum.
   */
  readonly commitLatencyMs: LatencySummary | null;
  /** Commit → the records durable in this host's LMDB chain, ms (the apply step after the commit). */
  readonly applyLatencyMs: LatencySummary | null;
  readonly catchUps: number;
  readonly rejected: Readonly<Record<string, number>>;
  /** False while this origin has not yet compared its own chain with its peers' (it proposes nothing meanwhile). */
  readonly ownChainSynced: boolean;
}

export interface LatencySummary {
  readonly p50: number;
  readonly p99: number;
  readonly last: number;
  readonly samples: number;
}

/** The last LATENCY_WINDOW samples of one latency. */
class LatencyWindow {
  readonly #samples: number[] = [];
  #last = 0;

  add(ms: number): void {
    this.#last = ms;
    this.#samples.push(ms);
    if (this.#samples.length > LATENCY_WINDOW) this.#samples.shift();
  }

  summary(): LatencySummary | null {
    const sorted = [...this.#samples].sort((a, b) => a - b);
    if (sorted.length === 0) return null;
    const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
    return { p50: q(0.5), p99: q(0.99), last: this.#last, samples: sorted.length };
  }
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (e: QallowError) => void;
}

interface Queued {
  readonly key: string;
  readonly draft: EntryDraft;
  readonly waiters: Waiter[];
}

interface Round {
  readonly batch: Batch;
  readonly keys: readonly string[];
  readonly builder: CertificateBuilder;
  readonly asked: Set<NodeId>;
  readonly startedAt: number;
  timedOut: boolean;
}

const VALIDATOR_ACTOR = 'validator';
const LEDGER_ACTOR = 'ledger';
const LATENCY_WINDOW = 1024;
/** How often a host compares heads with a random live peer. */
const ANTI_ENTROPY_MS = 2000;

export class LedgerService {
  private readonly queue: Queued[] = [];
  private readonly byKey = new Map<string, Queued>();
  /** Keys of this origin's committed entries (recent), so a re-recorded event is not entered twice. */
  private readonly committedKeys = new Set<string>();
  private round: Round | undefined;
  /** Rounds found in flight at start, proposed again (in order) before new ones. */
  private readonly resume: { batch: Batch; keys: readonly string[] }[] = [];
  private roundWaiters = new Map<string, Waiter[]>();
  private nextSeq = 1;
  private lastHash = ZERO_HASH;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private committed = 0;
  private rounds = 0;
  private catchUps = 0;
  private lastSync = 0;
  private pumping = false;
  private inSync = false;
  private readonly commitLatency = new LatencyWindow();
  private readonly applyLatency = new LatencyWindow();
  private readonly rejected: Record<string, number> = {};
  private readonly catchingUp = new Set<string>();
  /** Origins whose catch-up was asked for again while one ran (a commit arrived past a gap meanwhile). */
  private readonly catchUpAgain = new Set<string>();
  /** Per origin, the height a peer had above ours at the last periodic comparison. */
  private readonly seenAhead = new Map<string, number>();
  /**
   * Whether this origin knows its own chain is not behind what the cluster certified for it
   * (a host restored from an older backup is): no round is proposed before.
   */
  private ownSynced = false;
  private syncingOwn = false;
  /** Peers whose heads this origin compared its own chain with since it last (re)synced it. */
  private readonly ownHeardFrom = new Set<NodeId>();
  /** This origin's height when it last took its chain from the store (adoptOwnChain). */
  private adoptedHeight = 0;
  /** A retry of syncOwn while records wait for it (kept referenced: they are work in progress). */
  private syncRetry: NodeJS.Timeout | undefined;
  private readonly roundTimeoutMs: number;
  private readonly retryMs: number;
  private readonly maxBatch: number;

  constructor(
    private readonly init: LedgerServiceInit,
    private readonly c: LedgerServiceComponents,
  ) {
    this.roundTimeoutMs = init.roundTimeoutMs ?? 2000;
    this.retryMs = init.retryMs ?? 250;
    this.maxBatch = Math.max(1, Math.min(MAX_BATCH_ENTRIES, init.maxBatchEntries ?? MAX_BATCH_ENTRIES));
  }

  private now(): number {
    return (this.c.now ?? Date.now)();
  }

  async start(): Promise<void> {
    await this.adoptOwnChain();
    this.running = true;
    // Nothing is proposed before this origin has compared its own chain with enough peers that
    // it would see entries the cluster certified for it beyond its own height (syncOwn).
    this.ownSynced = this.ownPeersNeeded() === 0;
    if (this.ownSynced) this.resumePending();
    else void this.syncOwn();
    this.timer = setInterval(() => this.tick(), this.retryMs);
    this.timer.unref();
  }

  /**
   * Take this origin's chain as the store holds it: its height and head hash, the keys of its
   * recent entries (so a run that re-records after a restart, or events the cluster certified
   * while this host's copy was older, are not entered twice), and the rounds still pending above it.
   */
  private async adoptOwnChain(): Promise<void> {
    const self = this.init.node;
    const height = await this.c.store.height(self);
    this.lastHash = ZERO_HASH;
    if (height > 0) {
      const head = await this.c.store.get(self, height);
      this.lastHash = head!.hash;
      // Remember recent committed events, so a run that re-records after a restart does not duplicate them.
      const from = Math.max(1, height - 4095);
      for (let seq = from; seq <= height; seq += MAX_FETCH) {
        for (const r of await this.c.store.entriesFrom(self, seq, MAX_FETCH)) this.committedKeys.add(eventKey(r.entry));
      }
    }
    this.adoptedHeight = height;
    this.nextSeq = height + 1;
    this.resume.length = 0;
    // Rounds that were in flight when this host stopped (the one being certified, and the next
    // one if it was proposed while the first one's append synced) are proposed again, unchanged
    // and in order, before anything new.
    for (const pending of this.c.store.pendingRounds()) {
      if (pending.header.firstSeq !== this.nextSeq) continue;
      const entries = pending.entries.map((b) => decodeEntry(b));
      this.resume.push({ batch: this.rebuild(pending.header, entries), keys: entries.map((e) => eventKey(e)) });
      this.nextSeq += entries.length;
      this.lastHash = sha256(pending.entries.at(-1)!);
      this.c.logger.info({ component: 'ledger', firstSeq: pending.header.firstSeq, count: pending.header.count }, 'resuming a round that was in flight');
    }
    // Queued events the chain now holds (fetched from peers) are recorded already.
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const q = this.queue[i]!;
      if (!this.committedKeys.has(q.key)) continue;
      this.queue.splice(i, 1);
      this.byKey.delete(q.key);
      for (const w of q.waiters.splice(0)) w.resolve();
    }
  }

  private resumePending(): void {
    if (this.round) return;
    const first = this.resume.shift();
    if (first) this.startRound(first.batch, first.keys);
    else void this.pump();
  }

  /** Peers (other hosts) whose heads this origin needs before proposing: as many as a quorum needs besides itself. */
  private ownPeersNeeded(): number {
    const others = [...this.init.validators.origins.keys()].filter((v) => v !== this.init.node).length;
    const own = this.init.validators.validators.has(this.init.node) ? 1 : 0;
    return Math.min(others, Math.max(0, this.init.validators.quorum - own));
  }

  /**
   * Before proposing, compare this origin's own chain with its peers' copies
   * of it: a host restored from an older backup is behind what the cluster
   * already certified for it, and proposing its next seq would be a
   * different entry for a certified seq (every validator refuses it:
   * LEDGER_CONFLICT, for ever). Entries a peer holds beyond this host's
   * height are fetched (verified as any catch-up) and adopted; then the
   * origin proposes from the cluster's height. Done once heads came from as
   * many peers as a quorum needs besides this host — no round could be
   * certified with fewer anyway — and again whenever a validator says this
   * origin equivocated.
   */
  private async syncOwn(): Promise<void> {
    if (this.ownSynced || this.syncingOwn || !this.running) return;
    this.syncingOwn = true;
    const self = this.init.node;
    try {
      // Peers that came up while others were being asked are asked too, each once per pass.
      const tried = new Set<NodeId>();
      for (;;) {
        const peers = [...this.init.validators.origins.keys()].filter((v) => v !== self && !tried.has(v) && !this.ownHeardFrom.has(v) && this.c.peerUp(v));
        if (peers.length === 0 || this.ownHeardFrom.size >= this.ownPeersNeeded()) break;
        for (const p of peers) tried.add(p);
        await Promise.all(
          peers.map(async (peer) => {
            try {
              const theirs = decodeHeadsReply(await this.c.system.ask(`qallow://${peer}/${LEDGER_ACTOR}`, { type: 'heads' }, 5000)).heads;
              if ((theirs[self] ?? 0) > (await this.c.store.height(self))) await this.catchUp(peer, self);
              this.ownHeardFrom.add(peer);
            } catch {
              // Not heard from: asked again at the next tick or when it comes up.
            }
          }),
        );
      }
      // A catch-up of this origin still running (anti-entropy) may append more: wait for it.
      if (!this.running || this.ownHeardFrom.size < this.ownPeersNeeded() || this.catchingUp.has(self)) {
        // Records wait for this: try again soon (peers coming up also trigger it).
        if (this.running && this.queue.length > 0 && !this.syncRetry) {
          this.syncRetry = setTimeout(() => {
            this.syncRetry = undefined;
            void this.syncOwn();
          }, this.retryMs);
        }
        return;
      }
      const after = await this.c.store.height(self);
      if (after > this.adoptedHeight) {
        this.c.logger.warn(
          { component: 'ledger', origin: self, from: this.adoptedHeight, to: after, fetched: after - this.adoptedHeight },
          "this host's own chain was behind what the cluster certified for it (restored from an older copy?): fetched its certified entries from peers before proposing",
        );
        // A round in flight for seqs the cluster had certified otherwise can never be certified:
        // its events go back to the front of the queue (those the chain holds are recorded).
        const r = this.round;
        if (r && r.batch.header.firstSeq <= after) this.abandon(r);
        await this.adoptOwnChain();
      }
      this.ownSynced = true;
      this.c.logger.info({ component: 'ledger', origin: self, height: after, peers: [...this.ownHeardFrom] }, 'own chain compared with the cluster: proposing');
      this.resumePending();
    } finally {
      this.syncingOwn = false;
    }
  }
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.syncRetry) clearTimeout(this.syncRetry);
    this.syncRetry = undefined;
    const stopped = new QallowError('QUORUM_UNAVAILABLE', 'the ledger stopped before the entry was certified; it is proposed again after restart', {});
    for (const ws of this.roundWaiters.values()) for (const w of ws) w.reject(stopped);
    for (const q of this.queue) for (const w of q.waiters) w.reject(stopped);
    this.roundWaiters.clear();
    this.queue.length = 0;
    this.resume.length = 0;
    this.byKey.clear();
  }

  /** Whether enough validators are up (this host counted) for a quorum. */
  quorumAvailable(): boolean {
    let up = 0;
    for (const v of this.init.validators.validators.keys()) if (v === this.init.node || this.c.peerUp(v)) up++;
    return up >= this.init.validators.quorum;
  }

  /**
   * Record one governance event as an entry of this host's chain: resolves
   * once it is committed — certified by a quorum whose votes are durable at
   * their validators, the batch durable in this host's vote log — and its
   * append to the chain here is queued, so any later read of the store
   * sees it; rejects QUORUM_UNAVAILABLE when
   * no quorum answered within the round timeout (the entry stays queued and
   * is certified when the quorum returns). An event already recorded
   * (same run, epoch, kind) resolves at once.
   */
  record(event: GovernanceEvent | EntryDraft): Promise<void> {
    if (!this.running) return Promise.reject(new QallowError('QUORUM_UNAVAILABLE', 'the ledger is not running', {}));
    const draft = isDraft(event) ? event : eventEntry(event, this.init.ethics);
    const key = eventKey(draft);
    if (this.committedKeys.has(key)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { resolve, reject };
      const inRound = this.roundWaiters.get(key);
      if (inRound) {
        inRound.push(w);
        this.armTimeout(w);
        if (!this.quorumAvailable()) w.reject(this.noQuorum());
        return;
      }
      let q = this.byKey.get(key);
      if (!q) {
        q = { key, draft, waiters: [] };
        this.byKey.set(key, q);
        this.queue.push(q);
      }
      q.waiters.push(w);
      this.armTimeout(w);
      if (this.ownSynced) void this.pump();
      else void this.syncOwn();
      // Membership already shows too few validators up: say so now rather than after the round
      // timeout. The entry stays queued (its round, if one started, keeps asking) and is certified
      // when the quorum returns.
      if (!this.quorumAvailable()) w.reject(this.noQuorum());
    });
  }

  /**
   * The quorum is gone (membership): every waiting `record` rejects
   * QUORUM_UNAVAILABLE now instead of at its round timeout. The entries stay
   * queued and in their round, and are certified when the quorum returns.
   */
  quorumLost(): void {
    const e = this.noQuorum();
    for (const ws of this.roundWaiters.values()) for (const w of ws.splice(0)) w.reject(e);
    for (const q of this.queue) for (const w of q.waiters.splice(0)) w.reject(e);
  }

  private noQuorum(): QallowError {
    let up = 0;
    for (const v of this.init.validators.validators.keys()) if (v === this.init.node || this.c.peerUp(v)) up++;
    const { quorum, size } = this.init.validators;
    return new QallowError('QUORUM_UNAVAILABLE', `no quorum of validators: ${up} of ${size} are up and ${quorum} are needed; the entry stays queued and is certified when the quorum returns`, { up, quorum, validators: size });
  }

  /** Handle a ledger message from a peer (decoded by the ledger actor). */
  async handle(from: NodeId | undefined, msg: LedgerMsg): Promise<unknown> {
    switch (msg.type) {
      case 'commit':
        await this.receiveCommit(from, msg.records);
        return null;
      case 'fetch': {
        const records = await this.c.store.entriesFrom(msg.origin, msg.from, Math.min(msg.limit, MAX_FETCH));
        return { records: records.map(encodeRecord) };
      }
      case 'heads':
        return { heads: await this.heads() };
    }
  }

  /** A peer came up: retry a round waiting for it, and compare heads. */
  peerUp(peer: NodeId): void {
    if (!this.running) return;
    this.askMissing();
    if (!this.ownSynced) void this.syncOwn();
    void this.catchUpFrom(peer);
  }

  stats(): LedgerStats {
    return {
      committed: this.committed,
      rounds: this.rounds,
      queued: this.queue.length,
      inFlight: this.round?.batch.entries.length ?? 0,
      commitLatencyMs: this.commitLatency.summary(),
      applyLatencyMs: this.applyLatency.summary(),
      catchUps: this.catchUps,
      rejected: { ...this.rejected },
      ownChainSynced: this.ownSynced,
    };
  }

  /** Heights by origin, for metrics and status. */
  async heads(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const h of await this.c.store.heads()) out[h.origin] = h.seq;
    return out;
  }

  // ------------------------------------------------------------ origin side

  private armTimeout(w: Waiter): void {
    const t = setTimeout(() => {
      w.reject(new QallowError('QUORUM_UNAVAILABLE', `no quorum of validators (${this.init.validators.quorum} of ${this.init.validators.size}) answered within ${this.roundTimeoutMs} ms; the entry stays queued`, {}));
    }, this.roundTimeoutMs);
    t.unref();
    const settle = (): void => clearTimeout(t);
    const { resolve, reject } = w;
    (w as { resolve: () => void }).resolve = () => {
      settle();
      resolve();
    };
    (w as { reject: (e: QallowError) => void }).reject = (e) => {
      settle();
      reject(e);
    };
  }

  private async pump(): Promise<void> {
    // One round at a time: `pumping` covers the await between taking the queue and starting the round.
    if (this.round || this.pumping || !this.running || !this.ownSynced) return;
    const resumed = this.resume.shift();
    if (resumed) {
      this.startRound(resumed.batch, resumed.keys);
      return;
    }
    if (this.queue.length === 0) return;
    this.pumping = true;
    try {
      await this.nextRound();
    } finally {
      this.pumping = false;
    }
    // A round that committed at once (its own vote was the quorum) asked for the next one while
    // `pumping` still held; whatever was queued meanwhile goes now, not at the next tick.
    if (!this.round && this.running && (this.queue.length > 0 || this.resume.length > 0)) void this.pump();
  }

  private async nextRound(): Promise<void> {
    const startedAt = performance.now();
    const take = this.queue.splice(0, this.maxBatch);
    const lastHash = this.lastHash;
    const ts = this.now();
    // Each entry is encoded and hashed once: its hash is the next one's prevHash and a Merkle leaf.
    const entries: LedgerEntry[] = [];
    const bytes: Uint8Array[] = [];
    const hashes: string[] = [];
    let prev = this.lastHash;
    for (const q of take) {
      const e = { ...q.draft, origin: this.init.node, seq: this.nextSeq + entries.length, prevHash: prev, timestamp: ts } as LedgerEntry;
      const b = encodeEntry(e);
      prev = sha256(b);
      entries.push(e);
      bytes.push(b);
      hashes.push(prev);
    }
    const tree = merkleTree(hashes);
    const header: BatchHeader = { origin: this.init.node, firstSeq: this.nextSeq, count: entries.length, root: tree.root };
    const batch: Batch = { header, originSignature: signBatch(header, this.init.secretKey), entries, bytes, hashes, proofs: tree.proofs };
    for (const q of take) {
      this.byKey.delete(q.key);
      this.roundWaiters.set(q.key, q.waiters);
    }
    this.nextSeq += entries.length;
    this.lastHash = prev;
    // This host's vote and the batch itself, durable before any validator sees the batch (one
    // append to the vote log): after a crash the same batch is proposed again.
    let vote: VoteReply;
    try {
      vote = await this.c.ownVote(batch);
    } catch (e) {
      // Nothing was written: give the seqs back and fail the records with the reason.
      this.nextSeq -= entries.length;
      this.lastHash = lastHash;
      const err = isQallowError(e) ? e : new QallowError('INTERNAL', errorMessage(e), {});
      for (const q of take) {
        for (const w of this.roundWaiters.get(q.key) ?? []) w.reject(err);
        this.roundWaiters.delete(q.key);
      }
      return;
    }
    this.startRound(batch, take.map((q) => q.key), vote, startedAt);
  }

  /** The same batch again (Ed25519 is deterministic: the same signature too). */
  private rebuild(header: BatchHeader, entries: LedgerEntry[]): Batch {
    const b = buildBatch(entries, this.init.secretKey);
    if (b.header.root !== header.root) throw new QallowError('STORE_CORRUPT', `the pending round at ${header.origin}#${header.firstSeq} (vote log / ledger-meta pending-rounds) does not match its header`, { key: 'pending-rounds', origin: header.origin, seq: header.firstSeq });
    return b;
  }

  /** `startedAt`: when the round began (performance.now()), before its batch was built and written. */
  private startRound(batch: Batch, keys: readonly string[], ownVote?: VoteReply, startedAt = performance.now()): void {
    this.rounds++;
    const r: Round = { batch, keys, builder: new CertificateBuilder(batch.header, this.init.validators), asked: new Set(), startedAt, timedOut: false };
    this.round = r;
    for (const k of keys) if (!this.roundWaiters.has(k)) this.roundWaiters.set(k, []);
    if (ownVote) {
      r.builder.add(ownVote);
      r.asked.add(this.init.node);
      // A validator set of one (a host without peers: quorum 1 of 1) is complete with the own vote;
      // no other vote will come to make onVote check it.
      if (r.builder.complete) {
        void this.commitRound(r);
        return;
      }
    }
    this.askMissing();
  }

  /** Give up a round that cannot be certified: its events are queued again, first, with their waiters. */
  private abandon(r: Round): void {
    this.round = undefined;
    const back: Queued[] = [];
    r.batch.entries.forEach((e, i) => {
      const key = r.keys[i]!;
      const waiters = this.roundWaiters.get(key) ?? [];
      this.roundWaiters.delete(key);
      const { origin: _origin, seq: _seq, prevHash: _prev, timestamp: _ts, ...rest } = e;
      const q: Queued = { key, draft: { ...rest, key } as EntryDraft, waiters };
      this.byKey.set(key, q);
      back.push(q);
    });
    this.queue.unshift(...back);
    this.c.logger.warn({ component: 'ledger', firstSeq: r.batch.header.firstSeq, count: r.batch.header.count }, 'abandoned a round for seqs the cluster certified otherwise; its events are proposed again after the certified entries');
  }

  /**
   * A validator refused this origin's round as a different entry for a seq
   * it signed: this origin's chain is not the cluster's (it was restored from
   * an older copy while running, or its sync missed entries). No more rounds
   * until it has compared its chain with its peers again.
   */
  private ownDiverged(v: NodeId): void {
    if (!this.ownSynced) return;
    this.c.logger.warn({ component: 'ledger', validator: v }, 'a validator says this origin proposed a different entry for a seq it signed: comparing this host\'s own chain with the cluster again before proposing more');
    this.ownSynced = false;
    this.ownHeardFrom.clear();
    void this.syncOwn();
  }

  /** Ask every validator that has not voted and is not being asked now. */
  private askMissing(): void {
    const r = this.round;
    if (!r) return;
    const payload = encodePropose({ type: 'propose', header: r.batch.header, originSignature: r.batch.originSignature, entries: r.batch.bytes });
    for (const v of this.init.validators.validators.keys()) {
      if (r.asked.has(v)) continue;
      if (v !== this.init.node && !this.c.peerUp(v)) continue;
      r.asked.add(v);
      this.c.system.ask(`qallow://${v}/${VALIDATOR_ACTOR}`, payload, Math.max(this.roundTimeoutMs, 1000)).then(
        (raw) => this.onVote(r, v, raw),
        (e: unknown) => {
          if (this.round === r) r.asked.delete(v);
          this.count(v, e);
          if (this.round === r && isQallowError(e, 'LEDGER_CONFLICT')) this.ownDiverged(v);
        },
      );
    }
  }

  private onVote(r: Round, v: NodeId, raw: unknown): void {
    if (this.round !== r) return;
    try {
      const vote = decodeVoteReply(raw);
      if (vote.validator !== v) throw new QallowError('LEDGER_BAD_CERTIFICATE', `the vote from ${v} claims to be ${vote.validator}'s`, { validator: v });
      r.builder.add(vote);
    } catch (e) {
      r.asked.delete(v);
      this.count(v, e);
      return;
    }
    if (r.builder.complete) void this.commitRound(r);
  }

  private count(v: NodeId, e: unknown): void {
    const code = isQallowError(e) ? e.code : 'INTERNAL';
    if (code === 'TIMEOUT' || code === 'PEER_DOWN') return;
    this.rejected[v] = (this.rejected[v] ?? 0) + 1;
    this.c.logger.warn({ component: 'ledger', validator: v, code, err: errorMessage(e) }, 'vote not counted');
  }

  private async commitRound(r: Round): Promise<void> {
    if (this.round !== r) return;
    this.round = undefined;
    // Committed: a quorum of validators holds its vote durably and this host holds the batch (its
    // round in the vote log) — as a Raft entry is once a majority persisted it. What follows is
    // applying it here: should this host stop before the append lands, the round is proposed
    // again at the next start and the validators, having voted for these entries, sign again.
    const committedAt = performance.now();
    this.commitLatency.add(committedAt - r.startedAt);
    const records = batchRecords(r.batch, r.builder.certificate());
    // This host signed the batch and the builder verified every vote of the certificate as it came.
    this.c.verified?.add(BatchCache.key(records[0]!));
    // Encoded once: the same bytes are stored here and told to the peers.
    let encoded: Uint8Array[];
    let appended: Promise<unknown>;
    try {
      encoded = records.map(encodeRecord);
      // appendMany checks the records and queues its transaction before it returns.
      appended = this.c.store.appendMany(records, encoded);
    } catch (e) {
      // Our own certified batch fails the store's checks: the store is broken. Fail the waiters loudly.
      this.c.logger.error({ component: 'ledger', firstSeq: r.batch.header.firstSeq, err: errorMessage(e) }, 'could not append a certified batch; it is proposed again at the next start');
      for (const k of r.keys) for (const w of this.roundWaiters.get(k) ?? []) w.reject(isQallowError(e) ? e : new QallowError('INTERNAL', errorMessage(e), {}));
      for (const k of r.keys) this.roundWaiters.delete(k);
      return;
    }
    // Committed, and the append is queued: `record` resolves. A read of the store made from now
    // on waits for this append, so what was recorded reads back here.
    this.committed += records.length;
    for (const k of r.keys) {
      this.committedKeys.add(k);
      for (const w of this.roundWaiters.get(k) ?? []) w.resolve();
      this.roundWaiters.delete(k);
    }
    if (this.committedKeys.size > 8192) this.committedKeys.clear();
    // The next round can be proposed while this append syncs: LMDB applies writes in the order
    // they are queued, so its own append lands after this one (and a restart ignores a pending
    // round the chain holds).
    void this.pump();
    try {
      await appended;
    } catch (e) {
      // Committed but not stored here: the round is still in the vote log and is proposed again
      // (and signed again, byte for byte) at the next start.
      this.c.logger.error({ component: 'ledger', firstSeq: r.batch.header.firstSeq, err: errorMessage(e) }, 'could not store a committed batch in the chain; it is proposed again at the next start');
      return;
    }
    this.applyLatency.add(performance.now() - committedAt);
    // Durable in this host's chain: the peers are told. Told only now, so the peers' appends do
    // not race this one for the disk; a peer that misses a commit catches up.
    for (const v of this.init.validators.origins.keys()) {
      if (v === this.init.node || !this.c.peerUp(v)) continue;
      try {
        this.c.system.send(`qallow://${v}/${LEDGER_ACTOR}`, { type: 'commit', records: encoded });
      } catch {
        // A peer that misses the commit fetches it when it next compares heads.
      }
    }
  }

  private tick(): void {
    if (!this.running) return;
    if (!this.ownSynced) void this.syncOwn();
    this.askMissing();
    void this.pump();
    // Anti-entropy: now and then compare heads with one live peer, so a lost commit or a missed
    // membership change cannot leave this host behind for good.
    if (this.now() - this.lastSync >= ANTI_ENTROPY_MS) {
      this.lastSync = this.now();
      const up = [...this.init.validators.origins.keys()].filter((v) => v !== this.init.node && this.c.peerUp(v));
      if (up.length > 0) void this.catchUpFrom(up[Math.floor(Math.random() * up.length)]!, true);
    }
  }

  // ------------------------------------------------------------ replica side

  private async receiveCommit(from: NodeId | undefined, raw: readonly Uint8Array[]): Promise<void> {
    let records: LedgerRecord[];
    try {
      records = raw.map((b) => decodeRecord(b));
    } catch (e) {
      this.refuseFrom(from, e);
      return;
    }
    const origin = records[0]!.entry.origin;
    const height = await this.c.store.height(origin);
    const fresh = records.filter((r) => r.entry.seq > height);
    if (fresh.length === 0) return;
    if (fresh[0]!.entry.seq > height + 1) {
      void this.catchUp(from ?? origin, origin);
      return;
    }
    try {
      // Stored as received: the bytes these records were decoded from.
      await this.c.store.appendMany(fresh, fresh.length === raw.length ? raw : raw.filter((_, i) => records[i]!.entry.seq > height));
    } catch (e) {
      this.refuseFrom(from, e);
    }
  }

  private refuseFrom(from: NodeId | undefined, e: unknown): void {
    const who = from ?? 'unknown';
    this.rejected[who] = (this.rejected[who] ?? 0) + 1;
    this.c.logger.warn({ component: 'ledger', from: who, code: isQallowError(e) ? e.code : 'INTERNAL', origin: isQallowError(e) ? e.details['origin'] : undefined, err: errorMessage(e) }, 'ledger records refused');
  }

  /**
   * Compare heads with `peer` and fetch every origin's entries it has and this
   * host lacks. The periodic comparison (`lagged`) fetches an origin only when
   * this host is still below the height it saw at the previous comparison:
   * under load a peer is nearly always a round or two ahead, with the commit on
   * its way, and fetching those would only append every batch twice.
   */
  async catchUpFrom(peer: NodeId, lagged = false): Promise<void> {
    try {
      const theirs = decodeHeadsReply(await this.c.system.ask(`qallow://${peer}/${LEDGER_ACTOR}`, { type: 'heads' }, 5000)).heads;
      let behind = false;
      for (const [origin, seq] of Object.entries(theirs)) {
        const ours = await this.c.store.height(origin);
        const before = this.seenAhead.get(origin);
        if (seq > ours) {
          behind = true;
          this.seenAhead.set(origin, seq);
          if (!lagged || (before !== undefined && ours < before)) await this.catchUp(peer, origin as NodeId);
        } else {
          this.seenAhead.delete(origin);
        }
      }
      // Logged once per return to sync (and at the first comparison), not on every anti-entropy round.
      if (!behind && !this.inSync) {
        this.c.logger.info({ component: 'ledger', peer, heads: await this.heads() }, 'ledger in sync');
      }
      this.inSync = !behind;
    } catch (e) {
      if (!isQallowError(e, 'PEER_DOWN') && !isQallowError(e, 'TIMEOUT')) this.c.logger.info({ component: 'ledger', peer, err: errorMessage(e) }, 'catch-up from peer failed');
    }
  }

  /** Fetch `origin`'s entries from `peer`, in order, verifying each batch as it is appended. */
  async catchUp(peer: NodeId, origin: NodeId): Promise<void> {
    // One catch-up per origin at a time: two peers' copies of a chain are the same chain.
    // A request while one runs is remembered, and the running one fetches once more before it
    // ends: otherwise a commit that arrived past the gap it is closing (and was dropped for
    // that) would wait for the next commit or the next anti-entropy round.
    const key = origin;
    if (this.catchingUp.has(key)) {
      this.catchUpAgain.add(key);
      return;
    }
    this.catchingUp.add(key);
    try {
      for (;;) {
        const from = (await this.c.store.height(origin)) + 1;
        const reply = decodeFetchReply(await this.c.system.ask(`qallow://${peer}/${LEDGER_ACTOR}`, { type: 'fetch', origin, from, limit: MAX_FETCH }, 10_000));
        if (reply.records.length === 0) {
          if (this.catchUpAgain.delete(key)) continue;
          break;
        }
        const records = reply.records.map((b) => decodeRecord(b));
        const keep = records.map((r) => r.entry.seq >= from);
        await this.c.store.appendMany(
          records.filter((_, i) => keep[i]),
          reply.records.filter((_, i) => keep[i]),
        );
        this.catchUps++;
        this.c.logger.info({ component: 'ledger', peer, origin, from, count: records.length }, 'caught up ledger entries');
        if (records.length < MAX_FETCH && !this.catchUpAgain.delete(key)) break;
      }
    } catch (e) {
      // An unreachable peer (or this host stopping) refused nothing: the next comparison retries.
      if (!this.running || isQallowError(e, 'PEER_DOWN') || isQallowError(e, 'TIMEOUT')) return;
      this.refuseFrom(peer, e);
    } finally {
      this.catchingUp.delete(key);
      this.catchUpAgain.delete(key);
    }
  }
}
