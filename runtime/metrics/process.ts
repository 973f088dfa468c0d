/**
 * Node's default process metrics (CPU, memory, event-loop lag, GC, handles)
 * from prom-client, registered once per process in a registry of their own
 * and merged into every host's exposition. Once, because prom-client starts
 * an event-loop monitor and a GC observer per call and never stops them: one
 * call per host would leak them when tests start many hosts. Created on first
 * use, never on import.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';

let shared: Registry | undefined;

export function processMetricsRegistry(): Registry {
  if (!shared) {
    shared = new Registry();
    collectDefaultMetrics({ register: shared });
  }
  return shared;
}
