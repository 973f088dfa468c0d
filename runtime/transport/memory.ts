/**
 * An in-process Transport for tests: transports attached to one
 * `MemoryNetwork` exchange encoded frames through it, with the same codec,
 * queues, batching, allow-list and peer states as the ZeroMQ transport
 * (the shared parts live in core.ts and peer-link.ts).
 *
 * The network can cut and heal links between two nodes, and a stopped
 * transport is simply absent, which is how tests make a peer go down. A
 * link from A to B is up when B is attached at the address A was given,
 * the link is not cut, B's public key is the one A expects, and B allows
 * A's key; otherwise B counts a refusal (once per attempt) and A's link
 * stays `connecting` until it times out to `down`.
 *
 * Each link carries one frame at a time: a write resolves once the
 * receiver has handled the frame (in a later macrotask), so a slow or cut
 * link backs up into the sender's bounded queue just as a socket would.
 */
import type { NodeId } from '../actors/address.js';
import { QallowError } from '../errors.js';
import type { PeerSpec, Transport, TransportInit } from './contract.js';
import { TransportCore, type TransportComponents, type Wire, type WireEvents, type WireLink } from './core.js';
import type { PeerLink } from './peer-link.js';

/** What the network needs of an attached transport. */
interface Attached {
  readonly nodeId: NodeId;
  readonly publicKey: string;
  allows(publicKey: string): boolean;
  /** A frame from a connection whose key passed `allows`. */
  deliver(frame: Uint8Array, claimed: string): void;
  refused(detail: Record<string, string | number>): void;
  /** Something on the network changed: re-check links. */
  changed(): void;
}

type LinkOutcome = 'up' | 'absent' | 'cut' | 'refused' | 'wrong-key';

export class MemoryNetwork {
  readonly #nodes = new Map<string, Attached>();
  readonly #cuts = new Set<string>();
  #next = 1;
  #notifying = false;
  #again = false;

  /** A fresh address for a node on this network. */
  allocate(nodeId: NodeId): string {
    return `memory://${nodeId}/${this.#next++}`;
  }

