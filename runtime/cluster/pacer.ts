/**
 * Cluster pacing for runs started with `paced` (SPEC §6 sync pulses).
 *
 * SPEC §6 has paced runs sleep by the slowdown factor (harmonic-mean cycle
 * time / own cycle time). That aligns *rates* on average but cannot bound
 * the *skew*: a host that is slower than the mean falls further behind every
 * epoch. qallow paces on ticks instead, as lockstep simulations do: a paced
 * run starts an epoch only if, at its end, the run leads the slowest live
 * peer running the same run id by at most `maxLeadTicks` (config
 * `cluster.maxLeadTicks`). The peer's ticks come from its sync pulses
 * (every 100 ms); a pulse can only under-report a peer's progress, so the
 * bound holds at every instant: own tick − peer tick ≤ maxLeadTicks.
 *
 * A peer stops constraining the run when the cluster's failure detector
 * marks it `down` (no heartbeats; see sync.ts for why not a pulse-age
 * window): pacing never turns a dead peer into a stalled cluster.
 *
 * A peer constrains a run only once its pulses name it. Two hosts handed
 * the same paced run at nearly the same moment can therefore run unpaced
 * for up to one pulse interval, until each has heard the other's first
 * pulse; `qallow status` lists the runs each peer's pulses name, so an
 * operator (or a script) can start the fast host after the slow one's run
 * shows there. The harmonic mean and slowdown factor are still
 * computed and shown (status, metrics) as the operator's view of speed.
 */
export interface Pacer {
  /** Ticks `run` may still advance from `tick` now (Infinity when no live peer runs it). */
  allowance(run: string, tick: number): number;
  /** Resolves once `allowance(run, tick) ≥ need` (on a pulse, or when constraining pulses go stale). */
  whenAllowed(run: string, tick: number, need: number): Promise<void>;
}
