/**
 * Location transparency (SPEC §6): `system.send(address, msg)` and
 * `system.ask(address, msg, timeoutMs)` take any `qallow://NODE/ACTOR`;
 * when NODE is another host the actor system hands the message to this
 * router, which carries it over the transport as `actor.tell` /
 * `actor.ask`, and delivers what arrives the same way a local caller would
 * (through the target actor's `decode`).
 *
 * Guarantees, on top of the transport's (contract.ts):
 * - **FIFO per pair** of hosts, at most once: tells from this host to
 *   actors on one peer are delivered in order, or not at all.
 * - **Typed failures.** A remote tell throws at once: PEER_UNKNOWN,
 *   PEER_DOWN (the peer is `down`), BACKPRESSURE (its send queue is full:
 *   await `whenWritable`), BAD_PARAMETER (not plain data). A remote ask
 *   rejects with the same, or TIMEOUT (no answer within `timeoutMs`,
 *   measured here), PEER_DOWN (the peer went down while the ask was
 *   outstanding: failed at once, not at the timeout), ACTOR_NOT_FOUND
 *   (no such actor there), or whatever the remote actor failed with (its
 *   code, message and details cross the hop; `details.node` names the host;
 *   a code this host does not know arrives as INTERNAL with
 *   `details.remoteCode`, so a newer peer's codes never drop the reply).
 * - **Bounded.** At most `maxPendingAsks` asks are outstanding; beyond that
 *   `ask` rejects BACKPRESSURE. Inbound asks are answered from the target
 *   actor's bounded mailbox (MAILBOX_FULL goes back to the asker).
 * - **A full mailbox on arrival** does not drop the tell: it waits, in
 *   order, in a per-actor overflow queue of at most `maxHeldPerActor`
 *   messages, which drains as the mailbox frees (`whenWritable`); later
 *   tells for that actor queue behind it so order holds. Beyond that bound
 *   tells are dropped and counted — the bound is what keeps a slow actor
 *   from buffering without limit; senders that must not lose messages use
 *   ask, whose MAILBOX_FULL goes back to them.
 * - A tell that cannot be delivered on arrival (no such actor, does not
 *   decode, overflow full) cannot be answered: it is logged (rate-limited)
 *   and counted in `stats().undeliverable`; the host keeps serving.
 */
import { formatAddress, type ActorAddress, type NodeId } from '../actors/address.js';
import type { ActorSystem, RemoteDelivery } from '../actors/system.js';
import { ErrorCodes, QallowError, errorMessage, isQallowError, type ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Transport } from '../transport/contract.js';
import type { Envelope } from '../transport/envelope.js';
import { MAX_ERROR_DETAIL_KEY, MAX_ERROR_DETAIL_VALUE, MAX_ERROR_DETAILS, MAX_ERROR_MESSAGE, MAX_TIMEOUT_MS, type ActorReply, type WireError, type WireValue } from '../transport/messages.js';

export interface RouterInit {
  readonly maxPendingAsks?: number;
  /** Inbound tells held per actor while its mailbox is full. */
  readonly maxHeldPerActor?: number;
}

export interface RouterComponents {
  readonly system: ActorSystem;
  readonly transport: Transport;
  readonly logger: Logger;
}

export interface RouterStats {
  readonly tellsSent: number;
  readonly asksSent: number;
  readonly pendingAsks: number;
  readonly tellsDelivered: number;
  readonly asksAnswered: number;
  /** Inbound tells that could not be delivered (no actor, full mailbox, bad message). */
  readonly undeliverable: number;
  /** Replies for asks that had already timed out or failed. */
  readonly lateReplies: number;
  /** Inbound tells waiting for a full mailbox, over all actors. */
  readonly held: number;
}

interface Pending {
  readonly peer: NodeId;
  readonly to: string;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: QallowError) => void;
  readonly timer: NodeJS.Timeout;
}

export const DEFAULT_MAX_PENDING_ASKS = 10_000;
export const DEFAULT_MAX_HELD_PER_ACTOR = 16_384;
/** The actor name replies are addressed to on the asking host. */
const REPLY_ACTOR = 'cluster';

export class ClusterRouter implements RemoteDelivery {
  private readonly pending = new Map<number, Pending>();
  private nextRequest = 1;
  private readonly maxPending: number;
  private readonly maxHeld: number;
  /** Per target actor: tells waiting for mailbox room, in arrival order. */
  private readonly held = new Map<string, Envelope<'actor.tell'>[]>();
  private heldCount = 0;
  private counts = { tellsSent: 0, asksSent: 0, tellsDelivered: 0, asksAnswered: 0, undeliverable: 0, lateReplies: 0 };
  private lastWarn = 0;
  private offPeer: (() => void) | undefined;