  attach(address: string, node: Attached): void {
    if (this.#nodes.has(address)) throw new QallowError('IO_ERROR', `memory address ${address} is in use`, { address });
    this.#nodes.set(address, node);
    this.#notify();
  }

  detach(address: string): void {
    if (this.#nodes.delete(address)) this.#notify();
  }

  /** Cut both directions between two nodes (by node id): links go down as a broken wire would. */
  cut(a: NodeId, b: NodeId): void {
    this.#cuts.add(`${a}>${b}`);
    this.#cuts.add(`${b}>${a}`);
    this.#notify();
  }

  heal(a: NodeId, b: NodeId): void {
    this.#cuts.delete(`${a}>${b}`);
    this.#cuts.delete(`${b}>${a}`);
    this.#notify();
  }

  /** Re-check every link (an allow-list changed). */
  changed(): void {
    this.#notify();
  }

  /** Whether `from` can reach `to` now, and who is there. */
  probe(from: Attached, to: PeerSpec): { outcome: LinkOutcome; node?: Attached } {
    const node = this.#nodes.get(to.address);
    if (!node) return { outcome: 'absent' };
    if (this.#cuts.has(`${from.nodeId}>${node.nodeId}`)) return { outcome: 'cut' };
    if (node.publicKey !== to.publicKey) return { outcome: 'wrong-key', node };
    if (!node.allows(from.publicKey)) return { outcome: 'refused', node };
    return { outcome: 'up', node };
  }

  /**
   * Test hook: hand `frame` to the node at `address` as if it came from a
   * connection with `publicKey` that announced itself as `claimed` (the
   * raw-socket fuzzer of the contract suite). Returns false when refused or absent.
   */
  inject(address: string, frame: Uint8Array, as: { readonly claimed: string; readonly publicKey: string }): boolean {
    const node = this.#nodes.get(address);
    if (!node) return false;
    if (!node.allows(as.publicKey)) {
      node.refused({ reason: 'unknown key', claimed: as.claimed });
      return false;
    }
    node.deliver(frame, as.claimed);
    return true;
  }

  #notify(): void {
    // Re-entrant changes (a node reacting by attaching) run one more round, not a nested one.
    if (this.#notifying) {
      this.#again = true;
      return;
    }
    this.#notifying = true;
    try {
      do {
        this.#again = false;
        for (const n of [...this.#nodes.values()]) n.changed();
      } while (this.#again);
    } finally {
      this.#notifying = false;
    }
  }
}

export function createMemoryNetwork(): MemoryNetwork {
  return new MemoryNetwork();
}

export interface MemoryTransportInit extends TransportInit {
  /** Where it is attached on the network (any string; default a fresh one from `allocate`). */
  readonly address?: string | undefined;
}

export interface MemoryTransportComponents extends TransportComponents {
  readonly network: MemoryNetwork;
}

class MemoryLink implements WireLink {
  #last: LinkOutcome | undefined;
  #closed = false;
  #waiting: (() => void)[] = [];

  constructor(
    private readonly wire: MemoryWire,
    readonly spec: PeerSpec,
    private readonly link: PeerLink,
  ) {}

  /** Re-check reachability; counts a refusal on the target once per change into `refused`. */
  check(): void {
    if (this.#closed) return;
    const self = this.wire.self;
    const { outcome, node } = self ? this.wire.network.probe(self, this.spec) : { outcome: 'absent' as const };
    if (outcome === 'refused' && this.#last !== 'refused') node?.refused({ reason: 'unknown key', claimed: this.wire.nodeId });
    this.#last = outcome;
    if (outcome === 'up') {
      this.link.connected();
      const w = this.#waiting;
      this.#waiting = [];
      for (const f of w) f();
    } else this.link.disconnected();
  }

  async write(frame: Uint8Array): Promise<void> {
    for (;;) {
      if (this.#closed) throw new QallowError('BAD_USAGE', `memory link to ${this.spec.id} is closed`);
      const self = this.wire.self;
      const { outcome, node } = self ? this.wire.network.probe(self, this.spec) : { outcome: 'absent' as const };
      if (outcome === 'up' && node) {
        // Delivered in a later macrotask, in order; the write completes once it has been handled.
        return new Promise<void>((resolve) =>
          setImmediate(() => {
            node.deliver(frame, this.wire.nodeId);
            resolve();
          }),
        );
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
  }

  close(): void {
    this.#closed = true;
    const w = this.#waiting;
    this.#waiting = [];
    for (const f of w) f();
  }
}

class MemoryWire implements Wire {
  self: Attached | undefined;
  #address: string | undefined;
  #events: WireEvents | undefined;
  readonly #links = new Set<MemoryLink>();
  core!: TransportCore;

  constructor(
    readonly network: MemoryNetwork,
    readonly nodeId: NodeId,
    readonly publicKey: string,
    address: string | undefined,
  ) {
    this.#address = address;
  }

  async start(events: WireEvents): Promise<string> {
    this.#events = events;
    // Keep the address across restarts, so peers that know it reconnect.
    this.#address ??= this.network.allocate(this.nodeId);
    const core = this.core;
    this.self = {
      nodeId: this.nodeId,
      publicKey: this.publicKey,
      allows: (key) => core.allows(key),
      deliver: (frame, claimed) => {
        if (this.self && this.#events) this.#events.frame(frame, claimed);
      },
      refused: (detail) => this.#events?.refused(detail),
      changed: () => {
        for (const l of this.#links) l.check();
      },
    };
    this.network.attach(this.#address, this.self);
    return this.#address;
  }

  async stop(): Promise<void> {
    if (this.#address !== undefined) this.network.detach(this.#address);
    this.self = undefined;
    this.#events = undefined;
  }

  connect(peer: PeerSpec, link: PeerLink): WireLink {
    const l = new MemoryLink(this, peer, link);
    this.#links.add(l);
    const close = l.close.bind(l);
    l.close = () => {
      this.#links.delete(l);
      close();
    };
    l.check();
    return l;
  }

  checkPeer(): void {
    // Any address and key will do in memory.
  }

  peersChanged(): void {
    this.network.changed();
  }
}

/** A memory transport on `network`. Keys are any strings; only the public key is compared. */
export function createMemoryTransport(init: MemoryTransportInit, components: MemoryTransportComponents): Transport {
  const wire = new MemoryWire(components.network, init.nodeId, init.keys.publicKey, init.address);
  const core = new TransportCore(init, components, wire, init.keys.publicKey);
  wire.core = core;
  return core;
}
