/**
 * What the demo knows about each run, read from its host's log lines as
 * they arrive ('run started', 'epoch', 'rollback with adaptation', 'run
 * recovered from checkpoint', 'run finished', 'run halted'): progress for the
 * terminal, and throughput for the summary.
 *
 * Throughput counts the pocket updates the run actually computed (epochs
 * undone by a rollback included, since they were computed) over the wall
 * time of its epochs: from the run's start, or its recovery after a restart,
 * to each epoch's log line, so the time a killed host was down is not
 * counted. An epoch's time includes its checkpoint and its ethics check.
 */
import type { LogLine } from './log-tail.js';
import { lanesWidth, type RunStep } from './plan.js';

export type RunPhaseState = 'waiting' | 'running' | 'done' | 'halted' | 'host down';

export interface RunProgress {
  readonly step: RunStep;
  readonly host: string;
  state: RunPhaseState;
  tick: number;
  epoch: number;
  /** Lowest E over the lanes at the last epoch, and whether it passed. */
  lastE: number | null;
  lastDecision: 'pass' | 'fail' | null;
  lastAction: string | null;
  rollbacks: number;
  adaptations: number;
  couplings: readonly number[];
  recoveredAt: { epoch: number; tick: number } | null;
  /** Pocket (or strand) updates computed, and the wall time they took. */
  updates: number;
  busyMs: number;
  /** Time of the last line that started or closed a stretch of computing. */
  mark: number | null;
}

export type RunEvent =
  | { readonly type: 'started'; readonly run: RunProgress }
  | { readonly type: 'epoch'; readonly run: RunProgress }
  | { readonly type: 'rollback'; readonly run: RunProgress; readonly toEpoch: number; readonly reason: string; readonly from: readonly number[]; readonly to: readonly number[] }
  | { readonly type: 'recovered'; readonly run: RunProgress; readonly epoch: number; readonly tick: number }
  | { readonly type: 'finished'; readonly run: RunProgress }
  | { readonly type: 'halted'; readonly run: RunProgress; readonly reason: string };

function timeOf(l: LogLine): number {
  const t = l['time'];
  return typeof t === 'number' ? t : Date.parse(String(t));
}

function numbers(v: unknown): number[] {
  return Array.isArray(v) ? v.map(Number) : [];
}

export class RunTracker {
  readonly runs = new Map<string, RunProgress>();
  private readonly listeners = new Set<(e: RunEvent) => void>();

  /** A run the scenario is about to start on `host`. */
  expect(step: RunStep, host: string): RunProgress {
    const p: RunProgress = {
      step,
      host,
      state: 'waiting',
      tick: 0,
      epoch: 0,
      lastE: null,
      lastDecision: null,
      lastAction: null,
      rollbacks: 0,
      adaptations: 0,
      couplings: step.phase === 'phase13' ? step.couplings : [],
      recoveredAt: null,
      updates: 0,
      busyMs: 0,
      mark: null,
    };
    this.runs.set(step.id, p);
    return p;
  }

  on(listener: (e: RunEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: RunEvent): void {
    for (const l of this.listeners) l(e);
  }

  /** The host of `host`'s runs went away (killed). */
  hostDown(host: string): void {
    for (const r of this.runs.values()) if (r.host === host && r.state === 'running') r.state = 'host down';
  }

  /** Feed one line of `host`'s log. */
  line(host: string, l: LogLine): void {
    const id = l['run'];
    if (typeof id !== 'string') return;
    const r = this.runs.get(id);
    if (!r || r.host !== host) return;
    const t = timeOf(l);
    switch (l.msg) {
      case 'run started':
        r.state = 'running';
        r.mark = t;
        this.emit({ type: 'started', run: r });
        return;
      case 'run recovered from checkpoint': {
        r.state = String(l['state']) === 'running' ? 'running' : r.state;
        r.tick = Number(l['tick']);
        r.epoch = Number(l['epoch']);
        r.recoveredAt = { epoch: r.epoch, tick: r.tick };
        r.mark = t;
        this.emit({ type: 'recovered', run: r, epoch: r.epoch, tick: r.tick });
        return;
      }
      case 'epoch': {
        const tick = Number(l['tick']);
        r.updates += Math.max(0, tick - r.tick) * lanesWidth(r.step);
        if (r.mark !== null) r.busyMs += Math.max(0, t - r.mark);
        r.mark = t;
        r.tick = tick;
        r.epoch = Number(l['epoch']);
        r.lastE = l['E'] === null ? NaN : Number(l['E']);
        r.lastDecision = l['decision'] === 'pass' ? 'pass' : 'fail';
        r.lastAction = typeof l['action'] === 'string' ? l['action'] : null;
        this.emit({ type: 'epoch', run: r });
        return;
      }
      case 'rollback with adaptation': {
        r.rollbacks++;
        r.adaptations = Number(l['adaptations'] ?? r.adaptations + 1);
        r.tick = Number(l['tick']);
        r.epoch = Number(l['epoch']);
        const from = numbers(l['fromCouplings']);
        const to = numbers(l['toCouplings']);
        const rings = numbers(l['rings']);
        const next = [...r.couplings];
        rings.forEach((ring, i) => (next[ring] = to[i] ?? next[ring]!));
        r.couplings = next;
        this.emit({ type: 'rollback', run: r, toEpoch: Number(l['toEpoch']), reason: String(l['reason'] ?? ''), from, to });
        return;
      }
      case 'run finished':
        r.state = 'done';
        this.emit({ type: 'finished', run: r });
        return;
      case 'run halted':
        r.state = 'halted';
        this.emit({ type: 'halted', run: r, reason: String(l['reason'] ?? '') });
        return;
      default:
        return;
    }
  }

  /** Pocket updates per second while computing, or null before the first epoch. */
  static throughput(r: RunProgress): number | null {
    return r.busyMs > 0 ? (r.updates * 1000) / r.busyMs : null;
  }
}