  constructor(
    init: RouterInit,
    private readonly c: RouterComponents,
  ) {
    this.maxPending = init.maxPendingAsks ?? DEFAULT_MAX_PENDING_ASKS;
    this.maxHeld = init.maxHeldPerActor ?? DEFAULT_MAX_HELD_PER_ACTOR;
  }

  start(): void {
    this.offPeer = this.c.transport.onPeerState((peer, state) => {
      if (state === 'down') this.failPeer(peer);
    });
    this.c.system.setRemote(this);
  }

  stop(): void {
    this.c.system.setRemote(undefined);
    this.offPeer?.();
    this.held.clear();
    this.heldCount = 0;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new QallowError('PEER_DOWN', `ask to ${p.to} abandoned: this host's cluster transport stopped`, { node: p.peer, actor: p.to }));
      this.pending.delete(id);
    }
  }

  tell(address: ActorAddress, raw: unknown): void {
    const to = formatAddress(address);
    this.c.transport.send(address.node, { to, type: 'actor.tell', body: { payload: raw as WireValue } });
    this.counts.tellsSent++;
  }

  ask(address: ActorAddress, raw: unknown, timeoutMs: number): Promise<unknown> {
    const to = formatAddress(address);
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS) {
      return Promise.reject(new QallowError('BAD_PARAMETER', `ask timeoutMs must be an integer from 1 to ${MAX_TIMEOUT_MS} (got ${String(timeoutMs)})`, { field: 'timeoutMs' }));
    }
    if (this.pending.size >= this.maxPending) {
      return Promise.reject(
        new QallowError('BACKPRESSURE', `${this.pending.size} remote asks are outstanding (limit ${this.maxPending}); await some before asking ${to}`, { actor: to }),
      );
    }
    const requestId = this.nextRequest++;
    return new Promise<unknown>((resolve, reject) => {
      try {
        this.c.transport.send(address.node, { to, type: 'actor.ask', body: { requestId, timeoutMs, payload: raw as WireValue } });
      } catch (e) {
        reject(e);
        return;
      }
      this.counts.asksSent++;
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new QallowError('TIMEOUT', `${to} did not answer within ${timeoutMs} ms`, { node: address.node, actor: to, timeoutMs }));
      }, timeoutMs);
      this.pending.set(requestId, { peer: address.node, to, resolve, reject, timer });
    });
  }

  /** Whether the transport toward `node` has room (await before telling a slow peer more). */
  whenWritable(node: NodeId): Promise<void> {
    return this.c.transport.whenWritable(node);
  }

  /** Inbound actor.tell / actor.ask / actor.reply; returns false for other types. */
  receive(env: Envelope): boolean {
    switch (env.type) {
      case 'actor.tell': {
        const queue = this.held.get(env.to);
        if (queue) {
          this.hold(queue, env as Envelope<'actor.tell'>);
          return true;
        }
        this.deliverTell(env as Envelope<'actor.tell'>);
        return true;
      }
      case 'actor.ask':
        this.answer(env as Envelope<'actor.ask'>);
        return true;
      case 'actor.reply':
        this.settle(env.from, env.body);
        return true;
      default:
        return false;
    }
  }

  stats(): RouterStats {
    return { ...this.counts, pendingAsks: this.pending.size, held: this.heldCount };
  }

  /** Deliver one tell; a full mailbox starts the actor's overflow queue. Returns false if it was held. */
  private deliverTell(env: Envelope<'actor.tell'>): boolean {
    try {
      this.c.system.send(env.to, env.body.payload);
      this.counts.tellsDelivered++;
      return true;
    } catch (e) {
      if (isQallowError(e, 'MAILBOX_FULL')) {
        const queue = [env];
        this.held.set(env.to, queue);
        this.heldCount++;
        void this.drain(env.to, queue);
        return false;
      }
      this.counts.undeliverable++;
      this.warn(env, e);
      return true;
    }
  }

  private hold(queue: Envelope<'actor.tell'>[], env: Envelope<'actor.tell'>): void {
    if (queue.length >= this.maxHeld) {
      this.counts.undeliverable++;
      this.warn(env, new QallowError('MAILBOX_FULL', `${env.to} is full and ${queue.length} tells already wait for it; dropped`, { actor: env.to }));
      return;
    }
    queue.push(env);
    this.heldCount++;
  }

  private async drain(to: string, queue: Envelope<'actor.tell'>[]): Promise<void> {
    while (queue.length > 0 && this.held.get(to) === queue) {
      try {
        await this.c.system.whenWritable(to);
      } catch (e) {
        // The actor stopped or vanished: what waits for it cannot be delivered.
        this.counts.undeliverable += queue.length;
        this.heldCount -= queue.length;
        this.warn(queue[0]!, e);
        queue.length = 0;
        break;
      }
      if (this.held.get(to) !== queue) return;
      while (queue.length > 0) {
        const next = queue[0]!;
        try {
          this.c.system.send(to, next.body.payload);
          this.counts.tellsDelivered++;
        } catch (e) {
          if (isQallowError(e, 'MAILBOX_FULL')) break;
          this.counts.undeliverable++;
          this.warn(next, e);
        }
        queue.shift();
        this.heldCount--;
      }
    }
    if (this.held.get(to) === queue) this.held.delete(to);
  }

  private answer(env: Envelope<'actor.ask'>): void {
    const { requestId, timeoutMs, payload } = env.body;
    const replyTo = `qallow://${env.from}/${REPLY_ACTOR}`;
    const send = (body: ActorReply): void => {
      try {
        this.c.transport.send(env.from, { to: replyTo, type: 'actor.reply', body });
        this.counts.asksAnswered++;
      } catch (e) {
        // The asker is gone or swamped: it will time out on its side.
        this.warn(env, e);
      }
    };
    this.c.system.ask(env.to, payload, timeoutMs).then(
      (value) => {
        try {
          send({ requestId, ok: true, payload: value as WireValue });
        } catch (e) {
          send({ requestId, ok: false, error: wireError(e) });
        }
      },
      (e: unknown) => send({ requestId, ok: false, error: wireError(e) }),
    );
  }

  private settle(from: NodeId, reply: ActorReply): void {
    const p = this.pending.get(reply.requestId);
    if (!p || p.peer !== from) {
      this.counts.lateReplies++;
      return;
    }
    this.pending.delete(reply.requestId);
    clearTimeout(p.timer);
    if (reply.ok) p.resolve(reply.payload);
    else p.reject(remoteError(reply.error, from, p.to));
  }

  private failPeer(peer: NodeId): void {
    for (const [id, p] of this.pending) {
      if (p.peer !== peer) continue;
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(new QallowError('PEER_DOWN', `${peer} went down before ${p.to} answered`, { node: peer, actor: p.to }));
    }
  }

  private warn(env: Envelope, e: unknown): void {
    const now = Date.now();
    if (now - this.lastWarn < 1000) return;
    this.lastWarn = now;
    this.c.logger.warn(
      { component: 'router', from: env.from, to: env.to, type: env.type, code: isQallowError(e) ? e.code : 'INTERNAL', err: errorMessage(e), undeliverable: this.counts.undeliverable },
      'remote message not delivered',
    );
  }
}

