/**
 * Per-key rate of a monotonic figure (ticks/s of a run) over a sliding window
 * of scrape-time samples, so the gauge reads the same whoever scrapes and how
 * often. A value that goes down (a run resumed from an older checkpoint)
 * restarts the window.
 */
export class RateTracker {
  readonly #samples = new Map<string, Array<{ at: number; value: number }>>();

  constructor(private readonly windowMs = 30_000) {}

  /** Record `value` at `at` (ms) and return the rate per second over the window; undefined until two samples exist. */
  observe(key: string, value: number, at: number): number | undefined {
    let s = this.#samples.get(key);
    if (!s || (s.length > 0 && value < s[s.length - 1]!.value)) {
      s = [];
      this.#samples.set(key, s);
    }
    s.push({ at, value });
    // Keep one sample at or before the window's start, so the window is always covered.
    while (s.length > 2 && s[1]!.at <= at - this.windowMs) s.shift();
    const first = s[0]!;
    const dt = at - first.at;
    if (s.length < 2 || dt <= 0) return undefined;
    return ((value - first.value) * 1000) / dt;
  }

  /** Forget keys not in `live` (runs that are gone). */
  retain(live: ReadonlySet<string>): void {
    for (const k of this.#samples.keys()) if (!live.has(k)) this.#samples.delete(k);
  }
}
