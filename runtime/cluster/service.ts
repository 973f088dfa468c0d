/**
 * The cluster service of a host: the transport to the configured peers
 * (handed in as a factory: ZeroMQ with CURVE and an allow-list of their
 * keys in production, memory in tests), heartbeats feeding the
 * phi-accrual membership, and sync pulses. Membership changes are logged
 * (`membership change` with node, from, to) and visible in `qallow status`.
 *
 * Heartbeats go to every peer every `heartbeatMs`, membership is evaluated
 * twice per interval, the transport's own ZMTP heartbeats and redials run on
 * the same time scale (a link is back within a few heartbeats of a healed
 * network), and a sync pulse is broadcast every 100 ms. Each start
 * uses a new incarnation (the start time), so peers tell a restarted host
 * from a slow one.
 */
import type { HostConfig } from '../../config/schema.js';
import { k8sPeers } from '../../config/schema.js';
import { nodeId as toNodeId, type NodeId } from '../actors/address.js';
import type { CurveKeyPair } from '../identity/curve.js';
import { readNodePublic } from '../identity/files.js';
import type { Ed25519PublicKey } from '../identity/ed25519.js';
import { QallowError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Envelope } from '../transport/envelope.js';
import type { Transport, TransportFactory } from '../transport/contract.js';
import type { ZmqTransportInit } from '../transport/zmq.js';
import { DEFAULT_PHI } from './phi.js';
import { Membership, type PeerView } from './membership.js';
import { ClusterRouter, type RouterStats } from './router.js';
import type { Pacer } from './pacer.js';
import { PULSE_INTERVAL_MS, SyncState } from './sync.js';
import type { ActorSystem } from '../actors/system.js';

export interface ClusterStatus {
  readonly node: string;
  readonly endpoint: string;
  readonly incarnation: number;
  readonly members: PeerView[];
  readonly links: ReturnType<Transport['peers']>;
  readonly transport: ReturnType<Transport['stats']>;
  readonly harmonicMeanCycleMs: number | null;
  readonly slowdownFactor: number;
  readonly router: RouterStats | null;
  /** Each live peer's paced runs and their ticks, from its latest sync pulse. */
  readonly paced: ReturnType<SyncState['peers']>;
}

export interface ClusterComponents {
  readonly logger: Logger;
  /**
   * Makes the transport to the peers (runtime/compose/factories.ts: ZeroMQ in
   * production, the memory transport in tests). It is given the ZeroMQ
   * options derived from the cluster config; another transport ignores what
   * it has no use for.
   */
  readonly transport: TransportFactory<ZmqTransportInit>;
  /** Own tick cycle time (ms per tick), total ticks and each paced run's ticks, for sync pulses. */
  readonly pace: () => { cycleMs: number; tick: number; runs: Record<string, number> };
  /** With it, `system.send`/`system.ask` reach actors on the peers (runtime/cluster/router.ts). */
  readonly system?: ActorSystem | undefined;
  /** Told after each logged membership change. */
  readonly onMembership?: ((peer: NodeId, to: string) => void) | undefined;
  readonly now?: (() => number) | undefined;
}

interface PaceWaiter {
  readonly run: string;
  readonly tick: number;
  readonly need: number;
  readonly resolve: () => void;
}

export class ClusterService implements Pacer {
  private transport: Transport | undefined;
  private membership: Membership | undefined;
  readonly sync: SyncState;
  private router: ClusterRouter | undefined;
  private timers: NodeJS.Timeout[] = [];
  private seq = 0;
  private waiters: PaceWaiter[] = [];
  /** The peers' ledger identities (node id, Ed25519 key), read from their node.json at start. */
  readonly members: { nodeId: NodeId; publicKey: Ed25519PublicKey }[] = [];
  readonly incarnation = Date.now();

  constructor(
    private readonly cfg: NonNullable<HostConfig['cluster']>,
    private readonly nodeId: string,
    private readonly keys: CurveKeyPair,
    private readonly c: ClusterComponents,
  ) {
    this.sync = new SyncState(nodeId);
  }

  private now(): number {
    return (this.c.now ?? Date.now)();
  }

  /** Where peers reach this host (after start). */
  get endpoint(): string {
    if (!this.transport) throw new QallowError('BAD_USAGE', 'the cluster service is not started', {});
    return this.transport.localPeer().address;
  }