/**
 * A failure as it crosses the hop: a known code (else INTERNAL), a bounded
 * message and its details (at most MAX_ERROR_DETAILS entries of plain
 * values, long strings cut), so the asker sees the facts the remote actor
 * gave, not only its words.
 */
export function wireError(e: unknown): WireError {
  const code: ErrorCode = isQallowError(e) && (ErrorCodes as readonly string[]).includes(e.code) ? e.code : 'INTERNAL';
  const message = errorMessage(e).slice(0, MAX_ERROR_MESSAGE);
  if (!isQallowError(e)) return { code, message };
  const details: Record<string, string | number | boolean | null> = {};
  let n = 0;
  for (const [k, v] of Object.entries(e.details)) {
    if (n >= MAX_ERROR_DETAILS || k.length > MAX_ERROR_DETAIL_KEY) continue;
    if (typeof v === 'number' && !Number.isFinite(v)) details[k] = String(v);
    else details[k] = typeof v === 'string' ? v.slice(0, MAX_ERROR_DETAIL_VALUE) : v;
    n++;
  }
  return n === 0 ? { code, message } : { code, message, details };
}

/**
 * The error an asker sees for a failed remote ask: the remote code, message
 * and details (an unknown code arrives as INTERNAL with `details.remoteCode`,
 * see transport/messages.ts), plus `details.node` (the host that answered)
 * and `details.actor` (whom it asked); remote details by those names are
 * kept as `remoteNode` / `remoteActor`.
 */
export function remoteError(error: WireError, from: NodeId, actor: string): QallowError {
  const details: Record<string, string | number | boolean | null> = { ...error.details };
  if (details['node'] !== undefined && details['node'] !== from) details['remoteNode'] = details['node'];
  if (details['actor'] !== undefined && details['actor'] !== actor) details['remoteActor'] = details['actor'];
  details['node'] = from;
  details['actor'] = actor;
  return new QallowError(error.code, error.message, details);
}
