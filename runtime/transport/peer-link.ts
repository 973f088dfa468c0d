/**
 * One peer's outbound side, shared by every implementation: the bounded
 * FIFO queue of encoded envelopes, the batching pump, the peer's state
 * (`connecting` → `up` → `connecting` ... → `down`) and the waiters of
 * `whenWritable`.
 *
 * The queue is a list of batch frames under construction (envelope.ts
 * `BatchWriter`): `enqueue` writes the envelope straight into the last one
 * (a new one once it holds `maxBatch` envelopes or `maxBatchBytes`), so the
 * bytes are fixed when `send` returns and a batch leaves without being
 * copied. The bounds count envelopes and their bytes, as before.
 *
 * The pump runs only while the link is `up`, with one frame in flight at
 * a time. The first send starts it at once; it takes everything queued (up
 * to `maxBatch` envelopes and `maxBatchBytes`), makes one frame, awaits the
 * implementation's `write`, and repeats. Sends made while a write is in
 * flight pile up and leave together in the next frame, so a lone message
 * goes out without delay and the batch size follows the load.
 */
import type { NodeId } from '../actors/address.js';
import { QallowError } from '../errors.js';
import type { PeerSpec, PeerState, PeerStatus } from './contract.js';
import { BatchWriter, batchHeaderBytes, type FrameLimits } from './envelope.js';
import type { WireType } from './messages.js';

export interface LinkLimits {
  readonly maxQueued: number;
  readonly maxQueuedBytes: number;
  readonly maxBatch: number;
  readonly maxBatchBytes: number;
  readonly connectTimeoutMs: number;
}

export interface LinkHooks {
  /** Hand one frame to the wire; resolves when the wire took it. */
  write(frame: Uint8Array): Promise<void>;
  stateChanged(peer: NodeId, state: PeerState): void;
  wrote(envelopes: number): void;
  dropped(peer: NodeId, envelopes: number, why: 'peerDown' | 'stopped'): void;
  writeFailed(peer: NodeId, error: unknown): void;
}

interface Waiter {
  resolve(): void;
  reject(e: QallowError): void;
}

export class PeerLink {
  #state: PeerState = 'connecting';
  /** Batches in order; the last one takes new envelopes while it has room. */
  #batches: BatchWriter[] = [];
  #queued = 0;
  #bytes = 0;
  /** Capacity for the next batch: the size of the last frame, so a steady load rarely grows one. */
  #capacity = 256;
  #pumping = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #waiters: Waiter[] = [];
  #idle: (() => void)[] = [];

  constructor(
    readonly spec: PeerSpec,
    private readonly limits: LinkLimits,
    private readonly hooks: LinkHooks,
  ) {
    this.toPrefix = `qallow://${spec.id}/`;
    this.#armTimer();
  }

  get state(): PeerState {
    return this.#state;
  }

  get queued(): number {
    return this.#queued;
  }

