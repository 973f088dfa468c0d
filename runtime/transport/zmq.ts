/**
 * The ZeroMQ transport (zeromq.js 6) with CURVE encryption and a ZAP
 * allow-list. Frames are envelope.ts frames; queues, batching, peer states
 * and the inbound checks are the shared ones (core.ts, peer-link.ts).
 *
 * Socket pattern, per host:
 * - one ROUTER bound to `listen` as CURVE server (this host's secret key).
 *   It only receives. ROUTER rather than PULL because it tells which
 *   connection a frame came from (the routing id), which is checked against
 *   each envelope's `from`.
 * - one DEALER per peer, connected to that peer's ROUTER as CURVE client
 *   with the peer's public key as server key, so this host knows it talks to
 *   that peer and nobody else can read the traffic. Its routing id is this
 *   host's node id. One DEALER → one connection → one ordered pipe gives
 *   FIFO per pair; a broadcast is one frame queued on every DEALER, in line
 *   with directed traffic. PUB/SUB was not used for broadcasts: it drops
 *   silently at the high-water mark and would not keep a broadcast in order
 *   with directed messages from the same host.
 * - DEALERs use `immediate` (nothing is queued in ZeroMQ for a peer that is
 *   not connected) and a small send high-water mark in frames, so the
 *   bounded queue in front of them is where backpressure shows, and a
 *   frame in ZeroMQ is at most `sendHighWaterMark` batches.
 *
 * Authentication: the ZAP handler (zap.ts) accepts a client key only if it
 * is a configured peer's; others are refused and counted. libzmq does not
 * retry a connection refused by ZAP, so a DEALER whose handshake fails
 * reconnects itself with exponential backoff (the peer may add our key
 * later). A peer is `up` when the CURVE handshake succeeded.
 *
 * Known limit: zeromq.js 6 does not expose the ZAP user id of a message
 * (zmq_msg_gets "User-Id"), so the receiver cannot bind a frame to the key
 * that authenticated its connection. It checks instead that every envelope
 * claims the node id its connection announced as routing id, and the
 * ROUTER refuses a second connection with a routing id already in use.
 * An allowed peer could still impersonate another allowed peer that is
 * not connected; messages whose origin matters (ledger entries, votes,
 * admin commands) carry their own Ed25519 signatures (SPEC §6).
 *
 * Dead connections and reconnection: TCP alone does not notice a partition
 * (a connection whose segments vanish stays established, and once the
 * network is back it waits for its next retransmission, which backs off to
 * many seconds: two hosts stayed apart 24.5 s after a partition healed). So
 * every socket sends ZMTP heartbeats (PING every `heartbeatIntervalMs`) and
 * drops a connection on which nothing arrived for `heartbeatTimeoutMs` after
 * a PING; the DEALER then reconnects every `reconnectIntervalMs`, backing
 * off to `reconnectMaxIntervalMs`, and gives up each attempt whose TCP
 * connect has not completed in `dialTimeoutMs` (the kernel would otherwise
 * retry a lost SYN after 1, 3, 7 ... s). A link is therefore back within a
 * dial timeout plus a reconnect interval of the network. The ROUTER drops a
 * silent connection earlier than the DEALER does (the DEALER's timeout is
 * two heartbeat intervals longer), so when a DEALER reconnects, the peer's
 * ROUTER no longer holds its routing id and takes the new connection.
 *
 * Bound: frames above `maxFrameBytes` are counted as oversized and dropped;
 * ZeroMQ itself drops connections that send a frame above twice that
 * (`maxMessageSize`), before anything is allocated for it in JavaScript.
 */
