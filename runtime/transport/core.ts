/**
 * What every Transport does the same way, whatever carries the bytes:
 * stamping and encoding outbound envelopes, per-peer links (peer-link.ts),
 * broadcast, the inbound path (decode, sender and address checks, counting,
 * rate-limited logging, dispatch) and the lifecycle. An implementation
 * supplies a `Wire` (sockets, or the in-memory network) and reports what
 * it sees through the `WireEvents` it is given.
 */
import type { NodeId } from '../actors/address.js';
import { isNodeId, parseAddress } from '../actors/address.js';
import { QallowError, errorMessage, isQallowError } from '../errors.js';
import type { Logger } from '../logger.js';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_QUEUE_LIMITS,
  type BroadcastOutbound,
  type BroadcastResult,
  type MessageHandler,
  type Outbound,
  type PeerSpec,
  type PeerState,
  type PeerStateHandler,
  type PeerStatus,
  type Transport,
  type TransportInit,
  type TransportStats,
} from './contract.js';
import { DEFAULT_FRAME_LIMITS, badFrameKind, decodeFrames, isAddressText, type Envelope, type FrameLimits } from './envelope.js';
import { isWireType, mayBeBroadcast, mayBeDirected, show } from './messages.js';
import { PeerLink, type LinkLimits } from './peer-link.js';

/** What a wire tells the core. */
export interface WireEvents {
  /** One frame arrived on a connection that passed the allow-list; `claimed` is the id the connection announced, if the wire knows one. */
  frame(bytes: Uint8Array, claimed: string | undefined): void;
  /** A connection was refused (unknown key, failed handshake). */
  refused(detail: Record<string, string | number>): void;
  /** A frame arrived that the wire itself could not take (e.g. wrong number of parts). */
  badFrame(reason: string, detail: Record<string, string | number>): void;
}

/** One outbound connection, as the wire keeps it. */
export interface WireLink {
  write(frame: Uint8Array): Promise<void>;
  close(): void;
}

export interface Wire {
  /** Start listening; returns the address peers use. */
  start(events: WireEvents): Promise<string>;
  stop(): Promise<void>;
  /** Open the connection to `peer`; call `link.connected()` / `link.disconnected()` as it comes and goes. */
  connect(peer: PeerSpec, link: PeerLink): WireLink;
  /** Throw (KEY_INVALID, BAD_PARAMETER) if this wire cannot use `peer`'s key or address. */
  checkPeer(peer: PeerSpec): void;
  /** The set of peers (and so of allowed keys) changed. */
  peersChanged(): void;
}

export interface TransportComponents {
  readonly logger: Logger;
}

interface Counters {
  sent: number;
  received: number;
  framesSent: number;
  framesReceived: number;
  refused: number;
  handlerErrors: number;
  dropped: { malformed: number; oversized: number; unknownType: number; unauthorized: number; misdirected: number; peerDown: number; stopped: number };
}

/** At most `perWindow` lines per kind per second; the rest are counted and summarised. */
class RateLimitedLog {
  #window = 0;
  #counts = new Map<string, number>();
  #suppressed = new Map<string, number>();
  constructor(
    private readonly log: Logger,
    private readonly perWindow = 10,
  ) {}

  warn(kind: string, obj: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    if (now - this.#window >= 1000) {
      for (const [k, n] of this.#suppressed) if (n > 0) this.log.warn({ kind: k, suppressed: n }, `transport: ${n} more "${k}" events in the last second were not logged`);
      this.#window = now;
      this.#counts.clear();
      this.#suppressed.clear();
    }
    const c = (this.#counts.get(kind) ?? 0) + 1;
    this.#counts.set(kind, c);
    if (c <= this.perWindow) this.log.warn({ kind, ...obj }, msg);
    else this.#suppressed.set(kind, (this.#suppressed.get(kind) ?? 0) + 1);
  }
}

function positiveInt(v: number, field: string): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new QallowError('CONFIG_INVALID', `transport ${field} must be a positive integer (got ${show(v)})`, { field });
  return v;
}

export class TransportCore implements Transport {
  readonly nodeId: NodeId;
  readonly #limits: FrameLimits;
  readonly #linkLimits: LinkLimits;
  readonly #log: Logger;
  readonly #warn: RateLimitedLog;
  readonly #wire: Wire;
  readonly #specs = new Map<NodeId, PeerSpec>();
  readonly #links = new Map<NodeId, { link: PeerLink; wire: WireLink }>();
  readonly #handlers = new Set<MessageHandler>();
  /** The handlers as an array, rebuilt when they change: the receive path iterates it per envelope. */
  #handlerList: readonly MessageHandler[] = [];
  readonly #stateHandlers = new Set<PeerStateHandler>();
  #running = false;
  #starting: Promise<void> | undefined;
  readonly #ownPrefix: string;
  #address: string | undefined;
  #nextId = 1;
  #c: Counters = {
    sent: 0,
    received: 0,
    framesSent: 0,
    framesReceived: 0,
    refused: 0,
    handlerErrors: 0,
    dropped: { malformed: 0, oversized: 0, unknownType: 0, unauthorized: 0, misdirected: 0, peerDown: 0, stopped: 0 },
  };

