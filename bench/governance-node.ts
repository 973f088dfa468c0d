/**
 * One host of the governance benchmark (bench/governance.ts), run as its own
 * OS process: the real pieces a host builds for governance — the LMDB store
 * (durable writes), the actor system, the cluster service (ZeroMQ with
 * CURVE, heartbeats, membership, the location-transparent router) and the
 * GovernanceService (validator and ledger actors) — from keys and addresses
 * the parent hands it over IPC. No runs, no compute pool: the load is
 * entries recorded directly through GovernanceService.record.
 *
 * Beside them, a `bench-echo` actor answers the raw baseline: an origin
 * signs a batch header, asks its peers, each verifies the origin's
 * signature and signs a vote over the same transport, the origin verifies
 * the votes — the governance round's messages and signatures without its
 * ledger work (no entries, Merkle tree, LMDB writes).
 *
 * Commands (parent → node), each answered once:
 *   light {count, intervalMs}   alternately one raw round trip and one record(), one at a time,
 *                               pausing intervalMs after each: latencies of both, and of each
 *                               record's round from proposal to committed certificate
 *   load {seconds, inflight}    record() as fast as possible, `inflight` outstanding, for `seconds`
 *   heights                     this host's ledger height per origin
 *   stop                        stop everything (reverse start order) and exit
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { nodeId } from '../runtime/actors/address.js';
import { createActorSystem, spawn, type ActorSystem, type ReplyTo } from '../runtime/actors/index.js';
import { ClusterService } from '../runtime/cluster/service.js';
import { lmdbLedgerStore, productionFactories } from '../runtime/compose/factories.js';
import { QallowError, errorMessage, isQallowError } from '../runtime/errors.js';
import { GovernanceService } from '../runtime/governance/service.js';
import type { EntryDraft } from '../runtime/governance/events.js';
import { readNodeKeys } from '../runtime/identity/files.js';
import { signBatch, verifyBatchSignature, type BatchHeader } from '../runtime/ledger/batch.js';
import type { LedgerStore } from '../runtime/ledger/contract.js';
import { BatchCache } from '../runtime/ledger/record.js';
import { ValidatorSet } from '../runtime/ledger/validators.js';
import { signVote, verifyVoteSignature } from '../runtime/ledger/vote.js';
import { createLogger } from '../runtime/logger.js';
import { createLmdbStore } from '../runtime/store/lmdb.js';

export interface NodeInit {
  readonly type: 'init';
  readonly name: string;
  readonly dataDir: string;
  readonly identityDir: string;
  readonly bind: string;
  readonly peers: readonly { readonly id: string; readonly address: string; readonly identityFile: string }[];
  /** Entries per batch (default: the protocol's MAX_BATCH_ENTRIES); 1 = one signature per entry. */
  readonly maxBatchEntries?: number | undefined;
  /** Write a CPU profile of each load window into this directory (`NAME-load.cpuprofile`). */
  readonly cpuProfDir?: string | undefined;
}

export type ToNode =
  | NodeInit
  | { readonly type: 'light'; readonly count: number; readonly intervalMs: number }
  | { readonly type: 'load'; readonly seconds: number; readonly inflight: number }
  | { readonly type: 'heights' }
  | { readonly type: 'stop' };

export type FromNode =
  | { readonly type: 'ready' }
  | { readonly type: 'up' }
  | {
      readonly type: 'light';
      /** Proposal → committed certificate of each record's round (LedgerStats.commitLatencyMs.last). */
      readonly commit: number[];
      /** record() call → resolved (committed; a read of this host's chain made after returns it). */
      readonly record: number[];
      /** Commit → the entry durable in this host's LMDB chain (LedgerStats.applyLatencyMs.last). */
      readonly apply: number[];
      readonly raw: number[];
      readonly rawAll: number[];
    }
  | {
      readonly type: 'load';
      /** Records that resolved within the window. */
      readonly committed: number;
      /** Records issued in all: each a distinct entry, every one committed once the ledger is idle again. */
      readonly issued: number;
      readonly rejected: number;
      readonly windowMs: number;
      readonly latencies: number[];
      readonly rejections: Record<string, number>;
      /** CPU time this process used during the window (user + system), ms. */
      readonly cpuMs: number;
    }
  | { readonly type: 'heights'; readonly heads: Record<string, number> }
  | { readonly type: 'error'; readonly message: string };

