/**
 * One run's life, without the actor around it: open (fresh or recovered from
 * the store), advance an epoch, checkpoint, decide, repeat. The phase actor
 * (actors/phase.ts) owns one engine and feeds it messages; replay uses the
 * same epoch arithmetic.
 *
 * Epochs: checkpoint epoch 0 is the initial state at tick 0; epoch e covers
 * ticks ((e-1)·E, e·E] for E = epochTicks, the last one ending at the run's
 * last tick (SPEC §3). Each epoch is: compute through the pool → append its
 * rows to the CSV → write the checkpoint (durable) → ethics decision.
 */
import type { BackendId } from '../kernels/backend.js';
import type { PhaseParams } from '../kernels/params.js';
import type { ComputePool } from '../kernels/pool.js';
import type { RowBlock } from '../kernels/rows.js';
import { Phase12Simulation, Phase13Simulation } from '../kernels/simulation.js';
import { isQallowError } from '../runtime/errors.js';
import type { Logger } from '../runtime/logger.js';
import { sealCheckpoint, type CausalEdge, type Checkpoint } from '../runtime/store/checkpoint.js';
import type { SkippedCheckpoint, Store } from '../runtime/store/contract.js';
import type { RunState } from '../runtime/store/run.js';
import { restorePhase12, restorePhase13, snapshotPhase12, snapshotPhase13, stateHash, type StateSnapshot } from '../runtime/store/snapshot.js';
import { CsvSink } from './csv-sink.js';

export interface EthicsRule {
  readonly threshold: number;
  readonly entropyMax: number;
}

export interface RunSpec {
  readonly run: string;
  readonly params: PhaseParams;
  readonly backend: BackendId;
  readonly epochTicks: number;
  /** Cluster pacing (SPEC §6; runtime/cluster/pacer.ts); kept in the run record. */
  readonly paced?: boolean | undefined;
}

export interface RunEngineComponents {
  readonly pool: ComputePool;
  readonly store: Store;
  readonly logger: Logger;
  readonly csvPath: string;
  readonly ethics: EthicsRule;
  readonly now?: (() => number) | undefined;
}

export interface Decision {
  readonly epoch: number;
  readonly tick: number;
  /** Lanes (strands or rings) that pass; the epoch passes when all do. */
  readonly passed: number;
  readonly lanes: number;
  readonly pass: boolean;
  /** Lowest total and highest entropy figure over the lanes (NaN if any is NaN). */
  readonly minTotal: number;
  readonly maxEntropy: number;
}

export interface Recovery {
  readonly epoch: number;
  readonly tick: number;
  readonly skipped: readonly SkippedCheckpoint[];
}

type Simulation = Phase12Simulation | Phase13Simulation;

/** Ticks in epoch `e` (1-based) of a run. */
export function epochLength(spec: Pick<RunSpec, 'params' | 'epochTicks'>, startTick: number): number {
  return Math.min(spec.epochTicks, spec.params.ticks - startTick);
}

export function snapshotOf(sim: Simulation, spec: RunSpec): StateSnapshot {
  return sim instanceof Phase13Simulation
    ? snapshotPhase13(sim.state, sim.params, spec.backend)
    : snapshotPhase12(sim.state, sim.params, spec.backend);
}

export function simulationFrom(pool: ComputePool, snapshot: StateSnapshot): Simulation {
  return snapshot.phase === 'phase13'
    ? Phase13Simulation.resume(pool, snapshot.params, snapshot.backend, restorePhase13(snapshot))
    : Phase12Simulation.resume(pool, snapshot.params, snapshot.backend, restorePhase12(snapshot));
}

