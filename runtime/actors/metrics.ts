/**
 * Per-actor metrics. The field names of `ActorMetrics` and `SystemMetrics`
 * are a stable schema (telemetry writes them as pino lines and Prometheus
 * gauges); add fields, never rename.
 *
 * Processing-time percentiles come from a sliding window: the durations of
 * the last `LATENCY_WINDOW` messages in a fixed ring buffer, sorted on
 * snapshot and read by nearest rank. Exact over the window, O(1) per message,
 * fixed memory, and old behaviour ages out after `LATENCY_WINDOW` messages.
 */

export const LATENCY_WINDOW = 512;

export type ActorRunState = 'running' | 'restarting' | 'stopped';

export interface ActorMetrics {
  /** `qallow://node/path` */
  readonly actor: string;
  readonly state: ActorRunState;
  /** 0 for the first start, +1 per restart. */
  readonly incarnation: number;
  /** Messages whose handler returned (crashed ones are in `crashes`). */
  readonly processed: number;
  /** Messages accepted and not yet finished, the one being handled included. */
  readonly mailboxDepth: number;
  readonly mailboxCapacity: number;
  /** Handler time over the last `processingSamples` messages, ms; 0 when there are none. */
  readonly processingP50Ms: number;
  readonly processingP99Ms: number;
  readonly processingSamples: number;
  readonly restarts: number;
  /** Handler failures, stale ones (from an incarnation already replaced) included. */
  readonly crashes: number;
  /** Messages told to this actor once stopped, or still queued when it stopped. */
  readonly deadLetters: number;
  /** Tells refused with MAILBOX_FULL. */
  readonly mailboxFull: number;
}

export interface SystemMetrics {
  readonly node: string;
  readonly actors: readonly ActorMetrics[];
  /** Messages sent by address to an actor this node never had (`ACTOR_NOT_FOUND`). */
  readonly unroutable: number;
}

/** Fixed-size ring of the most recent samples with nearest-rank percentiles. */
export class LatencyWindow {
  readonly #samples: Float64Array;
  #next = 0;
  #count = 0;

  constructor(size = LATENCY_WINDOW) {
    this.#samples = new Float64Array(size);
  }

  record(ms: number): void {
    this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) % this.#samples.length;
    if (this.#count < this.#samples.length) this.#count++;
  }

  get count(): number {
    return this.#count;
  }

  /** Nearest-rank percentiles for each `p` in [0, 1]; zeros when empty. */
  percentiles(ps: readonly number[]): number[] {
    if (this.#count === 0) return ps.map(() => 0);
    const sorted = this.#samples.slice(0, this.#count).sort();
    return ps.map((p) => sorted[Math.min(this.#count - 1, Math.max(0, Math.ceil(p * this.#count) - 1))]!);
  }
}
