/**
 * The Transport: how a host exchanges envelopes with its peers (SPEC §6).
 * Implementations: zmq.ts (ZeroMQ over tcp:// or ipc:// with CURVE) and
 * memory.ts (an in-process network for tests). They never import each
 * other; test/fixtures/transport-contract.ts runs one suite against both
 * (memory, zmq over ipc://, zmq over tcp://127.0.0.1).
 *
 * What every implementation guarantees:
 * - **FIFO per pair.** Envelopes from this host to one peer (`send` and
 *   `broadcast` alike) arrive in the order they were accepted, or not at
 *   all; nothing is duplicated or reordered. Delivery is at most once: what
 *   is queued when a peer goes `down` or the transport stops is dropped and
 *   counted (`dropped.peerDown`, `dropped.stopped`); a frame already on
 *   the wire when a connection breaks may be lost.
 * - **Bounded sending.** Each peer has one queue of at most `maxQueued`
 *   envelopes and `maxQueuedBytes` bytes. `send` never blocks and never
 *   buffers past that: on a full queue it throws BACKPRESSURE, and
 *   `whenWritable(peer)` resolves once the queue has drained to half.
 *   Besides the queue there is one frame being written per peer, and
 *   below that each implementation holds a fixed number of frames (zmq:
 *   the DEALER's send high-water mark; memory: none). So what one peer
 *   can hold in this host is at most maxQueuedBytes + (1 + sendHighWaterMark)
 *   × maxFrameBytes. Nothing is handed to ZeroMQ for a peer that is not
 *   connected.
 * - **Batching.** What is queued for a peer leaves as one frame of up to
 *   `maxBatch` envelopes (envelope.ts), so many small messages cost one
 *   wire write.
 * - **Peer states.** A peer is `connecting` until its link is up (and
 *   again after the link breaks), `up` while it is, and `down` once it has
 *   not been up for `connectTimeoutMs`. `send` to a `down` peer throws
 *   PEER_DOWN at once; reconnection goes on in the background and the peer
 *   is `up` again when it returns. A peer not added with `addPeer` is
 *   PEER_UNKNOWN.
 * - **Allow-list.** A host accepts connections only from the public keys
 *   of the peers it was given; any other is refused and counted
 *   (`refused`). Frames from an accepted connection must claim a known
 *   peer as `from` (and, for zmq, the same id the connection announced),
 *   else they are dropped as `unauthorized`.
 * - **Decode means validate.** Every inbound frame goes through
 *   `decodeFrames`; a malformed, oversized or unknown-type frame is counted,
 *   logged (rate-limited) and dropped, and the host keeps serving.
 *   Envelopes addressed to another node are dropped as `misdirected`.
 * - `send` stamps version, id and `from`; callers give `to`, `type`, `body`.
 *   Bad messages throw BAD_PARAMETER (body), BAD_ADDRESS (`to` that is not
 *   an address or names another node than `peer`).
 * - Calls that need a running transport throw BAD_USAGE before `start()`
 *   or after `stop()`. Peers added are kept across stop/start.
 */
import type { NodeId } from '../actors/address.js';
import type { TransportComponents } from './core.js';
import type { Envelope, FrameLimits } from './envelope.js';
import type { BroadcastType, DirectedType, WireBodies } from './messages.js';

export type { Envelope, FrameLimits } from './envelope.js';

/** How to reach and authenticate a host. */
export interface PeerSpec {
  readonly id: NodeId;
  /** Where the host listens: `tcp://HOST:PORT`, `ipc://PATH` (zmq) or a `memory://` address. */
  readonly address: string;
  /** Its transport public key (CURVE, Z85 text for zmq). */
  readonly publicKey: string;
}

export interface KeyPair {
  readonly publicKey: string;
  readonly secretKey: string;
}

export type PeerState = 'connecting' | 'up' | 'down';

export interface PeerStatus extends PeerSpec {
  readonly state: PeerState;
  /** Envelopes waiting in this host's queue for the peer. */
  readonly queued: number;
  readonly queuedBytes: number;
}

/** A directed message: the transport adds version, id and from. */
export type Outbound<T extends DirectedType = DirectedType> = {
  [K in T]: { readonly to: string; readonly type: K; readonly body: WireBodies[K] };
}[T];

/** A broadcast: `actor` is the path below the root on every host (`sync`, `ledger/gossip`). */
export type BroadcastOutbound<T extends BroadcastType = BroadcastType> = {
  [K in T]: { readonly actor: string; readonly type: K; readonly body: WireBodies[K] };
}[T];

