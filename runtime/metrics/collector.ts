/**
 * The host's Prometheus series (runtime/metrics/README.md lists them with
 * their labels), in a registry of their own so that two hosts in one process
 * never share a series. Values are refreshed from the MetricsSource on every
 * scrape (`scrape()`): the gauges and counters are reset and set from one
 * snapshot, so series of actors or runs that are gone disappear and nothing
 * is ever stale by more than the scrape itself.
 *
 * Counters mirror the runtime's own monotonic counts (messages processed,
 * restarts, ...) rather than counting on their own: the runtime is the one
 * place that counts, and a counter that goes down (a run resumed from an
 * older checkpoint) reads to Prometheus as a counter reset, which rate()
 * handles.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { MetricsSource } from './contract.js';
import { processMetricsRegistry } from './process.js';
import { RateTracker } from './rate.js';

const PEER_STATES = ['up', 'suspect', 'down'] as const;

export interface HostCollectorInit {
  /** Include Node's default process metrics (default true). */
  readonly processMetrics?: boolean;
  /** Window of the tick-rate gauge, ms (default 30 s). */
  readonly rateWindowMs?: number;
}

export interface HostCollectorComponents {
  readonly source: MetricsSource;
  readonly now?: (() => number) | undefined;
}

type G = Gauge<string>;
type C = Counter<string>;

export class HostCollector {
  /** The host's own `qallow_*` series, each with a `node` label. */
  readonly registry = new Registry();
  readonly #process: Registry | undefined;
  readonly #source: MetricsSource;
  readonly #now: () => number;
  readonly #rates: RateTracker;
  readonly #g: Record<string, G> = {};
  readonly #c: Record<string, C> = {};

