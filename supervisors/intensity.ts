/**
 * Restart intensity (Erlang/OTP): at most `maxRestarts` restarts within any
 * window of `periodMs`. The restart that would be one too many is refused,
 * and the supervisor escalates instead.
 */
import type { IntensitySpec } from './contract.js';

export class RestartIntensity {
  readonly spec: IntensitySpec;
  #times: number[] = [];

  constructor(spec: IntensitySpec) {
    this.spec = spec;
  }

  /** Record a restart at `now` if the limit allows it; false (nothing recorded) if it does not. */
  admit(now: number): boolean {
    this.#prune(now);
    if (this.#times.length >= this.spec.maxRestarts) return false;
    this.#times.push(now);
    return true;
  }

  /** Restarts within the window ending at `now`. */
  count(now: number): number {
    this.#prune(now);
    return this.#times.length;
  }

  reset(): void {
    this.#times = [];
  }

  #prune(now: number): void {
    const from = now - this.spec.periodMs;
    let k = 0;
    while (k < this.#times.length && this.#times[k]! <= from) k++;
    if (k > 0) this.#times = this.#times.slice(k);
  }
}
