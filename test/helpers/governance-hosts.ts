/**
 * Governance hosts in one process: per host an actor system, the memory
 * transport, the cluster router, its own LMDB store and vote log, and a
 * GovernanceService — shared by the tests that stop, resume, restore and
 * restart hosts. Log lines are kept per
 * host so a test can await the one it needs.
 */
import type { ExecutionContext } from 'ava';
import * as zmq from 'zeromq';
import type { NodeId } from '../../runtime/actors/address.js';
import { createActorSystem, type ActorSystem } from '../../runtime/actors/index.js';
import { ClusterRouter } from '../../runtime/cluster/router.js';
import { lmdbLedgerStore } from '../../runtime/compose/factories.js';
import { GovernanceService } from '../../runtime/governance/service.js';
import { BatchCache } from '../../runtime/ledger/record.js';
import { createLogger, memorySink, type LogRecord } from '../../runtime/logger.js';
import { createLmdbStore, type LmdbStore } from '../../runtime/store/lmdb.js';
import type { Transport } from '../../runtime/transport/contract.js';
import { createMemoryTransport, type MemoryNetwork } from '../../runtime/transport/memory.js';
import { DETAILS, type Cluster } from './ledger.js';

export const ETHICS = DETAILS.ethics_check;

export interface GovHost {
  readonly id: NodeId;
  readonly system: ActorSystem;
  readonly transport: Transport;
  readonly store: LmdbStore;
  readonly gov: GovernanceService;
  readonly lines: LogRecord[];
  /** Resolves with the first log line (seen or future) matching; rejects after `timeoutMs`. */
  waitForLine(pred: (l: LogRecord) => boolean, timeoutMs?: number): Promise<LogRecord>;
  stop(): Promise<void>;
}

const keys = new Map<string, ReturnType<typeof zmq.curveKeyPair>>();

export interface GovHostOptions {
  readonly roundTimeoutMs?: number;
  /** Start the governance service (default true). */
  readonly start?: boolean;
  /** The host logger's level (default 'info'; the lines are kept in `lines`). */
  readonly logLevel?: string;
  /** Tell governance of each peer state change, as ClusterService does on a host (default true). */
  readonly membership?: boolean;
}

export async function startGovHost(t: ExecutionContext, c: Cluster, network: MemoryNetwork, id: NodeId, dataDir: string, o: GovHostOptions = {}): Promise<GovHost> {
  const sink = memorySink();
  const logger = createLogger({ nodeId: id, destination: sink.stream, level: o.logLevel ?? 'info' });
  const system = createActorSystem({ nodeId: id }, { logger });
  await system.start();
  if (!keys.has(id)) keys.set(id, zmq.curveKeyPair());
  const transport = createMemoryTransport({ nodeId: id, keys: keys.get(id)!, connectTimeoutMs: 500 }, { logger, network });
  await transport.start();
  const router = new ClusterRouter({ maxPendingAsks: 1000 }, { system, transport, logger });
  router.start();
  transport.onMessage((env) => void router.receive(env));
  const store = createLmdbStore({ dataDir });
  await store.start();
  const verified = new BatchCache();
  const gov = new GovernanceService(
    { node: id, secretKey: c.secrets.get(id)!, validators: c.set, ethics: ETHICS, adaptationFactor: 0.5, roundTimeoutMs: o.roundTimeoutMs ?? 2000 },
    { ledgerStore: lmdbLedgerStore({ validators: c.set, verified }, { store, logger }), verified, system, root: system.root, logger, peerUp: (n) => transport.peers().some((p) => p.id === n && p.state === 'up') },
  );
  // As ClusterService tells the host of each membership change.
  if (o.membership !== false) transport.onPeerState((peer, state) => gov.membershipChanged(peer, state));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await gov.stop();
    router.stop();
    await transport.stop();
    await system.stop();
    await store.stop();
  };
  t.teardown(stop);
  if (o.start !== false) await gov.start();
  return { id, system, transport, store, gov, lines: sink.lines, waitForLine: (pred, timeoutMs = 20_000) => sink.waitFor(pred, timeoutMs), stop };
}

/** Every host knows every other as a peer (the memory transport connects them); a restarted host's new address replaces its old one. */
export function linkAll(hosts: readonly GovHost[]): void {
  for (const h of hosts) {
    for (const o of hosts) {
      const spec = o.transport.localPeer();
      if (h !== o && !h.transport.peers().some((p) => p.id === o.id && p.address === spec.address)) h.transport.addPeer(spec);
    }
  }
}

/** Resolves once `host` holds `origin`'s chain up to `seq` (from the store's append notifications). */
export function heightReached(host: GovHost, origin: NodeId, seq: number, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${host.id} never held ${origin}#${seq}`)), timeoutMs);
    const off = host.gov.ledgerStore.subscribe((r) => {
      if (r.entry.origin === origin && r.entry.seq >= seq) done();
    });
    const done = (): void => {
      clearTimeout(timer);
      off();
      resolve();
    };
    void host.gov.ledgerStore.height(origin).then((h) => h >= seq && done(), reject);
  });
}

/** Resolves once `pred()` holds, checked every few ms; rejects after `timeoutMs` naming `what`. */
export async function until(pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** An ethics_check event of run `run` at `epoch` that passes. */
export function passing(run: string, epoch: number): Parameters<GovernanceService['record']>[0] {
  return { kind: 'ethics_check', run, epoch, tick: epoch * 100, stateHash: 'cd'.repeat(32), figures: { minTotal: 2.96, maxEntropy: 0.0004, passed: 4, lanes: 4 }, decision: 'pass', detail: { ...ETHICS } };
}