/** SPEC §3: pass ⇔ total ≥ threshold and entropy figure ≤ entropyMax, per lane; NaN fails. */
export function decide(params: PhaseParams, rows: RowBlock, epoch: number, tick: number, rule: EthicsRule): Decision {
  const t = rows.ticks - 1;
  let passed = 0;
  let minTotal = Infinity;
  let maxEntropy = -Infinity;
  for (let j = 0; j < rows.lanes; j++) {
    const [, b, c, , , , total] = rows.row(t, j);
    let entropy: number;
    if (params.phase === 'phase12') {
      entropy = b;
    } else {
      const e = Math.fround(c / Math.fround(params.pockets));
      entropy = e < 0 ? 0 : e > 1 ? 1 : e;
    }
    if (total >= rule.threshold && entropy <= rule.entropyMax) passed++;
    minTotal = Number.isNaN(total) || Number.isNaN(minTotal) ? NaN : Math.min(minTotal, total);
    maxEntropy = Number.isNaN(entropy) || Number.isNaN(maxEntropy) ? NaN : Math.max(maxEntropy, entropy);
  }
  return { epoch, tick, passed, lanes: rows.lanes, pass: passed === rows.lanes, minTotal, maxEntropy };
}

export class RunEngine {
  private sim: Simulation;
  private last: Checkpoint;
  private pendingEdges: CausalEdge[] = [];
  readonly csv: CsvSink;
  lastDecision: Decision | null = null;
  state: RunState;

  private constructor(
    readonly spec: RunSpec,
    private readonly c: RunEngineComponents,
    sim: Simulation,
    last: Checkpoint,
    state: RunState,
    readonly recovered: Recovery | null,
  ) {
    this.sim = sim;
    this.last = last;
    this.state = state;
    const lanes = spec.params.phase === 'phase12' ? spec.params.eps.length : spec.params.rings;
    this.csv = new CsvSink(c.csvPath, spec.params.phase, lanes, spec.run);
  }

  /**
   * Open a run: recover it from its newest valid checkpoint if the store has
   * one (reporting and quarantining corrupt newer ones), else start it fresh
   * with a genesis checkpoint at tick 0.
   */
  static async open(spec: RunSpec, c: RunEngineComponents): Promise<RunEngine> {
    const log = c.logger;
    const record = await c.store.getRun(spec.run);
    // One scan: latestValidCheckpoint says CHECKPOINT_NOT_FOUND when there is none.
    const rec = record
      ? await c.store.latestValidCheckpoint(spec.run).catch((e: unknown) => {
          if (isQallowError(e, 'CHECKPOINT_NOT_FOUND')) return undefined;
          throw e;
        })
      : undefined;
    if (record && rec) {
      for (const s of rec.skipped) log.warn({ run: spec.run, epoch: s.epoch, reason: s.reason }, 'corrupt checkpoint skipped');
      if (rec.skipped.length > 0) await c.store.discardAfter(spec.run, rec.checkpoint.epoch);
      const stored: RunSpec = { run: spec.run, params: record.params, backend: record.backend, epochTicks: record.epochTicks, paced: record.paced === true };
      const engine = new RunEngine(stored, c, simulationFrom(c.pool, rec.snapshot), rec.checkpoint, record.state, {
        epoch: rec.checkpoint.epoch,
        tick: rec.checkpoint.tick,
        skipped: rec.skipped,
      });
      await engine.csv.truncateAfter(rec.checkpoint.tick);
      // Re-apply the journaled commands the checkpoint does not reflect.
      for (const { entry } of await c.store.journal(spec.run)) {
        if (entry.tick < rec.checkpoint.tick) continue;
        if (entry.type === 'pause' && engine.state === 'running') engine.state = 'paused';
        else if (entry.type === 'resume' && engine.state === 'paused') engine.state = 'running';
        else if (entry.type === 'cancel') engine.state = 'cancelled';
      }
      log.info({ run: spec.run, epoch: rec.checkpoint.epoch, tick: rec.checkpoint.tick, skipped: rec.skipped.length, state: engine.state }, 'run recovered from checkpoint');
      return engine;
    }
    const sim =
      spec.params.phase === 'phase13'
        ? Phase13Simulation.create(c.pool, spec.params, spec.backend)
        : Phase12Simulation.create(c.pool, spec.params, spec.backend);
    await c.store.putRun({ run: spec.run, params: spec.params, backend: spec.backend, epochTicks: spec.epochTicks, state: 'running', ...(spec.paced ? { paced: true } : {}) });
    await c.store.appendJournal(spec.run, { type: 'start', params: spec.params, backend: spec.backend, epochTicks: spec.epochTicks, tick: 0 });
    const snap = snapshotOf(sim, spec);
    const genesis = sealCheckpoint({ run: spec.run, epoch: 0, tick: 0, stateHash: stateHash(snap), edges: [], timestamp: (c.now ?? Date.now)() }, null);
    await c.store.putCheckpoint(genesis, snap);
    const engine = new RunEngine(spec, c, sim, genesis, 'running', null);
    await engine.csv.create();
    log.info({ run: spec.run, phase: spec.params.phase, backend: spec.backend, ticks: spec.params.ticks, epochTicks: spec.epochTicks }, 'run started');
    return engine;
  }

