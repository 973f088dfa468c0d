/**
 * What the metrics collector reads, and nothing more: plain snapshots a host
 * hands in as getters, so the collector never imports the Host and a test can
 * feed it fixed figures. Every getter is called once per scrape and must be
 * cheap and synchronous (no store reads on the scrape path).
 */
import type { Decision } from '../../actors/run-engine.js';
import type { ComputePoolStats } from '../../kernels/pool.js';
import type { SystemMetrics } from '../actors/metrics.js';
import type { PeerView } from '../cluster/membership.js';
import type { TransportStats } from '../transport/contract.js';

/** One run as the host last saw it (a subset of actors/phase.ts RunStatus). */
export interface RunSample {
  readonly run: string;
  readonly phase: 'phase12' | 'phase13';
  readonly state: string;
  readonly tick: number;
  readonly ticks: number;
  readonly epoch: number;
  readonly backend: string;
  readonly lastDecision: Decision | null;
}

/** The cluster as this host sees it (a subset of runtime/cluster/service.ts ClusterStatus). */
export interface ClusterSample {
  readonly members: readonly PeerView[];
  readonly transport: TransportStats;
  readonly harmonicMeanCycleMs: number | null;
  readonly slowdownFactor: number;
}

export interface LatencyQuantiles {
  readonly p50: number;
  readonly p99: number;
  /** Observations the quantiles were taken over. */
  readonly samples: number;
}

/**
 * What the governance ledger may report. Optional as a whole: a host without
 * a ledger passes none and the ledger series are left out.
 */
export interface LedgerMetricsSource {
  /** Committed entries per origin node. */
  heights(): Readonly<Record<string, number>>;
  /** Proposal-to-commit latency over the ledger's own window, ms. */
  commitLatencyMs?(): LatencyQuantiles | undefined;
}

export interface MetricsSource {
  readonly node: string;
  actors(): SystemMetrics | null;
  pool(): ComputePoolStats | null;
  runs(): readonly RunSample[];
  cluster(): ClusterSample | null;
  ledger(): LedgerMetricsSource | undefined;
}

export interface ReadinessReport {
  readonly ready: boolean;
  /** Why not, one phrase per missing piece (empty when ready). */
  readonly reasons: readonly string[];
}