import * as zmq from 'zeromq';
import type { NodeId } from '../actors/address.js';
import { QallowError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { PeerSpec, Transport, TransportInit } from './contract.js';
import { TransportCore, type TransportComponents, type Wire, type WireEvents, type WireLink } from './core.js';
import { checkKeyPair, curveKey } from './curve.js';
import { DEFAULT_FRAME_LIMITS } from './envelope.js';
import type { PeerLink } from './peer-link.js';
import { ZAP_DOMAIN, ZapHandler } from './zap.js';

export interface ZmqTransportInit extends TransportInit {
  /**
   * Where to listen: `tcp://HOST:PORT` (PORT `0` or `*` picks a free port,
   * kept across stop/start) or `ipc://PATH`.
   */
  readonly listen: string;
  /** Frames ZeroMQ may hold per peer on the sending side (default 16). */
  readonly sendHighWaterMark?: number | undefined;
  /** Frames ZeroMQ may hold on the receiving side (default 1000). */
  readonly receiveHighWaterMark?: number | undefined;
  /** First reconnect delay, doubled up to the max (defaults 100 ms, 1000 ms). */
  readonly reconnectIntervalMs?: number | undefined;
  readonly reconnectMaxIntervalMs?: number | undefined;
  /** How long one TCP connect attempt may take before it is given up and retried (default 1000 ms). */
  readonly dialTimeoutMs?: number | undefined;
  /** ZMTP PING interval on every connection (default 1000 ms). */
  readonly heartbeatIntervalMs?: number | undefined;
  /** A connection silent this long after a PING is dropped and reconnected (default 3000 ms; at least 100). */
  readonly heartbeatTimeoutMs?: number | undefined;
}

const EPHEMERAL_TCP = /^tcp:\/\/(.+):(?:0|\*)$/;

function checkListen(listen: string): string {
  if (typeof listen !== 'string' || !/^(tcp:\/\/.+:(\d+|\*)|ipc:\/\/.+)$/.test(listen)) {
    throw new QallowError('CONFIG_INVALID', `transport listen must be tcp://HOST:PORT or ipc://PATH (got ${JSON.stringify(listen)})`, { field: 'listen' });
  }
  return listen.replace(EPHEMERAL_TCP, 'tcp://$1:*');
}

interface SocketSettings {
  readonly nodeId: NodeId;
  readonly publicKey: string;
  readonly secretKey: string;
  readonly sendHighWaterMark: number;
  readonly receiveHighWaterMark: number;
  readonly reconnectIntervalMs: number;
  readonly reconnectMaxIntervalMs: number;
  readonly dialTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly hardMaxMessageBytes: number;
}

type Listeners = { readonly [E in zmq.EventType]?: (event: zmq.EventOfType<E>) => void };

/**
 * Read a socket's monitor events with our own loop rather than `events.on()`
 * (zeromq.js's emitter loop rejects unhandled when its observer closes).
 *
 * Returns the closer, to call right after closing the socket. Closing the
 * socket normally ends its observer. Closing the observer first, or at the
 * same moment, makes libzmq keep the socket's connections open until it is
 * garbage-collected: the peer heard of the close 8 s late and took that long
 * to mark this host down. An observer left open, though, keeps the process
 * from exiting, and now and then one outlives its socket; so the closer
 * closes it if it is still open after a grace period, on an unref'd timer.
 */
function watch(socket: zmq.Socket, listeners: Listeners): () => void {
  const observer = socket.events;
  let stopped = false;
  void (async () => {
    while (!stopped && !observer.closed) {
      let event: zmq.Event | undefined;
      try {
        event = await observer.receive();
      } catch {
        return;
      }
      // A receive pending when the observer closes resolves with nothing.
      if (event === undefined || stopped) return;
      (listeners[event.type] as ((e: zmq.Event) => void) | undefined)?.(event);
    }
  })();
  return () => {
    if (stopped) return;
    stopped = true;
    setTimeout(() => {
      if (!observer.closed) observer.close();
    }, OBSERVER_GRACE_MS).unref();
  };
}

/** How long a closed socket's observer may stay open before it is closed by hand. */
const OBSERVER_GRACE_MS = 1_000;

/** How long a restart waits for its own previous listener to let go of the address. */
const REBIND_MS = 2_000;

/** libzmq's millisecond socket options are C ints; a ZMTP time-to-live is 16 bits of deciseconds. */
const MAX_SOCKET_MS = 0x7fff_ffff;
const MAX_TTL_MS = 0xffff * 100;

/** Retries after a refused handshake back off to at least this (each one is logged). */
const AUTH_RETRY_MAX_MS = 5_000;

class ZmqLink implements WireLink {
  readonly #dealer: zmq.Dealer;
  readonly #unwatch: () => void;
  #retry: NodeJS.Timeout | undefined;
  #backoff: number;
  #closed = false;

  constructor(
    context: zmq.Context,
    private readonly s: SocketSettings,
    private readonly peer: PeerSpec,
    private readonly link: PeerLink,
    private readonly log: Logger,
  ) {
    this.#backoff = s.reconnectIntervalMs;
    this.#dealer = new zmq.Dealer({
      context,
      routingId: s.nodeId,
      curveServerKey: peer.publicKey,
      curvePublicKey: s.publicKey,
      curveSecretKey: s.secretKey,
      immediate: true,
      linger: 0,
      sendHighWaterMark: s.sendHighWaterMark,
      receiveHighWaterMark: 1,
      reconnectInterval: s.reconnectIntervalMs,
      reconnectMaxInterval: s.reconnectMaxIntervalMs,
      connectTimeout: s.dialTimeoutMs,
      heartbeatInterval: s.heartbeatIntervalMs,
      // Longer than the peer ROUTER's own timeout, so it has let go of our routing id when we reconnect.
      heartbeatTimeout: Math.min(s.heartbeatTimeoutMs + 2 * s.heartbeatIntervalMs, MAX_SOCKET_MS),
      // Sent in ZMTP PINGs as 16 bits of deciseconds.
      heartbeatTimeToLive: Math.min(s.heartbeatTimeoutMs, MAX_TTL_MS),
    });
    const failed = (kind: string, err: Error | undefined): void => {
      link.disconnected();
      this.log.warn({ peer: peer.id, address: peer.address, kind, err: err ? errorMessage(err) : null, code: 'UNAUTHORIZED' }, `transport: handshake with ${peer.id} failed (${kind}); retrying`);
      this.#scheduleRetry();
    };
    this.#unwatch = watch(this.#dealer, {
      handshake: () => {
        this.#backoff = s.reconnectIntervalMs;
        link.connected();
      },
      disconnect: () => link.disconnected(),
      'handshake:error:auth': (e) => failed('refused by peer', e.error),
      'handshake:error:protocol': (e) => failed('protocol', e.error),
      'handshake:error:other': (e) => failed('other', e.error),
    });
    this.#dealer.connect(peer.address);
  }

  /** libzmq does not reconnect after a failed handshake; do it, backing off. */
  #scheduleRetry(): void {
    if (this.#closed || this.#retry !== undefined) return;
    const delay = this.#backoff;
    this.#backoff = Math.min(this.#backoff * 2, Math.max(this.s.reconnectMaxIntervalMs, AUTH_RETRY_MAX_MS));
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      if (this.#closed) return;
      try {
        this.#dealer.disconnect(this.peer.address);
      } catch {
        // already disconnected
      }
      this.#dealer.connect(this.peer.address);
    }, delay);
    this.#retry.unref();
  }

  async write(frame: Uint8Array): Promise<void> {
    await this.#dealer.send(frame);
  }

  close(): void {
    this.#closed = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#dealer.close();
    this.#unwatch();
  }
}