  constructor(init: HostCollectorInit, components: HostCollectorComponents) {
    this.#source = components.source;
    this.#now = components.now ?? Date.now;
    this.#rates = new RateTracker(init.rateWindowMs);
    this.registry.setDefaultLabels({ node: components.source.node });
    const gauge = (name: string, help: string, labelNames: string[] = []): void => {
      this.#g[name] = new Gauge({ name, help, labelNames, registers: [this.registry] });
    };
    const counter = (name: string, help: string, labelNames: string[] = []): void => {
      this.#c[name] = new Counter({ name, help, labelNames, registers: [this.registry] });
    };
    // actors
    counter('qallow_actor_messages_processed_total', 'Messages whose handler returned, per actor', ['actor']);
    gauge('qallow_actor_mailbox_depth', 'Messages accepted and not yet finished, per actor', ['actor']);
    gauge('qallow_actor_mailbox_capacity', 'Mailbox bound, per actor', ['actor']);
    gauge('qallow_actor_processing_time_ms', "Handler time quantiles over the actor's last messages (its own sliding window), ms", ['actor', 'quantile']);
    gauge('qallow_actor_processing_samples', 'Messages in the window the processing-time quantiles are taken over', ['actor']);
    counter('qallow_actor_restarts_total', 'Restarts by the supervisor, per actor', ['actor']);
    counter('qallow_actor_crashes_total', 'Handler failures, per actor', ['actor']);
    counter('qallow_actor_dead_letters_total', 'Messages to a stopped actor or still queued when it stopped', ['actor']);
    counter('qallow_actor_mailbox_full_total', 'Tells refused with MAILBOX_FULL, per actor', ['actor']);
    gauge('qallow_actor_state', '1 for the actor’s current state (running, restarting, stopped)', ['actor', 'state']);
    counter('qallow_unroutable_messages_total', 'Messages addressed to an actor this node never had');
    // runs
    counter('qallow_run_ticks_total', 'Ticks computed (the run’s current tick)', ['run', 'phase']);
    gauge('qallow_run_ticks_planned', 'Ticks the run was started for', ['run', 'phase']);
    gauge('qallow_run_tick_rate', 'Ticks per second over the last 30 s of scrapes (absent until two scrapes)', ['run', 'phase']);
    gauge('qallow_run_epoch', 'Newest checkpointed epoch', ['run', 'phase']);
    gauge('qallow_run_ethics_total', 'E of the last decision: lowest ethics_total over the lanes (NaN if any lane is NaN)', ['run', 'phase']);
    gauge('qallow_run_entropy', 'Entropy figure of the last decision: highest over the lanes', ['run', 'phase']);
    gauge('qallow_run_decision', 'Last ethics decision: 1 pass, 0 fail (absent before the first epoch)', ['run', 'phase']);
    gauge('qallow_run_state', '1 for the run’s current state', ['run', 'phase', 'state', 'backend']);
    // pool
    gauge('qallow_pool_threads', 'Worker threads');
    gauge('qallow_pool_utilization', 'Share of the pool’s capacity spent running tasks (0–1)');
    gauge('qallow_pool_queue_depth', 'Tasks waiting for a worker');
    gauge('qallow_pool_running', 'Tasks running now');
    counter('qallow_pool_tasks_completed_total', 'Tasks completed');
    counter('qallow_pool_tasks_failed_total', 'Tasks failed');
    counter('qallow_pool_worker_crashes_total', 'Workers that died mid-task (replaced)');
    // cluster
    gauge('qallow_cluster_peer_state', '1 for the peer’s current membership state (up, suspect, down), 0 for the others', ['peer', 'state']);
    gauge('qallow_cluster_peer_phi', 'Phi-accrual suspicion of the peer', ['peer']);
    gauge('qallow_cluster_slowdown_factor', 'This host’s slowdown factor against the cluster’s harmonic-mean cycle time');
    gauge('qallow_cluster_harmonic_mean_cycle_ms', 'Cluster harmonic-mean tick cycle time, ms');
    counter('qallow_transport_envelopes_sent_total', 'Envelopes written to the wire');
    counter('qallow_transport_envelopes_received_total', 'Envelopes delivered to handlers');
    counter('qallow_transport_refused_total', 'Connections refused (unknown key or failed handshake)');
    // ledger
    gauge('qallow_ledger_height', 'Committed ledger entries per origin node', ['origin']);
    gauge('qallow_ledger_commit_latency_ms', 'Proposal-to-commit latency quantiles over the ledger’s window, ms', ['quantile']);
    this.#process = init.processMetrics === false ? undefined : processMetricsRegistry();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Refresh every series from the source, then the Prometheus text exposition. */
  async scrape(): Promise<string> {
    this.refresh();
    // Two registries, one exposition: their metric names never overlap. (Registry.merge would drop the node label.)
    const own = await this.registry.metrics();
    return this.#process ? `${own}\n${await this.#process.metrics()}` : own;
  }

  /** Set every series from one snapshot of the source. */
  refresh(): void {
    // reset() leaves a label-less series at 0; remove it too, so a figure the source lacks is absent, not 0.
    for (const m of [...Object.values(this.#g), ...Object.values(this.#c)]) {
      m.reset();
      m.remove({});
    }
    const g = this.#g;
    const c = this.#c;
    const count = (name: string, labels: Record<string, string>, v: number): void => {
      if (Number.isFinite(v) && v >= 0) c[name]!.inc(labels, v);
    };
    const s = this.#source;

    const system = s.actors();
    if (system) {
      for (const a of system.actors) {
        const l = { actor: a.actor };
        count('qallow_actor_messages_processed_total', l, a.processed);
        g['qallow_actor_mailbox_depth']!.set(l, a.mailboxDepth);
        g['qallow_actor_mailbox_capacity']!.set(l, a.mailboxCapacity);
        g['qallow_actor_processing_samples']!.set(l, a.processingSamples);
        if (a.processingSamples > 0) {
          g['qallow_actor_processing_time_ms']!.set({ ...l, quantile: '0.5' }, a.processingP50Ms);
          g['qallow_actor_processing_time_ms']!.set({ ...l, quantile: '0.99' }, a.processingP99Ms);
        }
        count('qallow_actor_restarts_total', l, a.restarts);
        count('qallow_actor_crashes_total', l, a.crashes);
        count('qallow_actor_dead_letters_total', l, a.deadLetters);
        count('qallow_actor_mailbox_full_total', l, a.mailboxFull);
        g['qallow_actor_state']!.set({ ...l, state: a.state }, 1);
      }
      count('qallow_unroutable_messages_total', {}, system.unroutable);
    }

    const now = this.#now();
    const live = new Set<string>();
    for (const r of s.runs()) {
      live.add(r.run);
      const l = { run: r.run, phase: r.phase };
      count('qallow_run_ticks_total', l, r.tick);
      g['qallow_run_ticks_planned']!.set(l, r.ticks);
      const rate = this.#rates.observe(r.run, r.tick, now);
      if (rate !== undefined) g['qallow_run_tick_rate']!.set(l, rate);
      g['qallow_run_epoch']!.set(l, r.epoch);
      g['qallow_run_state']!.set({ ...l, state: r.state, backend: r.backend }, 1);
      const d = r.lastDecision;
      if (d) {
        g['qallow_run_ethics_total']!.set(l, d.minTotal);
        g['qallow_run_entropy']!.set(l, d.maxEntropy);
        g['qallow_run_decision']!.set(l, d.pass ? 1 : 0);
      }
    }
    this.#rates.retain(live);

    const pool = s.pool();
    if (pool) {
      g['qallow_pool_threads']!.set(pool.threads);
      g['qallow_pool_utilization']!.set(pool.utilization);
      g['qallow_pool_queue_depth']!.set(pool.queued);
      g['qallow_pool_running']!.set(pool.running);
      count('qallow_pool_tasks_completed_total', {}, pool.completed);
      count('qallow_pool_tasks_failed_total', {}, pool.failed);
      count('qallow_pool_worker_crashes_total', {}, pool.crashed);
    }

    const cluster = s.cluster();
    if (cluster) {
      for (const m of cluster.members) {
        for (const state of PEER_STATES) g['qallow_cluster_peer_state']!.set({ peer: m.node, state }, m.status === state ? 1 : 0);
        g['qallow_cluster_peer_phi']!.set({ peer: m.node }, m.phi);
      }
      g['qallow_cluster_slowdown_factor']!.set(cluster.slowdownFactor);
      if (cluster.harmonicMeanCycleMs !== null) g['qallow_cluster_harmonic_mean_cycle_ms']!.set(cluster.harmonicMeanCycleMs);
      count('qallow_transport_envelopes_sent_total', {}, cluster.transport.sent);
      count('qallow_transport_envelopes_received_total', {}, cluster.transport.received);
      count('qallow_transport_refused_total', {}, cluster.transport.refused);
    }

    const ledger = s.ledger();
    if (ledger) {
      for (const [origin, height] of Object.entries(ledger.heights())) g['qallow_ledger_height']!.set({ origin }, height);
      const lat = ledger.commitLatencyMs?.();
      if (lat && lat.samples > 0) {
        g['qallow_ledger_commit_latency_ms']!.set({ quantile: '0.5' }, lat.p50);
        g['qallow_ledger_commit_latency_ms']!.set({ quantile: '0.99' }, lat.p99);
      }
    }
  }
}