  constructor(
    init: TransportInit,
    components: TransportComponents,
    wire: Wire,
    readonly publicKey: string,
  ) {
    if (!isNodeId(init.nodeId)) throw new QallowError('CONFIG_INVALID', `transport nodeId must be a node id (got ${show(init.nodeId)})`, { field: 'nodeId' });
    this.nodeId = init.nodeId;
    this.#ownPrefix = `qallow://${init.nodeId}/`;
    const l = { ...DEFAULT_FRAME_LIMITS, ...init.limits };
    this.#limits = { maxFrameBytes: positiveInt(l.maxFrameBytes, 'limits.maxFrameBytes'), maxBatch: positiveInt(l.maxBatch, 'limits.maxBatch'), maxDepth: positiveInt(l.maxDepth, 'limits.maxDepth') };
    const q = { ...DEFAULT_QUEUE_LIMITS, ...init.queue };
    this.#linkLimits = {
      maxQueued: positiveInt(q.maxQueued, 'queue.maxQueued'),
      maxQueuedBytes: positiveInt(q.maxQueuedBytes, 'queue.maxQueuedBytes'),
      maxBatch: this.#limits.maxBatch,
      maxBatchBytes: Math.min(positiveInt(q.maxBatchBytes, 'queue.maxBatchBytes'), this.#limits.maxFrameBytes),
      connectTimeoutMs: positiveInt(init.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, 'connectTimeoutMs'),
    };
    this.#log = components.logger.child({ component: 'transport' });
    this.#warn = new RateLimitedLog(this.#log);
    this.#wire = wire;
  }

  get running(): boolean {
    return this.#running;
  }

  get limits(): FrameLimits {
    return this.#limits;
  }