class ZmqWire implements Wire {
  core!: TransportCore;
  #listen: string;
  #context: zmq.Context | undefined;
  #zap: ZapHandler | undefined;
  #server: zmq.Router | undefined;
  #unwatch: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #closing = false;
  /** Whether this transport has listened on `#listen` before (a restart). */
  #boundBefore = false;

  constructor(
    private readonly s: SocketSettings,
    listen: string,
    private readonly log: Logger,
  ) {
    this.#listen = listen;
  }

  async start(events: WireEvents): Promise<string> {
    this.#closing = false;
    const context = new zmq.Context();
    const zap = new ZapHandler(context, {
      lookup: (key) => this.core.peerForKey(key),
      refused: (detail) => events.refused(detail),
    });
    await zap.start();
    const server = new zmq.Router({
      context,
      curveServer: true,
      curvePublicKey: this.s.publicKey,
      curveSecretKey: this.s.secretKey,
      zapDomain: ZAP_DOMAIN,
      linger: 0,
      receiveHighWaterMark: this.s.receiveHighWaterMark,
      maxMessageSize: this.s.hardMaxMessageBytes,
      heartbeatInterval: this.s.heartbeatIntervalMs,
      heartbeatTimeout: this.s.heartbeatTimeoutMs,
    });
    // Refusals by ZAP are counted by the handler; these are handshakes that failed before it (bad keys, wrong mechanism).
    const unwatch = watch(server, {
      'handshake:error:protocol': (e) => events.refused({ reason: `handshake ${e.error.code ?? 'protocol error'}` }),
      'handshake:error:other': (e) => events.refused({ reason: `handshake failed: ${errorMessage(e.error)}` }),
    });
    try {
      await this.#bind(server);
    } catch (e) {
      server.close();
      unwatch();
      await zap.stop();
      throw new QallowError('IO_ERROR', `transport could not listen on ${this.#listen}: ${errorMessage(e)}`, { field: 'listen', address: this.#listen }, { cause: e });
    }
    const bound = server.lastEndpoint ?? this.#listen;
    // An ephemeral port is kept, so peers that know the address find us again after a restart.
    this.#listen = bound;
    this.#boundBefore = true;
    this.#context = context;
    this.#zap = zap;
    this.#server = server;
    this.#unwatch = unwatch;
    this.#loop = this.#receive(server, events);
    return bound;
  }

  /**
   * Bind the server. libzmq closes a socket on its own thread after `close()`
   * returns, so right after a stop this transport's previous listener may
   * still hold the address: on a restart an address in use is tried again
   * for up to REBIND_MS. A first start fails at once (someone else has it).
   */
  async #bind(server: zmq.Router): Promise<void> {
    const deadline = Date.now() + (this.#boundBefore ? REBIND_MS : 0);
    for (;;) {
      try {
        await server.bind(this.#listen);
        return;
      } catch (e) {
        if ((e as { code?: unknown }).code !== 'EADDRINUSE' || Date.now() >= deadline) throw e;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  async #receive(server: zmq.Router, events: WireEvents): Promise<void> {
    for (;;) {
      let parts: Buffer[];
      try {
        parts = await server.receive();
      } catch (e) {
        if (this.#closing || server.closed) return;
        this.log.error({ err: errorMessage(e) }, 'transport: receive failed');
        continue;
      }
      const [route, frame, ...extra] = parts;
      const claimed = route === undefined ? undefined : route.toString('utf8');
      if (frame === undefined || extra.length > 0) {
        events.badFrame('a frame must be one message part', { parts: parts.length - 1, claimed: claimed ?? '' });
        continue;
      }
      events.frame(frame, claimed);
    }
  }

  async stop(): Promise<void> {
    this.#closing = true;
    this.#server?.close();
    this.#unwatch?.();
    await this.#loop;
    await this.#zap?.stop();
    this.#server = undefined;
    this.#unwatch = undefined;
    this.#zap = undefined;
    this.#context = undefined;
  }

  checkPeer(peer: PeerSpec): void {
    curveKey(peer.publicKey, `peer ${peer.id} publicKey`);
    if (!/^(tcp:\/\/.+:\d+|ipc:\/\/.+)$/.test(peer.address)) {
      throw new QallowError('BAD_PARAMETER', `peer ${peer.id}: address must be tcp://HOST:PORT or ipc://PATH (got ${JSON.stringify(peer.address)})`, { field: 'peer.address', peer: peer.id });
    }
  }

  connect(peer: PeerSpec, link: PeerLink): WireLink {
    if (!this.#context) throw new QallowError('BAD_USAGE', 'transport is not running');
    return new ZmqLink(this.#context, this.s, peer, link, this.log);
  }

  peersChanged(): void {
    // The ZAP handler reads the peer table on every handshake; established connections stay.
  }
}

export interface ZmqTransport extends Transport {
  readonly publicKey: string;
}

/** A ZeroMQ transport; nothing is opened until `start()`. */
export function createZmqTransport(init: ZmqTransportInit, components: TransportComponents): ZmqTransport {
  const keys = checkKeyPair(init.keys);
  const listen = checkListen(init.listen);
  const posInt = (v: number | undefined, d: number, field: string): number => {
    const n = v ?? d;
    if (!Number.isSafeInteger(n) || n < 1 || n > MAX_SOCKET_MS) throw new QallowError('CONFIG_INVALID', `transport ${field} must be a positive integer of at most ${MAX_SOCKET_MS} (got ${String(v)})`, { field });
    return n;
  };
  const maxFrameBytes = init.limits?.maxFrameBytes ?? DEFAULT_FRAME_LIMITS.maxFrameBytes;
  const s: SocketSettings = {
    nodeId: init.nodeId,
    publicKey: keys.publicKey,
    secretKey: keys.secretKey,
    sendHighWaterMark: posInt(init.sendHighWaterMark, 16, 'sendHighWaterMark'),
    receiveHighWaterMark: posInt(init.receiveHighWaterMark, 1000, 'receiveHighWaterMark'),
    reconnectIntervalMs: posInt(init.reconnectIntervalMs, 100, 'reconnectIntervalMs'),
    reconnectMaxIntervalMs: posInt(init.reconnectMaxIntervalMs, 1000, 'reconnectMaxIntervalMs'),
    dialTimeoutMs: posInt(init.dialTimeoutMs, 1000, 'dialTimeoutMs'),
    heartbeatIntervalMs: posInt(init.heartbeatIntervalMs, 1000, 'heartbeatIntervalMs'),
    heartbeatTimeoutMs: posInt(init.heartbeatTimeoutMs, 3000, 'heartbeatTimeoutMs'),
    hardMaxMessageBytes: Math.min(maxFrameBytes * 2, 0x7fff_ffff),
  };
  // libzmq rounds the time-to-live down to deciseconds and ignores one under 100 ms.
  if (s.heartbeatTimeoutMs < 100) throw new QallowError('CONFIG_INVALID', `transport heartbeatTimeoutMs must be at least 100 (got ${s.heartbeatTimeoutMs})`, { field: 'heartbeatTimeoutMs' });
  if (s.reconnectMaxIntervalMs < s.reconnectIntervalMs) {
    throw new QallowError('CONFIG_INVALID', `transport reconnectMaxIntervalMs (${s.reconnectMaxIntervalMs}) must be at least reconnectIntervalMs (${s.reconnectIntervalMs})`, { field: 'reconnectMaxIntervalMs' });
  }
  const log = components.logger.child({ component: 'transport' });
  const wire = new ZmqWire(s, listen, log);
  const core = new TransportCore(init, components, wire, keys.publicKey);
  wire.core = core;
  return core;
}