const ETHICS = { threshold: 2.9, entropyMax: 0.001 } as const;
const ECHO = 'bench-echo';

type EchoMsg = { readonly type: 'echo'; readonly header: BatchHeader; readonly signature: Uint8Array; readonly replyTo: ReplyTo<unknown> };

function send(m: FromNode): void {
  process.send!(m);
}

/** An ethics check that passes under ETHICS; epochs number the node's entries, so each is a new event. */
function draft(run: string, epoch: number): EntryDraft {
  return {
    kind: 'ethics_check',
    run,
    epoch,
    tick: epoch * 1000,
    stateHash: 'ab'.repeat(32),
    figures: { minTotal: 2.95, maxEntropy: 0.0004, passed: 1, lanes: 1 },
    decision: 'pass',
    detail: { ...ETHICS },
  };
}

/** Decode means validate, bench actor too: the echo takes a batch header and a 64-byte signature. */
function decodeEcho(raw: unknown, replyTo: ReplyTo<unknown> | undefined): EchoMsg {
  if (!replyTo) throw new QallowError('BAD_FRAME', 'bench-echo must be asked', { field: 'type' });
  const o = raw as { header?: Partial<BatchHeader>; signature?: unknown } | null;
  const h = o?.header;
  if (!h || typeof h.origin !== 'string' || typeof h.firstSeq !== 'number' || typeof h.count !== 'number' || typeof h.root !== 'string' || !/^[0-9a-f]{64}$/.test(h.root)) {
    throw new QallowError('BAD_FRAME', 'bench-echo: header must be {origin, firstSeq, count, root}', { field: 'header' });
  }
  if (!(o!.signature instanceof Uint8Array) || o!.signature.byteLength !== 64) throw new QallowError('BAD_FRAME', 'bench-echo: signature must be 64 bytes', { field: 'signature' });
  return { type: 'echo', header: { origin: nodeId(h.origin), firstSeq: h.firstSeq, count: h.count, root: h.root }, signature: o!.signature, replyTo };
}

