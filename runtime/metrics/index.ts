export type { ClusterSample, LatencyQuantiles, LedgerMetricsSource, MetricsSource, ReadinessReport, RunSample } from './contract.js';
export { HostCollector, type HostCollectorInit, type HostCollectorComponents } from './collector.js';
export { MetricsServer, type MetricsServerInit, type MetricsServerComponents } from './server.js';
export { Readiness } from './readiness.js';
export { RateTracker } from './rate.js';
export { httpUrl, parseHttpBind, type HttpBind } from './bind.js';
export { parseExposition, sampleValue, type Sample } from './exposition.js';