  async start(): Promise<void> {
    const log = this.c.logger;
    const specs = [...this.cfg.peers, ...(this.cfg.k8s ? k8sPeers(this.cfg.k8s, this.nodeId) : [])];
    const peers = await Promise.all(
      specs.map(async (p) => {
        const id = await readNodePublic(p.identityFile);
        if (id.nodeId !== p.id) {
          throw new QallowError('CONFIG_INVALID', `peer ${p.id}'s identity file ${p.identityFile} is for node ${id.nodeId}; give each peer its own node.json`, { field: 'cluster.peers', file: p.identityFile });
        }
        this.members.push({ nodeId: toNodeId(p.id), publicKey: id.ed25519.publicKey });
        return { id: toNodeId(p.id), address: p.address, publicKey: id.curve.publicKey };
      }),
    );
    const transport = this.c.transport(
      {
        nodeId: toNodeId(this.nodeId),
        keys: this.keys,
        listen: this.cfg.bind,
        limits: { maxFrameBytes: this.cfg.maxFrameBytes },
        queue: { maxQueued: this.cfg.sendQueueLimit },
        connectTimeoutMs: Math.max(1000, 5 * this.cfg.heartbeatMs),
        // A dead connection is dropped and the peer redialled on the heartbeat's time scale, so a
        // link is back within a few heartbeats of the network (runtime/transport/zmq.ts).
        heartbeatIntervalMs: this.cfg.heartbeatMs,
        heartbeatTimeoutMs: Math.max(1000, 5 * this.cfg.heartbeatMs),
        reconnectIntervalMs: this.cfg.heartbeatMs,
        reconnectMaxIntervalMs: 2 * this.cfg.heartbeatMs,
        dialTimeoutMs: Math.max(250, 2 * this.cfg.heartbeatMs),
      },
      { logger: log },
    );
    await transport.start();
    for (const p of peers) transport.addPeer(p);
    this.transport = transport;
    const membership = new Membership(
      peers.map((p) => p.id),
      { suspectPhi: this.cfg.suspectPhi, downPhi: this.cfg.downPhi, phi: { ...DEFAULT_PHI, firstIntervalMs: this.cfg.heartbeatMs } },
      this.now(),
    );
    membership.on('change', (ch) => {
      log.info({ component: 'membership', peer: ch.node, from: ch.from, to: ch.to, phi: Number(ch.phi.toFixed(2)) }, 'membership change');
      this.c.onMembership?.(toNodeId(ch.node), ch.to);
      // A peer marked down no longer holds paced runs back.
      if (ch.to === 'down') this.wakePaced();
    });
    this.membership = membership;
    this.sync.alive = (node) => membership.status(node) !== 'down';
    if (this.c.system) {
      this.router = new ClusterRouter({}, { system: this.c.system, transport, logger: log });
      this.router.start();
    }
    transport.onMessage((env) => this.receive(env));
    // A failing timer task is logged, never allowed to take the host down.
    const guard = (what: string, f: () => void) => (): void => {
      try {
        f();
      } catch (e) {
        log.warn({ component: 'cluster', task: what, err: e instanceof Error ? e.message : String(e) }, 'cluster task failed');
      }
    };
    const hb = setInterval(guard('heartbeat', () => this.heartbeat()), this.cfg.heartbeatMs);
    const ev = setInterval(guard('membership', () => membership.evaluate(this.now())), Math.max(10, this.cfg.heartbeatMs / 2));
    const pulse = setInterval(
      guard('sync pulse', () => {
        this.pulse();
        this.wakePaced();
      }),
      PULSE_INTERVAL_MS,
    );
    for (const t of [hb, ev, pulse]) t.unref();
    this.timers = [hb, ev, pulse];
    this.heartbeat();
    const endpoint = transport.localPeer().address;
    log.info({ component: 'cluster', endpoint, peers: peers.map((p) => p.id), incarnation: this.incarnation }, 'cluster transport started');
  }

  private receive(env: Envelope): void {
    const now = this.now();
    if (env.type === 'heartbeat') {
      this.membership?.heartbeat(env.from, env.body.incarnation, now);
    } else if (env.type === 'sync.pulse') {
      this.sync.receive({ node: env.from, cycleMs: env.body.cycleMs, ticks: env.body.runs, sentAt: now });
      this.wakePaced();
    } else {
      this.router?.receive(env);
    }
  }

  private heartbeat(): void {
    const t = this.transport;
    if (!t?.running) return;
    t.broadcast({ actor: 'membership', type: 'heartbeat', body: { seq: this.seq++, sentAt: Date.now(), incarnation: this.incarnation } });
  }

  private pulse(): void {
    const t = this.transport;
    if (!t?.running) return;
    const { cycleMs, tick, runs } = this.c.pace();
    // Idle hosts pulse too (cycleMs 0 = no cycle time to share): paced peers need their run ticks.
    t.broadcast({ actor: 'sync', type: 'sync.pulse', body: { cycleMs, tick, runs, sentAt: Date.now() } });
  }

  allowance(run: string, tick: number): number {
    return this.sync.allowance(run, tick, this.cfg.maxLeadTicks, this.now());
  }

  whenAllowed(run: string, tick: number, need: number): Promise<void> {
    if (this.allowance(run, tick) >= need || !this.transport) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ run, tick, need, resolve }));
  }

  /** Release paced runs that may go on (after a pulse, and on the pulse timer so stale peers stop holding them). */
  private wakePaced(): void {
    if (this.waiters.length === 0) return;
    const still: PaceWaiter[] = [];
    for (const w of this.waiters) {
      if (this.allowance(w.run, w.tick) >= w.need) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  status(): ClusterStatus | null {
    const t = this.transport;
    const m = this.membership;
    if (!t || !m) return null;
    const now = this.now();
    const own = this.c.pace().cycleMs;
    return {
      node: this.nodeId,
      endpoint: t.localPeer().address,
      incarnation: this.incarnation,
      members: m.view(now),
      links: t.peers(),
      transport: t.stats(),
      harmonicMeanCycleMs: this.sync.harmonicMeanCycleMs(own, now),
      slowdownFactor: this.sync.slowdownFactor(own, now),
      router: this.router?.stats() ?? null,
      paced: this.sync.peers(now),
    };
  }

  peerStatus(node: NodeId): string | undefined {
    return this.membership?.status(node);
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.router?.stop();
    this.router = undefined;
    // Nothing paces a stopped cluster: waiting runs go on (the host is draining anyway).
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
    await this.transport?.stop();
    this.transport = undefined;
  }
}