async function main(init: NodeInit): Promise<void> {
  const self = nodeId(init.name);
  // Warnings and errors only, to stderr (the parent shows them): the load itself must not be logging.
  const logger = createLogger({ nodeId: init.name, level: 'warn', destination: process.stderr });
  const keys = await readNodeKeys(init.identityDir);
  const store = createLmdbStore({ dataDir: init.dataDir });
  await store.start();
  const system: ActorSystem = createActorSystem({ nodeId: init.name }, { logger });
  await system.start();
  let governance: GovernanceService | undefined;
  const peerIds = init.peers.map((p) => nodeId(p.id));
  let allUp = false;
  const cluster = new ClusterService(
    { bind: init.bind, identityDir: init.identityDir, peers: [...init.peers], heartbeatMs: 200, suspectPhi: 3, downPhi: 8, maxFrameBytes: 1 << 20, sendQueueLimit: 10_000, maxLeadTicks: 2000 },
    init.name,
    keys.curve,
    {
      logger,
      transport: productionFactories().transport,
      pace: () => ({ cycleMs: 0, tick: 0, runs: {} }),
      system,
      onMembership: (peer, to) => {
        governance?.membershipChanged(peer, to);
        if (!allUp && peerIds.every((p) => cluster.peerStatus(p) === 'up')) {
          allUp = true;
          send({ type: 'up' });
        }
      },
    },
  );
  await cluster.start();
  const validators = ValidatorSet.of([{ nodeId: self, publicKey: keys.ed25519.publicKey }, ...cluster.members]);
  const ledgerOf = (set: ValidatorSet): { ledgerStore: LedgerStore; verified: BatchCache } => {
    const verified = new BatchCache();
    return { ledgerStore: lmdbLedgerStore({ validators: set, verified }, { store, logger }), verified };
  };
  governance = new GovernanceService(
    { node: self, secretKey: keys.ed25519.secretKey, validators, ethics: ETHICS, adaptationFactor: 0.5, maxBatchEntries: init.maxBatchEntries },
    { ...ledgerOf(validators), system, root: system.root, logger, peerUp: (n) => cluster.peerStatus(n) === 'up' },
  );
  await governance.start();
  spawn<EchoMsg, null>(system.root, {
    name: ECHO,
    initialState: null,
    mailbox: { capacity: 1024 },
    decode: decodeEcho,
    handle(state, msg) {
      const key = validators.origins.get(msg.header.origin);
      if (!key || !verifyBatchSignature(msg.header, msg.signature, key)) msg.replyTo.fail(new QallowError('LEDGER_BAD_SIGNATURE', 'bench-echo: bad origin signature', {}));
      else msg.replyTo.reply(signVote(msg.header, self, keys.ed25519.secretKey));
      return state;
    },
  });
  const gov = governance;

  /** The raw baseline: sign, ask every peer, verify each vote. Returns [ms to a quorum (self counted), ms to every peer]. */
  let rawSeq = 0;
  const rawRoundTrip = async (): Promise<[number, number]> => {
    const t0 = performance.now();
    const header: BatchHeader = { origin: self, firstSeq: ++rawSeq, count: 1, root: randomBytes(32).toString('hex') };
    const signature = signBatch(header, keys.ed25519.secretKey);
    // The origin's own vote, as the governance round has one.
    const own = signVote(header, self, keys.ed25519.secretKey);
    let votes = verifyVoteSignature(header, own.signature, keys.ed25519.publicKey) ? 1 : 0;
    let quorumAt = votes >= validators.quorum ? performance.now() - t0 : -1;
    await Promise.all(
      peerIds.map(async (p) => {
        const v = (await system.ask(`qallow://${p}/${ECHO}`, { header, signature }, 5000)) as { validator: string; signature: Uint8Array };
        const key = validators.validators.get(p);
        if (v.validator !== p || !key || !verifyVoteSignature(header, v.signature, key)) throw new Error(`bench-echo: bad vote from ${p}`);
        if (++votes === validators.quorum) quorumAt = performance.now() - t0;
      }),
    );
    return [quorumAt, performance.now() - t0];
  };

  let epoch = 0;
  const run = `bench-${init.name}`;
  const handle = async (m: ToNode): Promise<FromNode | undefined> => {
    switch (m.type) {
      case 'light': {
        const record: number[] = [];
        const commit: number[] = [];
        const raw: number[] = [];
        const rawAll: number[] = [];
        const apply: number[] = [];
        for (let i = 0; i < m.count; i++) {
          const [q, all] = await rawRoundTrip();
          raw.push(q);
          rawAll.push(all);
          await pause(m.intervalMs);
          const rounds = gov.ledgerStats()!.rounds;
          const t0 = performance.now();
          await gov.record(draft(run, ++epoch));
          record.push(performance.now() - t0);
          const s = gov.ledgerStats()!;
          // One record at a time is one round; anything else would pair a record with another round's figure.
          if (s.rounds !== rounds + 1 || !s.commitLatencyMs) throw new Error(`light load: record ${i} took ${s.rounds - rounds} rounds`);
          commit.push(s.commitLatencyMs.last);
          const applied = s.applyLatencyMs?.samples ?? 0;
          await pause(m.intervalMs);
          const a = gov.ledgerStats()!.applyLatencyMs;
          // The append lands well within the pause; a window that is full no longer counts up.
          if (!a || (a.samples !== applied + 1 && a.samples !== applied)) throw new Error(`light load: record ${i}'s append did not land within ${m.intervalMs} ms`);
          apply.push(a.last);
        }
        return { type: 'light', commit, record, raw, rawAll, apply };
      }
      case 'load': {
        const profiler = init.cpuProfDir ? await startProfile() : undefined;
        const r = await load(gov, run, () => ++epoch, m.seconds, m.inflight);
        if (profiler) await profiler.stop(join(init.cpuProfDir!, `${init.name}-load.cpuprofile`));
        // Rejected records (no quorum within the round timeout) stay queued: wait until all are in.
        await idle(gov);
        return r;
      }
      case 'heights':
        return { type: 'heights', heads: (await gov.status()).heads };
      case 'stop':
        await gov.stop();
        await cluster.stop();
        await system.stop();
        await store.stop();
        process.exit(0);
        return undefined;
      case 'init':
        throw new Error('init twice');
    }
  };
  process.on('message', (m: ToNode) => {
    handle(m).then(
      (r) => r && send(r),
      (e: unknown) => send({ type: 'error', message: errorMessage(e) }),
    );
  });
  send({ type: 'ready' });
}