  /** Whether a connection presenting `publicKey` may connect (it belongs to a peer). */
  allows(publicKey: string): boolean {
    for (const s of this.#specs.values()) if (s.publicKey === publicKey) return true;
    return false;
  }

  /** The peer a public key belongs to, if any. */
  peerForKey(publicKey: string): NodeId | undefined {
    for (const s of this.#specs.values()) if (s.publicKey === publicKey) return s.id;
    return undefined;
  }

  start(): Promise<void> {
    // Concurrent calls share one start; a failed start leaves the transport stopped.
    this.#starting ??= this.#start().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  async #start(): Promise<void> {
    if (this.#running) return;
    this.#address = await this.#wire.start({
      frame: (bytes, claimed) => this.#receive(bytes, claimed),
      refused: (detail) => {
        this.#c.refused++;
        this.#warn.warn('refused', { code: 'UNAUTHORIZED', ...detail }, 'transport: refused a connection (key not on the allow-list or handshake failed)');
      },
      badFrame: (reason, detail) => {
        this.#c.framesReceived++;
        this.#c.dropped.malformed++;
        this.#warn.warn('bad-frame', { code: 'BAD_FRAME', reason, ...detail }, `transport: dropped a frame: ${reason}`);
      },
    });
    this.#running = true;
    this.#nextId = 1;
    for (const spec of this.#specs.values()) this.#open(spec);
    this.#log.info({ address: this.#address, peers: this.#specs.size }, 'transport started');
  }

  async stop(): Promise<void> {
    if (this.#starting) await this.#starting.catch(() => undefined);
    if (!this.#running) return;
    this.#running = false;
    for (const { link, wire } of this.#links.values()) {
      link.close();
      wire.close();
    }
    this.#links.clear();
    await this.#wire.stop();
    this.#log.info({ address: this.#address }, 'transport stopped');
  }

  localPeer(): PeerSpec {
    if (this.#address === undefined) throw this.#notRunning('localPeer');
    return { id: this.nodeId, address: this.#address, publicKey: this.publicKey };
  }

  addPeer(peer: PeerSpec): void {
    if (!isNodeId(peer.id)) throw new QallowError('BAD_PARAMETER', `peer.id must be a node id (got ${show(peer.id)})`, { field: 'peer.id' });
    if (peer.id === this.nodeId) throw new QallowError('BAD_PARAMETER', `peer.id ${peer.id} is this host's own id`, { field: 'peer.id' });
    if (typeof peer.publicKey !== 'string' || peer.publicKey.length === 0) throw new QallowError('KEY_INVALID', `peer ${peer.id}: publicKey must be a non-empty string`, { field: 'peer.publicKey', peer: peer.id });
    if (typeof peer.address !== 'string' || peer.address.length === 0) throw new QallowError('BAD_PARAMETER', `peer ${peer.id}: address must be a non-empty string`, { field: 'peer.address', peer: peer.id });
    const spec: PeerSpec = { id: peer.id, address: peer.address, publicKey: peer.publicKey };
    this.#wire.checkPeer(spec);
    this.#closeLink(peer.id);
    this.#specs.set(peer.id, spec);
    this.#wire.peersChanged();
    if (this.#running) this.#open(spec);
  }

  removePeer(id: NodeId): void {
    this.#closeLink(id);
    if (this.#specs.delete(id)) this.#wire.peersChanged();
  }

  peers(): PeerStatus[] {
    return [...this.#specs.values()].map((s) => this.#links.get(s.id)?.link.status() ?? { ...s, state: 'down', queued: 0, queuedBytes: 0 });
  }

  send(peer: NodeId, message: Outbound): number {
    const link = this.#link(peer, 'send');
    if (!isWireType(message.type) || !mayBeDirected(message.type)) {
      throw new QallowError('BAD_PARAMETER', `message rejected: type ${show(message.type)} cannot be sent to one peer; use a directed type or broadcast()`, { field: 'type' });
    }
    // Fast path: an address seen before that names `peer`; otherwise parse it for a precise error.
    if (!isAddressText(message.to) || !message.to.startsWith(link.toPrefix)) {
      let node: string;
      try {
        node = parseAddress(message.to).node;
      } catch (e) {
        throw new QallowError('BAD_ADDRESS', `message rejected: to ${errorMessage(e)}`, { field: 'to' }, { cause: e });
      }
      throw new QallowError('BAD_ADDRESS', `message rejected: to ${JSON.stringify(message.to)} names node ${node}, but it is being sent to peer ${peer}`, { field: 'to', peer });
    }
    const id = this.#nextId;
    link.enqueue(id, this.nodeId, message.to, message.type, message.body, this.#limits);
    this.#nextId++;
    return id;
  }

  whenWritable(peer: NodeId): Promise<void> {
    try {
      return this.#link(peer, 'whenWritable').whenWritable();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  broadcast(message: BroadcastOutbound): BroadcastResult {
    if (!this.#running) throw this.#notRunning('broadcast');
    if (!isWireType(message.type) || !mayBeBroadcast(message.type)) {
      throw new QallowError('BAD_PARAMETER', `message rejected: type ${show(message.type)} cannot be broadcast; send it to one peer`, { field: 'type' });
    }
    try {
      parseAddress(`qallow://${this.nodeId}/${message.actor}`);
    } catch (e) {
      throw new QallowError('BAD_ADDRESS', `broadcast rejected: actor ${show(message.actor)} is not an actor path (${errorMessage(e)})`, { field: 'actor' }, { cause: e });
    }
    const queued: NodeId[] = [];
    const skipped: { peer: NodeId; code: 'PEER_DOWN' | 'BACKPRESSURE' }[] = [];
    for (const [peer, { link }] of this.#links) {
      if (!link.writable()) {
        skipped.push({ peer, code: link.state === 'down' ? 'PEER_DOWN' : 'BACKPRESSURE' });
        continue;
      }
      const to = `${link.toPrefix}${message.actor}`;
      if (!isAddressText(to)) throw new QallowError('BAD_ADDRESS', `broadcast rejected: ${show(to)} is not an address (too long?)`, { field: 'actor' });
      try {
        link.enqueue(this.#nextId, this.nodeId, to, message.type, message.body, this.#limits);
      } catch (e) {
        // Full by bytes though not by count: skipped like any full queue. Bad bodies still throw.
        if (!isQallowError(e, 'BACKPRESSURE')) throw e;
        skipped.push({ peer, code: 'BACKPRESSURE' });
        continue;
      }
      this.#nextId++;
      queued.push(peer);
    }
    return { queued, skipped };
  }

  async drained(): Promise<void> {
    await Promise.all([...this.#links.values()].map(({ link }) => link.drained()));
  }

  onMessage(handler: MessageHandler): () => void {
    this.#handlers.add(handler);
    this.#handlerList = [...this.#handlers];
    return () => {
      const had = this.#handlers.delete(handler);
      this.#handlerList = [...this.#handlers];
      return had;
    };
  }

  onPeerState(handler: PeerStateHandler): () => void {
    this.#stateHandlers.add(handler);
    return () => this.#stateHandlers.delete(handler);
  }

  stats(): TransportStats {
    const c = this.#c;
    return { sent: c.sent, received: c.received, framesSent: c.framesSent, framesReceived: c.framesReceived, refused: c.refused, handlerErrors: c.handlerErrors, dropped: { ...c.dropped } };
  }

  // ------------------------------------------------------------------ internals

  #notRunning(what: string): QallowError {
    return new QallowError('BAD_USAGE', `transport ${this.nodeId}: ${what}() needs a running transport; call start() first`, { node: this.nodeId });
  }

  #link(peer: NodeId, what: string): PeerLink {
    if (!this.#running) throw this.#notRunning(what);
    const l = this.#links.get(peer);
    if (!l) throw new QallowError('PEER_UNKNOWN', `${peer} is not a peer of ${this.nodeId}; add it with addPeer() (known: ${[...this.#specs.keys()].join(', ') || 'none'})`, { peer: String(peer) });
    return l.link;
  }

  #open(spec: PeerSpec): void {
    const link = new PeerLink(spec, this.#linkLimits, {
      write: (frame) => {
        const w = this.#links.get(spec.id);
        if (!w || w.link !== link) return Promise.reject(new QallowError('BAD_USAGE', `link to ${spec.id} is closed`));
        return w.wire.write(frame);
      },
      stateChanged: (peer, state) => this.#stateChanged(peer, state),
      wrote: (n) => {
        this.#c.sent += n;
        this.#c.framesSent++;
      },
      dropped: (peer, n, why) => {
        this.#c.dropped[why] += n;
        this.#log.warn({ peer, envelopes: n, code: why === 'peerDown' ? 'PEER_DOWN' : 'BAD_USAGE' }, `transport: dropped ${n} envelopes queued for ${peer} (${why === 'peerDown' ? 'peer down' : 'stopped'})`);
      },
      writeFailed: (peer, e) => this.#warn.warn('write-failed', { peer, err: errorMessage(e) }, `transport: a frame to ${peer} was lost`),
    });
    this.#links.set(spec.id, { link, wire: this.#wire.connect(spec, link) });
  }

  #closeLink(id: NodeId): void {
    const l = this.#links.get(id);
    if (!l) return;
    this.#links.delete(id);
    l.link.close();
    l.wire.close();
  }

  #stateChanged(peer: NodeId, state: PeerState): void {
    const level = state === 'down' ? 'warn' : 'info';
    this.#log[level]({ peer, state, ...(state === 'down' ? { code: 'PEER_DOWN' } : {}) }, `transport: peer ${peer} is ${state}`);
    for (const h of this.#stateHandlers) {
      try {
        h(peer, state);
      } catch (e) {
        this.#log.error({ err: errorMessage(e), peer }, 'transport: peer state handler threw');
      }
    }
  }

  #receive(bytes: Uint8Array, claimed: string | undefined): void {
    const c = this.#c;
    c.framesReceived++;
    let envs: Envelope[];
    try {
      envs = decodeFrames(bytes, this.#limits);
    } catch (e) {
      if (!(e instanceof QallowError)) throw e;
      const kind = badFrameKind(e);
      c.dropped[kind]++;
      this.#warn.warn(kind, { code: e.code, field: e.details['field'] ?? null, reason: e.details['reason'] ?? null, bytes: bytes.byteLength, claimed: claimed ?? null }, e.message);
      return;
    }
    // A batch comes from one sender: check each distinct `from` once; a run of envelopes to one
    // actor checks its `to` once (decoded strings repeat as the same string).
    let knownFrom: string | undefined;
    let knownTo: string | undefined;
    for (let i = 0; i < envs.length; i++) {
      const env = envs[i]!;
      if (env.from !== knownFrom) {
        if ((claimed !== undefined && env.from !== claimed) || !this.#specs.has(env.from)) {
          c.dropped.unauthorized++;
          this.#warn.warn('unauthorized', { code: 'UNAUTHORIZED', from: env.from, claimed: claimed ?? null }, `transport: dropped an envelope claiming to be from ${env.from}${claimed !== undefined && claimed !== env.from ? ` on the connection of ${claimed}` : ' (not a peer)'}`);
          continue;
        }
        knownFrom = env.from;
      }
      if (env.to !== knownTo) {
        if (!env.to.startsWith(this.#ownPrefix)) {
          c.dropped.misdirected++;
          this.#warn.warn('misdirected', { code: 'BAD_ADDRESS', from: env.from, to: env.to }, `transport: dropped an envelope for ${env.to}, which is not on ${this.nodeId}`);
          continue;
        }
        knownTo = env.to;
      }
      c.received++;
      // Read per envelope: a handler may (un)subscribe while a batch is being delivered.
      const handlers = this.#handlerList;
      for (let j = 0; j < handlers.length; j++) {
        try {
          handlers[j]!(env);
        } catch (e) {
          c.handlerErrors++;
          this.#warn.warn('handler-error', { err: errorMessage(e), type: env.type, from: env.from }, 'transport: a message handler threw');
        }
      }
    }
  }
}
