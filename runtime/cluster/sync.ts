/**
 * Sync pulses (SPEC §6). Every 100 ms each host publishes its tick cycle
 * time and its runs' ticks; each host keeps the latest pulse per peer and
 * derives
 *
 *   - the cluster's harmonic-mean cycle time H = n / Σ 1/cᵢ (the cycle time of
 *     the cluster's average tick rate), and
 *   - its slowdown factor H / own cycle (> 1: this host is faster than the
 *     cluster average).
 *
 * Pacing: SPEC §6 has paced runs sleep by the slowdown factor. Sleeping to
 * the *mean* rate cannot bound the skew when hosts differ in speed (the
 * slowest host falls further behind every tick), so qallow paces on ticks
 * instead, as lockstep simulations do: a paced run may lead the slowest live
 * peer running the same run by at most `maxLeadTicks`, and waits for it
 * otherwise. The harmonic mean and slowdown factor are still computed and
 * reported (status, metrics), as the operator's view of cluster speed.
 *
 * Which peers constrain a paced run: those the cluster's failure detector
 * (membership.ts, phi accrual over heartbeats) does not hold `down`, with
 * their latest pulse however old it is. An old pulse only under-reports a
 * peer's ticks, so the bound still holds. An earlier version dropped any
 * peer silent for 1 s instead; a slow host busy with a large epoch on a
 * loaded machine went quiet that long while alive, and the fast host ran
 * past the bound. Liveness is now one judgement for the whole host, made by
 * the component that exists to make it. Without a liveness judge (a bare
 * SyncState, as in unit tests) the age window `staleMs` still applies.
 */
export interface SyncPulse {
  readonly node: string;
  /** Milliseconds per tick, measured over the host's last epoch; 0 if idle. */
  readonly cycleMs: number;
  /** Ticks reached, per paced run id. */
  readonly ticks: Readonly<Record<string, number>>;
  readonly sentAt: number;
}

export const PULSE_INTERVAL_MS = 100;

export class SyncState {
  private readonly latest = new Map<string, SyncPulse>();

  constructor(
    readonly node: string,
    /** Pulses older than this are ignored (the peer is down or partitioned). */
    private readonly staleMs = 10 * PULSE_INTERVAL_MS,
  ) {}

  receive(p: SyncPulse): void {
    const prev = this.latest.get(p.node);
    if (!prev || p.sentAt >= prev.sentAt) this.latest.set(p.node, p);
  }

  /** Set by the cluster service: whether a peer still counts (membership not `down`). */
  alive: ((node: string) => boolean) | undefined;

  private live(now: number): SyncPulse[] {
    const alive = this.alive;
    return [...this.latest.values()].filter((p) => (alive ? alive(p.node) : now - p.sentAt <= this.staleMs));
  }

  /** Each live peer's paced runs and ticks, as its latest pulse gave them, and how old that pulse is. */
  peers(now: number): Array<{ node: string; runs: Readonly<Record<string, number>>; ageMs: number }> {
    return this.live(now).map((p) => ({ node: p.node, runs: p.ticks, ageMs: now - p.sentAt }));
  }

  /** Harmonic mean of the live hosts' cycle times (own included), or null if none is running. */
  harmonicMeanCycleMs(ownCycleMs: number, now: number): number | null {
    const cycles = [ownCycleMs, ...this.live(now).map((p) => p.cycleMs)].filter((c) => c > 0);
    if (cycles.length === 0) return null;
    return cycles.length / cycles.reduce((s, c) => s + 1 / c, 0);
  }

  /** H / own cycle; 1 when unknown. */
  slowdownFactor(ownCycleMs: number, now: number): number {
    const h = this.harmonicMeanCycleMs(ownCycleMs, now);
    return h === null || ownCycleMs <= 0 ? 1 : h / ownCycleMs;
  }

  /**
   * How many ticks a paced run at `ownTick` may still advance before it
   * leads the slowest live peer running it by more than `maxLeadTicks`
   * (Infinity when no live peer runs it).
   */
  allowance(run: string, ownTick: number, maxLeadTicks: number, now: number): number {
    let slowest = Infinity;
    for (const p of this.live(now)) {
      const t = p.ticks[run];
      if (t !== undefined) slowest = Math.min(slowest, t);
    }
    return slowest === Infinity ? Infinity : Math.max(0, slowest + maxLeadTicks - ownTick);
  }
}
