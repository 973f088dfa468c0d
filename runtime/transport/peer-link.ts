/**
 * One peer's outbound side, shared by every implementation: the bounded
 * FIFO queue of encoded envelopes, the batching pump, the peer's state
 * (`connecting` → `up` → `connecting` ... → `down`) and the waiters of
 * `whenWritable`.
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
import { batchHeaderBytes, encodeBatch } from './envelope.js';

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
  #queue: Uint8Array[] = [];
  #head = 0;
  #bytes = 0;
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
    return this.#queue.length - this.#head;
  }

  status(): PeerStatus {
    return { ...this.spec, state: this.#closed ? 'down' : this.#state, queued: this.queued, queuedBytes: this.#bytes };
  }

  /** `qallow://PEER/`: every address sent to this peer starts with it. */
  readonly toPrefix: string;

  /** Throws PEER_DOWN or BACKPRESSURE if a small envelope could not be queued now (checked before encoding). */
  assertWritable(): void {
    if (this.#closed || this.#state === 'down') throw this.#downError();
    if (this.queued >= this.limits.maxQueued) this.#full();
  }

  #full(): never {
    const n = this.queued;
    throw new QallowError(
      'BACKPRESSURE',
      `send queue for peer ${this.spec.id} is full (${n} envelopes, ${this.#bytes} bytes; limits ${this.limits.maxQueued}, ${this.limits.maxQueuedBytes}); await whenWritable("${this.spec.id}") before sending more`,
      { peer: this.spec.id, queued: n, queuedBytes: this.#bytes },
    );
  }

  /** Throws PEER_DOWN or BACKPRESSURE, else queues the encoded envelope. */
  enqueue(bytes: Uint8Array): void {
    if (this.#closed || this.#state === 'down') throw this.#downError();
    const n = this.queued;
    if (n >= this.limits.maxQueued || (n > 0 && this.#bytes + bytes.byteLength > this.limits.maxQueuedBytes)) this.#full();
    this.#queue.push(bytes);
    this.#bytes += bytes.byteLength;
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
    if (this.queued === 0 && !this.#pumping) return Promise.resolve();
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
    const n = this.queued;
    this.#queue = [];
    this.#head = 0;
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
    const q = this.#queue;
    const max = this.limits.maxBatch;
    let i = this.#head;
    let bytes = 0;
    const budget = this.limits.maxBatchBytes - batchHeaderBytes(max);
    while (i < q.length && i - this.#head < max) {
      const len = q[i]!.byteLength;
      if (i > this.#head && bytes + len > budget) break;
      bytes += len;
      i++;
    }
    const parts = q.slice(this.#head, i);
    this.#head = i;
    this.#bytes -= bytes;
    if (this.#head === q.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 4096 && this.#head * 2 > q.length) {
      this.#queue = q.slice(this.#head);
      this.#head = 0;
    }
    return { frame: encodeBatch(parts), count: parts.length };
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