export interface BroadcastResult {
  /** Peers it was queued for. */
  readonly queued: readonly NodeId[];
  /** Peers skipped, each with why (PEER_DOWN, BACKPRESSURE). */
  readonly skipped: readonly { readonly peer: NodeId; readonly code: 'PEER_DOWN' | 'BACKPRESSURE' }[];
}

export type MessageHandler = (env: Envelope) => void;
export type PeerStateHandler = (peer: NodeId, state: PeerState) => void;

export interface DroppedCounts {
  /** Frames that were not valid envelopes (bad MessagePack, fields, version, batch shape). */
  readonly malformed: number;
  /** Frames over `maxFrameBytes` or `maxBatch`. */
  readonly oversized: number;
  /** Frames carrying a type not in WIRE_TYPES. */
  readonly unknownType: number;
  /** Envelopes whose `from` is not a peer or not the sending connection's id. */
  readonly unauthorized: number;
  /** Envelopes addressed to another node. */
  readonly misdirected: number;
  /** Envelopes queued for a peer when it went down. */
  readonly peerDown: number;
  /** Envelopes queued when the transport stopped or a peer was removed. */
  readonly stopped: number;
}

export interface TransportStats {
  /** Envelopes written to the wire. */
  readonly sent: number;
  /** Envelopes delivered to handlers. */
  readonly received: number;
  readonly framesSent: number;
  readonly framesReceived: number;
  /** Connections refused: unknown public key or failed handshake. */
  readonly refused: number;
  /** Handler calls that threw (logged; the envelope counts as received). */
  readonly handlerErrors: number;
  readonly dropped: DroppedCounts;
}

export interface QueueLimits {
  /** Envelopes queued per peer before `send` throws BACKPRESSURE. */
  readonly maxQueued: number;
  /** Bytes queued per peer before `send` throws BACKPRESSURE. */
  readonly maxQueuedBytes: number;
  /** Bytes in one batch frame (at most the frame limit). */
  readonly maxBatchBytes: number;
}

export const DEFAULT_QUEUE_LIMITS: QueueLimits = { maxQueued: 65_536, maxQueuedBytes: 64 * 1024 * 1024, maxBatchBytes: 1024 * 1024 };
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/** Options every implementation takes. */
export interface TransportInit {
  readonly nodeId: NodeId;
  /** This host's transport key pair (CURVE Z85 for zmq; `qallow keys gen` makes it). */
  readonly keys: KeyPair;
  readonly limits?: Partial<FrameLimits> | undefined;
  readonly queue?: Partial<QueueLimits> | undefined;
  /** How long a peer may be not connected before it is `down`. */
  readonly connectTimeoutMs?: number | undefined;
}

/**
 * Makes a transport: what a host is handed (runtime/compose), so the ZeroMQ
 * one and the in-memory one are swapped in one line.
 */
export type TransportFactory<I extends TransportInit = TransportInit> = (init: I, components: TransportComponents) => Transport;

export interface Transport {
  readonly nodeId: NodeId;
  start(): Promise<void>;
  /** Closes every socket; queued envelopes are dropped (counted `stopped`). */
  stop(): Promise<void>;
  readonly running: boolean;
  /** How peers reach this host; after `start()` (an ephemeral port is resolved by then). */
  localPeer(): PeerSpec;

  /** Add (or replace) a peer: it may connect to us, and we connect to it. */
  addPeer(peer: PeerSpec): void;
  removePeer(id: NodeId): void;
  peers(): PeerStatus[];

  /**
   * Queue a message for `peer`; returns the envelope id. Throws at once:
   * PEER_UNKNOWN, PEER_DOWN, BACKPRESSURE (queue full: await
   * `whenWritable`), BAD_ADDRESS, BAD_PARAMETER, BAD_USAGE (not running).
   */
  send(peer: NodeId, message: Outbound): number;
  /** Resolves when `peer`'s queue has room; rejects PEER_DOWN, PEER_UNKNOWN, BAD_USAGE (stopped). */
  whenWritable(peer: NodeId): Promise<void>;
  /** Queue a message for every peer not down and not full; `to` becomes `qallow://PEER/ACTOR` for each. */
  broadcast(message: BroadcastOutbound): BroadcastResult;
  /** Resolves when every queue has been handed to the wire (or dropped). */
  drained(): Promise<void>;

  onMessage(handler: MessageHandler): () => void;
  onPeerState(handler: PeerStateHandler): () => void;
  stats(): TransportStats;
}