  status(): PeerStatus {
    return { ...this.spec, state: this.#closed ? 'down' : this.#state, queued: this.queued, queuedBytes: this.#bytes };
  }

  /** `qallow://PEER/`: every address sent to this peer starts with it. */
  readonly toPrefix: string;

  #full(): never {
    const n = this.queued;
    throw new QallowError(
      'BACKPRESSURE',
      `send queue for peer ${this.spec.id} is full (${n} envelopes, ${this.#bytes} bytes; limits ${this.limits.maxQueued}, ${this.limits.maxQueuedBytes}); await whenWritable("${this.spec.id}") before sending more`,
      { peer: this.spec.id, queued: n, queuedBytes: this.#bytes },
    );
  }

  /**
   * Encode the envelope `[1, id, from, to, type, body]` into the queue
   * (header fields checked by the caller, the body checked here). Throws
   * PEER_DOWN, BACKPRESSURE or the encoder's BAD_PARAMETER, and then
   * nothing was queued.
   */
  enqueue(id: number, from: NodeId, to: string, type: WireType, body: unknown, frameLimits: FrameLimits): void {
    if (this.#closed || this.#state === 'down') throw this.#downError();
    const n = this.#queued;
    if (n >= this.limits.maxQueued) this.#full();
    const batches = this.#batches;
    let w = batches.length > 0 ? batches[batches.length - 1]! : undefined;
    if (w !== undefined && w.count >= this.limits.maxBatch) w = undefined;
    const fresh = w === undefined;
    w ??= new BatchWriter(this.#capacity);
    const size = w.append(id, from, to, type, body, frameLimits);
    if (n > 0 && this.#bytes + size > this.limits.maxQueuedBytes) {
      w.removeLast(size);
      this.#full();
    }
    if (fresh) batches.push(w);
    else if (w.bytes > this.limits.maxBatchBytes - batchHeaderBytes(this.limits.maxBatch)) {
      // Past the batch's byte budget: this envelope starts the next batch.
      const next = new BatchWriter(this.#capacity);
      next.appendEncoded(w.removeLast(size));
      batches.push(next);
    }
    this.#queued = n + 1;
    this.#bytes += size;
    this.#schedule();
  }

  /** Whether `enqueue` of one small envelope would be accepted now. */
  writable(): boolean {
    return !this.#closed && this.#state !== 'down' && this.queued < this.limits.maxQueued && this.#bytes < this.limits.maxQueuedBytes;
  }

  whenWritable(): Promise<void> {
    if (this.#closed || this.#state === 'down') return Promise.reject(this.#downError());
    if (this.queued <= this.limits.maxQueued >>> 1 && this.#bytes <= this.limits.maxQueuedBytes / 2) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Resolves when the queue is empty and no frame is in flight. */
  drained(): Promise<void> {
    if (this.#queued === 0 && !this.#pumping) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** The implementation saw the link come up (handshake done). */
  connected(): void {
    if (this.#closed || this.#state === 'up') return;
    this.#clearTimer();
    this.#setState('up');
    this.#schedule();
  }

  /** The implementation saw the link break or fail to come up. */
  disconnected(): void {
    if (this.#closed || this.#state !== 'up') return;
    this.#setState('connecting');
    this.#armTimer();
  }

  /** The transport stopped or the peer was removed: drop the queue, fail waiters. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearTimer();
    this.#dropQueue('stopped');
    this.#failWaiters(new QallowError('BAD_USAGE', `transport link to ${this.spec.id} is closed (transport stopped or peer removed)`, { peer: this.spec.id }));
  }

  #downError(): QallowError {
    if (this.#closed) return new QallowError('BAD_USAGE', `transport link to ${this.spec.id} is closed (transport stopped or peer removed)`, { peer: this.spec.id });
    return new QallowError('PEER_DOWN', `peer ${this.spec.id} (${this.spec.address}) has not been connected for ${this.limits.connectTimeoutMs} ms; it is retried in the background`, {
      peer: this.spec.id,
      address: this.spec.address,
    });
  }

  #setState(s: PeerState): void {
    this.#state = s;
    this.hooks.stateChanged(this.spec.id, s);
  }

  #armTimer(): void {
    this.#clearTimer();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#closed || this.#state === 'up') return;
      this.#setState('down');
      this.#dropQueue('peerDown');
      this.#failWaiters(this.#downError());
    }, this.limits.connectTimeoutMs);
    this.#timer.unref();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #dropQueue(why: 'peerDown' | 'stopped'): void {
    const n = this.#queued;
    this.#batches = [];
    this.#queued = 0;
    this.#bytes = 0;
    if (n > 0) this.hooks.dropped(this.spec.id, n, why);
    this.#settleIdle();
  }

  #failWaiters(e: QallowError): void {
    const ws = this.#waiters;
    this.#waiters = [];
    for (const w of ws) w.reject(e);
  }

  #settleIdle(): void {
    if (this.queued !== 0 || this.#pumping) return;
    const idle = this.#idle;
    this.#idle = [];
    for (const f of idle) f();
  }

  #schedule(): void {
    if (this.#pumping || this.#closed || this.#state !== 'up' || this.queued === 0) return;
    this.#pumping = true;
    // Started right away: a lone message is handed to the wire inside `send` (no hop on the
    // latency path); the sends that follow while its write is in flight leave together as the next batch.
    void this.#pump();
  }

  #take(): { frame: Uint8Array; count: number } {
    const w = this.#batches.shift()!;
    const count = w.count;
    this.#queued -= count;
    this.#bytes -= w.bytes;
    const frame = w.finish();
    this.#capacity = Math.min(Math.max(256, frame.byteLength + 64), this.limits.maxBatchBytes + 8);
    return { frame, count };
  }

  #wake(): void {
    if (this.#waiters.length === 0) return;
    if (this.queued > this.limits.maxQueued >>> 1 || this.#bytes > this.limits.maxQueuedBytes / 2) return;
    const ws = this.#waiters;
    this.#waiters = [];
    for (const w of ws) w.resolve();
  }

  async #pump(): Promise<void> {
    try {
      while (!this.#closed && this.#state === 'up' && this.queued > 0) {
        const { frame, count } = this.#take();
        this.#wake();
        try {
          await this.hooks.write(frame);
        } catch (e) {
          if (this.#closed) return;
          // The frame is lost; FIFO still holds for what follows.
          this.hooks.writeFailed(this.spec.id, e);
          this.hooks.dropped(this.spec.id, count, 'peerDown');
          continue;
        }
        this.hooks.wrote(count);
      }
    } finally {
      this.#pumping = false;
      this.#settleIdle();
      // A state change during the last write may have left work queued.
      this.#schedule();
    }
  }
}