/** Resolves once nothing is queued or in flight at this origin; the timeout lives here. */
async function idle(gov: GovernanceService, timeoutMs = 60_000): Promise<void> {
  const t0 = performance.now();
  for (;;) {
    const s = gov.ledgerStats();
    if (!s || (s.queued === 0 && s.inFlight === 0)) return;
    if (performance.now() - t0 > timeoutMs) throw new Error(`the ledger still has ${s.queued} queued and ${s.inFlight} in flight after ${timeoutMs} ms`);
    await pause(20);
  }
}

/** A CPU profile of this process from now until stop(path). */
async function startProfile(): Promise<{ stop(path: string): Promise<void> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop(path) {
      const { profile } = await session.post('Profiler.stop');
      await writeFile(path, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Keep `inflight` records outstanding for `seconds`; count those that
 * resolved within the window, then stop issuing and wait for the rest,
 * so the ledger heights can be compared afterwards.
 */
function load(gov: GovernanceService, run: string, next: () => number, seconds: number, inflight: number): Promise<FromNode> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const end = t0 + seconds * 1000;
    let committed = 0;
    let issued = 0;
    let rejected = 0;
    let outstanding = 0;
    let windowMs = 0;
    let cpuMs = 0;
    let closed = false;
    const latencies: number[] = [];
    const rejections: Record<string, number> = {};
    const finish = (): void => {
      if (closed && outstanding === 0) resolve({ type: 'load', committed, issued, rejected, windowMs, latencies, rejections, cpuMs });
    };
    const close = (): void => {
      if (closed) return;
      closed = true;
      windowMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      cpuMs = (cpu.user + cpu.system) / 1000;
    };
    const issue = (): void => {
      const s = performance.now();
      outstanding++;
      issued++;
      gov.record(draft(run, next())).then(
        () => {
          outstanding--;
          const now = performance.now();
          if (now >= end) close();
          if (!closed) {
            committed++;
            latencies.push(now - s);
            issue();
          }
          finish();
        },
        (e: unknown) => {
          outstanding--;
          rejected++;
          const code = isQallowError(e) ? e.code : 'INTERNAL';
          rejections[code] = (rejections[code] ?? 0) + 1;
          // The entry stays queued in the ledger and commits later: not issued again, so the
          // ledger's queue stays at `inflight`.
          if (performance.now() >= end) close();
          finish();
        },
      );
    };
    for (let i = 0; i < inflight; i++) issue();
    // The window also closes on time when nothing resolves in it.
    setTimeout(() => {
      close();
      finish();
    }, seconds * 1000).unref();
  });
}

process.once('message', (m: ToNode) => {
  if (m.type !== 'init') {
    send({ type: 'error', message: `expected init first, got ${m.type}` });
    process.exit(2);
  }
  main(m).catch((e: unknown) => {
    send({ type: 'error', message: errorMessage(e) });
    process.exit(1);
  });
});