  get tick(): number {
    return this.sim.tick;
  }

  get epoch(): number {
    return this.last.epoch;
  }

  get checkpoint(): Checkpoint {
    return this.last;
  }

  get finished(): boolean {
    return this.sim.tick >= this.spec.params.ticks;
  }

  get executor(): string {
    return this.sim.lastRun.executor;
  }

  /** Record an admin command for the next checkpoint's causal edges and the journal. */
  async command(type: 'pause' | 'resume' | 'cancel'): Promise<void> {
    await this.c.store.appendJournal(this.spec.run, { type, tick: this.tick });
    this.pendingEdges.push({ kind: 'admin', command: type, tick: this.tick });
    this.state = type === 'pause' ? 'paused' : type === 'resume' ? 'running' : 'cancelled';
    await this.saveState();
  }

  async saveState(): Promise<void> {
    await this.c.store.putRun({ run: this.spec.run, params: this.spec.params, backend: this.spec.backend, epochTicks: this.spec.epochTicks, state: this.state, ...(this.spec.paced ? { paced: true } : {}) });
  }

  /** Advance one epoch: compute, CSV, durable checkpoint, decision. */
  async step(): Promise<Decision> {
    const first = this.tick + 1;
    const ticks = epochLength(this.spec, this.tick);
    const rows = await this.sim.runEpoch(ticks);
    await this.csv.append(rows, first);
    await this.checkpointNow();
    const d = decide(this.spec.params, rows, this.last.epoch, this.tick, this.c.ethics);
    this.lastDecision = d;
    this.c.logger.info(
      { run: this.spec.run, epoch: d.epoch, tick: d.tick, E: d.minTotal, entropy: d.maxEntropy, passed: d.passed, lanes: d.lanes, decision: d.pass ? 'pass' : 'fail', executor: this.executor },
      'epoch',
    );
    if (this.finished) {
      this.state = 'done';
      await this.saveState();
      this.c.logger.info({ run: this.spec.run, epoch: d.epoch, tick: d.tick, stateHash: this.last.stateHash }, 'run finished');
    }
    return d;
  }

  /** Checkpoint the current state unless it already is (a checkpoint is always at an epoch boundary). */
  async checkpointNow(): Promise<Checkpoint> {
    if (this.last.tick === this.tick && this.pendingEdges.length === 0) return this.last;
    const snap = snapshotOf(this.sim, this.spec);
    const c = sealCheckpoint(
      { run: this.spec.run, epoch: this.last.epoch + 1, tick: this.tick, stateHash: stateHash(snap), edges: this.pendingEdges, timestamp: (this.c.now ?? Date.now)() },
      this.last,
    );
    await this.c.store.putCheckpoint(c, snap);
    this.pendingEdges = [];
    this.last = c;
    this.c.logger.info({ run: this.spec.run, epoch: c.epoch, tick: c.tick, stateHash: c.stateHash }, 'checkpoint');
    return c;
  }
}

