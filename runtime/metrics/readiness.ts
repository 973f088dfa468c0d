/**
 * Readiness for /readyz: the host names the parts it must start (store,
 * pool, actor tree, cluster transport when configured) and marks each up as
 * it comes; ready ⇔ every part is up and the host is not stopping. Liveness
 * (/healthz) is separate: a booting or draining host is alive but not ready.
 */
import type { ReadinessReport } from './contract.js';

export class Readiness {
  readonly #pending: Set<string>;
  #stopping = false;

  constructor(parts: readonly string[]) {
    this.#pending = new Set(parts);
  }

  up(part: string): void {
    this.#pending.delete(part);
  }

  /** From now on never ready (graceful stop: runs drain, load balancers should look elsewhere). */
  stopping(): void {
    this.#stopping = true;
  }

  report(): ReadinessReport {
    if (this.#stopping) return { ready: false, reasons: ['host is stopping'] };
    const reasons = [...this.#pending].map((p) => `${p} not started`);
    return { ready: reasons.length === 0, reasons };
  }
}
