/**
 * Phi-accrual failure detector (Hayashibara et al.; as in Akka and
 * Cassandra). It keeps a window of heartbeat inter-arrival times and answers
 * "how surprised should I be that nothing has arrived for Δ ms": phi =
 * -log10(P(inter-arrival > Δ)), with the inter-arrival time modelled as a
 * normal distribution of the window's mean and standard deviation (floored
 * at `minStdDevMs`, and with `acceptablePauseMs` added to the mean so a GC
 * pause or a busy event loop is not a failure). phi = 1 means a 10% chance
 * the peer is still alive, 3 means 0.1%, 8 means 10^-8.
 *
 * The window is bounded against outliers: an interval is admitted as at
 * most the window's mean plus `acceptablePauseMs`. A gap longer than that is
 * a pause (a frozen VM, a partition), not the peer's rhythm; admitted whole,
 * one 40 s pause among 200 ms heartbeats would lift the standard deviation
 * to ~4 s for the next 100 heartbeats, and a following 20 s freeze would
 * never reach phi 8. Clamped, it widens the distribution by a few ms. The
 * cap follows the mean, so a peer whose rhythm really is slower than
 * `firstIntervalMs` is learnt within a few heartbeats while the window is
 * young, and gradually once it is full.
 */
export interface PhiOptions {
  /** Inter-arrival samples kept. */
  readonly windowSize: number;
  readonly minStdDevMs: number;
  readonly acceptablePauseMs: number;
  /** Assumed interval before the first two heartbeats have arrived. */
  readonly firstIntervalMs: number;
}

export const DEFAULT_PHI: PhiOptions = { windowSize: 100, minStdDevMs: 50, acceptablePauseMs: 300, firstIntervalMs: 200 };

export class PhiAccrualDetector {
  private readonly intervals: number[] = [];
  private next = 0;
  private last: number | undefined;
  private sum = 0;
  private sumSq = 0;

  constructor(private readonly o: PhiOptions = DEFAULT_PHI) {
    // Seed with the expected interval so phi is meaningful after one heartbeat.
    this.add(o.firstIntervalMs);
    this.add(o.firstIntervalMs);
  }

  private add(x: number): void {
    if (this.intervals.length < this.o.windowSize) {
      this.intervals.push(x);
    } else {
      const old = this.intervals[this.next]!;
      this.sum -= old;
      this.sumSq -= old * old;
      this.intervals[this.next] = x;
      this.next = (this.next + 1) % this.o.windowSize;
    }
    this.sum += x;
    this.sumSq += x * x;
  }

  /** Largest interval admitted to the window now (see above). */
  get maxSampleMs(): number {
    return this.sum / this.intervals.length + this.o.acceptablePauseMs;
  }

  heartbeat(now: number): void {
    if (this.last !== undefined) this.add(Math.min(now - this.last, this.maxSampleMs));
    this.last = now;
  }

  get lastHeartbeat(): number | undefined {
    return this.last;
  }

  phi(now: number): number {
    if (this.last === undefined) return 0;
    const n = this.intervals.length;
    const mean = this.sum / n + this.o.acceptablePauseMs;
    const variance = Math.max(0, this.sumSq / n - (this.sum / n) ** 2);
    const sd = Math.max(Math.sqrt(variance), this.o.minStdDevMs);
    const y = (now - this.last - mean) / sd;
    // Logistic approximation of the normal tail (as in Akka), stable for large y.
    const e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
    const p = now - this.last > mean ? e / (1 + e) : 1 - 1 / (1 + e);
    return -Math.log10(Math.max(p, 1e-300));
  }
}
