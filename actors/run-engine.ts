/**
 * One run's life, without the actor around it: open (fresh or recovered from
 * the store), advance an epoch, checkpoint, decide, repeat. The phase actor
 * (actors/phase.ts) owns one engine and feeds it messages; replay uses the
 * same epoch arithmetic.
 *
 * Epochs: checkpoint epoch 0 is the initial state at tick 0; epoch e covers
 * ticks ((e-1)·E, e·E] for E = epochTicks, the last one ending at the run's
 * last tick (SPEC §3). Each epoch is: compute through the pool, in slices of
 * bounded work (`advance`; between two slices the run can be paused,
 * cancelled or drained), appending each slice's rows to the CSV → ethics
 * decision and governor action (actors/governor.ts) → governance record entry, then the checkpoint (both durable) → carry out
 * the action → record the governance events (actors/governance-hook.ts).
 *
 * Closed loop (SPEC §3): on `rollback` the engine restores the state of the
 * newest good checkpoint (read back from the store, hash verified), sets the
 * adapted couplings of the diverging rings in it, cuts the CSV back to its
 * tick, journals an `adapt` entry per ring and writes that state as a new
 * checkpoint — the next epoch number, the earlier tick — with a `rollback`
 * edge and one `adaptation` edge per ring (replay follows them). The live
 * couplings are part of the state (its `coupling` array, hashed into
 * stateHash), so a restart resumes with them from whichever checkpoint it
 * recovers; `params.couplings` in the run record stays what the run started
 * with. On `halt` the run's state becomes `halted` and it computes no more.
 */
import type { BackendId } from '../kernels/backend.js';
import type { PhaseParams } from '../kernels/params.js';
import type { ComputePool } from '../kernels/pool.js';
import type { RowBlock } from '../kernels/rows.js';
import { Phase12Simulation, Phase13Simulation } from '../kernels/simulation.js';
import { QallowError, isQallowError } from '../runtime/errors.js';
import type { Logger } from '../runtime/logger.js';
import { sealCheckpoint, type CausalEdge, type Checkpoint } from '../runtime/store/checkpoint.js';
import type { SkippedCheckpoint, Store } from '../runtime/store/contract.js';
import type { RunState } from '../runtime/store/run.js';
import { restorePhase12, restorePhase13, snapshotPhase12, snapshotPhase13, stateHash, type StateSnapshot } from '../runtime/store/snapshot.js';
import { CsvSink } from './csv-sink.js';
import { localGovernance, type EpochGovernance, type GovernanceEvent } from './governance-hook.js';
import { GovernorRecord, type GovernorEntry } from './governor-record.js';
import {
  DEFAULT_GOVERNANCE,
  afterRollback,
  carriedOver,
  genesisMemory,
  govern,
  type GovernanceRule,
  type GovernorAction,
  type GovernorMemory,
  type LaneFigures,
} from './governor.js';

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
  /**
   * Most work (pocket-ticks, see tickCost) one pool slice may do: an epoch is
   * computed in slices, and between two slices the run can be paused,
   * cancelled or drained. Default DEFAULT_SLICE_COST.
   */
  readonly sliceCost?: number | undefined;
  readonly store: Store;
  readonly logger: Logger;
  readonly csvPath: string;
  readonly ethics: EthicsRule;
  readonly now?: (() => number) | undefined;
  /** The closed loop's limits (config `governance`); default DEFAULT_GOVERNANCE. */
  readonly governanceRule?: GovernanceRule | undefined;
  /** Where governance events go (the ledger); default: logged only. */
  readonly governance?: EpochGovernance | undefined;
  /** The run's governance record file; default: the CSV path with `.governor` for `.csv`. */
  readonly governorRecordPath?: string | undefined;
}

/** Why a run that would otherwise run is paused: an operator, an unreachable validator quorum, or storage that cannot take a write. */
export type PauseReason = 'admin' | 'quorum' | 'storage';

/**
 * A write the run depends on failed (IO_ERROR: a full disk, EIO). The phase
 * actor reopens the engine from what is stored, marks it with this, and
 * retries with backoff (actors/phase.ts); the run is `paused` for `storage`
 * meanwhile.
 */
export interface StorageFault {
  readonly message: string;
  /** When the first failure of this streak happened (ms since the epoch). */
  readonly since: number;
  /** Failed attempts in a row. */
  readonly attempts: number;
  /** When the next attempt is due (ms since the epoch). */
  readonly retryAt: number;
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

/** Default bound on one slice's work: ≈ 0.07 s on wasm, ≈ 0.7 s on js, for any ring size. */
export const DEFAULT_SLICE_COST = 2 ** 24;
/** Default bound on one epoch's work (config compute.maxEpochCost): N = 2M pockets × 4096 ticks. */
export const DEFAULT_MAX_EPOCH_COST = 2 ** 33;
/** Rows (ticks × lanes) one slice holds at most, so a long epoch of a small run never allocates a huge row block. */
export const MAX_SLICE_ROWS = 2 ** 16;

/** Work of one tick, in pocket-ticks: pockets × rings (phase 13) or strands (phase 12). */
export function tickCost(params: PhaseParams): number {
  return params.phase === 'phase13' ? params.pockets * params.rings : params.eps.length;
}

/** Work of the run's longest epoch, in pocket-ticks. */
export function epochCost(spec: Pick<RunSpec, 'params' | 'epochTicks'>): number {
  return tickCost(spec.params) * Math.min(spec.epochTicks, spec.params.ticks);
}

/** Ticks per slice: as many as fit in `sliceCost` (at least one tick) and in MAX_SLICE_ROWS. */
export function sliceTicks(params: PhaseParams, sliceCost: number): number {
  const lanes = params.phase === 'phase13' ? params.rings : params.eps.length;
  return Math.max(1, Math.min(Math.floor(sliceCost / tickCost(params)), Math.floor(MAX_SLICE_ROWS / lanes)));
}

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

/** The entropy figure of a lane's row: phase 12 entropy, phase 13 normalised energy ê. */
function entropyFigure(params: PhaseParams, row: readonly number[]): number {
  if (params.phase === 'phase12') return row[1]!;
  const e = Math.fround(row[2]! / Math.fround(params.pockets));
  return e < 0 ? 0 : e > 1 ? 1 : e;
}

/** SPEC §3 for one lane's row: total ≥ threshold and entropy figure ≤ entropyMax; NaN fails. */
function rowPasses(params: PhaseParams, row: readonly number[], rule: EthicsRule): boolean {
  return row[6]! >= rule.threshold && entropyFigure(params, row) <= rule.entropyMax;
}

/** SPEC §3: pass ⇔ total ≥ threshold and entropy figure ≤ entropyMax, per lane; NaN fails. */
export function decide(params: PhaseParams, rows: RowBlock, epoch: number, tick: number, rule: EthicsRule): Decision {
  const t = rows.ticks - 1;
  let passed = 0;
  let minTotal = Infinity;
  let maxEntropy = -Infinity;
  for (let j = 0; j < rows.lanes; j++) {
    const row = rows.row(t, j);
    const total = row[6];
    const entropy = entropyFigure(params, row);
    if (rowPasses(params, row, rule)) passed++;
    minTotal = Number.isNaN(total) || Number.isNaN(minTotal) ? NaN : Math.min(minTotal, total);
    maxEntropy = Number.isNaN(entropy) || Number.isNaN(maxEntropy) ? NaN : Math.max(maxEntropy, entropy);
  }
  return { epoch, tick, passed, lanes: rows.lanes, pass: passed === rows.lanes, minTotal, maxEntropy };
}

function allFinite(a: Float32Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!Number.isFinite(a[i]!)) return false;
  return true;
}

/**
 * The governor's per-lane figures at the epoch's last tick: the row's drift
 * (phase 12: entropy), total, C and H, whether the lane passes, and whether
 * the row and the lane's state are all finite.
 */
export function laneFigures(sim: Simulation, rows: RowBlock, rule: EthicsRule): LaneFigures[] {
  const t = rows.ticks - 1;
  const out: LaneFigures[] = [];
  for (let j = 0; j < rows.lanes; j++) {
    const row = rows.row(t, j);
    let finite = row.every((v) => Number.isFinite(v));
    if (finite && sim instanceof Phase13Simulation) {
      const s = sim.state;
      const n = s.pockets;
      finite = allFinite(s.phase[s.parity], j * n, (j + 1) * n) && allFinite(s.coherence[s.parity], j * n, (j + 1) * n) && allFinite(s.history, j, j + 1) && allFinite(s.mean, j, j + 1);
    }
    out.push({ drift: row[1], total: row[6], compassion: row[4], harmony: row[5], finite, pass: rowPasses(sim.params, row, rule) });
  }
  return out;
}

/** The epoch being computed, slice by slice. */
interface EpochInProgress {
  /** Ticks in the whole epoch, and those computed so far. */
  readonly ticks: number;
  done: number;
}

export class RunEngine {
  private sim: Simulation;
  private inProgress: EpochInProgress | null = null;
  private readonly sliceTicks: number;
  private last: Checkpoint;
  private pendingEdges: CausalEdge[] = [];
  /** The state as persisted in the run record (an admin pause included, a quorum pause not). */
  private runState: RunState;
  /** The governor's memory as of `last`. */
  private memory: GovernorMemory;
  /** Governance events not yet recorded, in order. */
  private readonly queue: GovernanceEvent[] = [];
  /** The last record() failed with QUORUM_UNAVAILABLE under onQuorumLoss 'pause'. */
  private quorumBlocked = false;
  /** Set while a failed write keeps the run paused (actors/phase.ts retries). */
  private storage: StorageFault | null = null;
  private readonly rule: GovernanceRule;
  private readonly governance: EpochGovernance;
  readonly csv: CsvSink;
  lastDecision: Decision | null = null;
  /** The governor's action at the newest epoch (null before the first, or with governance disabled it is always continue). */
  lastAction: GovernorAction | null = null;

  private constructor(
    readonly spec: RunSpec,
    private readonly c: RunEngineComponents,
    sim: Simulation,
    last: Checkpoint,
    state: RunState,
    readonly recovered: Recovery | null,
    private readonly record: GovernorRecord,
    memory: GovernorMemory,
  ) {
    this.sim = sim;
    this.last = last;
    this.runState = state;
    this.memory = memory;
    this.rule = c.governanceRule ?? DEFAULT_GOVERNANCE;
    this.sliceTicks = sliceTicks(spec.params, c.sliceCost ?? DEFAULT_SLICE_COST);
    this.governance = c.governance ?? localGovernance(c.logger);
    const lanes = spec.params.phase === 'phase12' ? spec.params.eps.length : spec.params.rings;
    this.csv = new CsvSink(c.csvPath, spec.params.phase, lanes, spec.run);
  }

  private static recordPath(c: RunEngineComponents): string {
    return c.governorRecordPath ?? c.csvPath.replace(/\.csv$/, '') + '.governor';
  }

  /**
   * Open a run: recover it from its newest valid checkpoint if the store has
   * one (reporting and quarantining corrupt newer ones), else start it fresh
   * with a genesis checkpoint at tick 0. A recovered run takes back the
   * governor's memory of that checkpoint, records its governance events again
   * (at least once), and finishes a rollback or halt the crash interrupted.
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
    const governorRecord = new GovernorRecord(RunEngine.recordPath(c), spec.run);
    if (record && rec) {
      for (const s of rec.skipped) log.warn({ run: spec.run, epoch: s.epoch, reason: s.reason }, 'corrupt checkpoint skipped');
      if (rec.skipped.length > 0) await c.store.discardAfter(spec.run, rec.checkpoint.epoch);
      const stored: RunSpec = { run: spec.run, params: record.params, backend: record.backend, epochTicks: record.epochTicks, ...(spec.paced ? { paced: true } : {}) };
      const entry = await RunEngine.recoveredEntry(governorRecord, rec.checkpoint, log);
      const memory = entry?.memory ?? (await RunEngine.memoryFromChain(c.store, rec.checkpoint, log));
      const engine = new RunEngine(stored, c, simulationFrom(c.pool, rec.snapshot), rec.checkpoint, record.state, {
        epoch: rec.checkpoint.epoch,
        tick: rec.checkpoint.tick,
        skipped: rec.skipped,
      }, governorRecord, memory);
      await engine.csv.truncateAfter(rec.checkpoint.tick);
      // Re-apply the journaled commands the checkpoint does not reflect.
      // (`adapt` entries need nothing: the couplings are in the recovered state.)
      for (const { entry: j } of await c.store.journal(spec.run)) {
        if (j.tick < rec.checkpoint.tick) continue;
        if (j.type === 'pause' && engine.runState === 'running') engine.runState = 'paused';
        else if (j.type === 'resume' && engine.runState === 'paused') engine.runState = 'running';
        else if (j.type === 'cancel') engine.runState = 'cancelled';
      }
      log.info({ run: spec.run, epoch: rec.checkpoint.epoch, tick: rec.checkpoint.tick, skipped: rec.skipped.length, state: engine.state }, 'run recovered from checkpoint');
      if (entry) {
        engine.queue.push(...entry.events);
        engine.lastAction = entry.action;
        if (entry.action?.type === 'rollback') await engine.rollback(entry.action);
        else if (entry.action?.type === 'halt' && engine.runState !== 'halted') await engine.halt(entry.action.reason);
      }
      await engine.flush();
      return engine;
    }
    const sim =
      spec.params.phase === 'phase13'
        ? Phase13Simulation.create(c.pool, spec.params, spec.backend)
        : Phase12Simulation.create(c.pool, spec.params, spec.backend);
    await c.store.putRun({ run: spec.run, params: spec.params, backend: spec.backend, epochTicks: spec.epochTicks, state: 'running', ...(spec.paced ? { paced: true } : {}) });
    await c.store.appendJournal(spec.run, { type: 'start', params: spec.params, backend: spec.backend, epochTicks: spec.epochTicks, tick: 0 });
    const snap = snapshotOf(sim, spec);
    const hash = stateHash(snap);
    // A fresh record: anything left under this run id from an earlier life is replaced.
    await governorRecord.put({ epoch: 0, tick: 0, stateHash: hash, memory: genesisMemory(), action: null, events: [] });
    const genesis = sealCheckpoint({ run: spec.run, epoch: 0, tick: 0, stateHash: hash, edges: [], timestamp: (c.now ?? Date.now)() }, null);
    await c.store.putCheckpoint(genesis, snap);
    const engine = new RunEngine(spec, c, sim, genesis, 'running', null, governorRecord, genesisMemory());
    await engine.csv.create();
    log.info({ run: spec.run, phase: spec.params.phase, backend: spec.backend, ticks: spec.params.ticks, epochTicks: spec.epochTicks }, 'run started');
    return engine;
  }

  /** The record's entry for the recovered checkpoint, if it has one. */
  private static async recoveredEntry(record: GovernorRecord, cp: Checkpoint, log: Logger): Promise<GovernorEntry | undefined> {
    try {
      await record.load();
    } catch (e) {
      if (!isQallowError(e, 'STORE_CORRUPT')) throw e;
      log.warn({ run: cp.run, code: e.code, err: e.message }, 'governance record unreadable; the governor rebuilds its memory from the checkpoint chain');
      return undefined;
    }
    return record.entry(cp.epoch, cp.stateHash);
  }

  /**
   * Without a record entry: what the chain itself says. Adaptations are the
   * checkpoints with a rollback edge; the figures of the recovered epoch and
   * the failing streak are unknown, so the recovered checkpoint starts a
   * fresh comparison (it becomes the rollback target, its drift the baseline).
   */
  private static async memoryFromChain(store: Store, cp: Checkpoint, log: Logger): Promise<GovernorMemory> {
    if (cp.epoch === 0) return genesisMemory();
    const chain = await store.listCheckpoints(cp.run);
    const adaptations = chain.filter((k) => k.epoch <= cp.epoch && k.edges.some((e) => e.kind === 'rollback')).length;
    log.warn({ run: cp.run, epoch: cp.epoch, adaptations }, 'no governance record entry for the recovered checkpoint; the governor starts its comparisons afresh from it');
    return { lanes: null, failingEpochs: 0, adaptations, lastGood: { epoch: cp.epoch, tick: cp.tick, lanes: null } };
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

  /** The run's state: the persisted one, except that a running run waiting for the quorum is `paused`. */
  get state(): RunState {
    return (this.quorumBlocked || this.storage) && this.runState === 'running' ? 'paused' : this.runState;
  }

  /** Whether the run computes its next epoch when asked (a method, so callers re-read it after an await). */
  isRunning(): boolean {
    return this.state === 'running';
  }

  get pauseReason(): PauseReason | null {
    if (this.runState === 'paused') return 'admin';
    if (this.runState !== 'running') return null;
    return this.storage ? 'storage' : this.quorumBlocked ? 'quorum' : null;
  }

  /** The failed write that keeps this run paused, if one does. */
  get storageFault(): StorageFault | null {
    return this.storage;
  }

  /** Pause for a failed write (set on an engine just reopened from the store), or clear that to retry. */
  setStorageFault(fault: StorageFault | null): void {
    this.storage = fault;
  }

  /** The governor's memory as of the newest checkpoint (adaptations, failing streak, rollback target). */
  get governor(): GovernorMemory {
    return this.memory;
  }

  /** Live coupling per ring (phase 13; empty for phase 12). */
  get couplings(): number[] {
    return this.sim instanceof Phase13Simulation ? Array.from(this.sim.state.coupling) : [];
  }

  /** Governance events waiting for the quorum. */
  get pendingEvents(): readonly GovernanceEvent[] {
    return this.queue;
  }

  /** Record an admin command for the next checkpoint's causal edges and the journal. */
  async command(type: 'pause' | 'resume' | 'cancel'): Promise<void> {
    await this.c.store.appendJournal(this.spec.run, { type, tick: this.tick });
    this.pendingEdges.push({ kind: 'admin', command: type, tick: this.tick });
    this.runState = type === 'pause' ? 'paused' : type === 'resume' ? 'running' : 'cancelled';
    // A cancelled run computes no more: the rest of its epoch is dropped (its newest checkpoint stands).
    if (type === 'cancel') this.inProgress = null;
    await this.saveState();
  }

  /** An epoch is part-computed: the state is between two checkpoints (a pause or drain came between slices). */
  get midEpoch(): boolean {
    return this.inProgress !== null;
  }

  async saveState(): Promise<void> {
    await this.c.store.putRun({ run: this.spec.run, params: this.spec.params, backend: this.spec.backend, epochTicks: this.spec.epochTicks, state: this.runState, ...(this.spec.paced ? { paced: true } : {}) });
  }

  /**
   * The validator quorum is reachable again (or not): record what waits and,
   * if the run was paused for the quorum only, let it run. Resolves to whether
   * the queue is now empty.
   */
  async quorum(available: boolean): Promise<boolean> {
    if (!available) return this.queue.length === 0;
    await this.flush();
    return this.queue.length === 0;
  }

  /** Advance one whole epoch (slice after slice): see `advance`. */
  async step(): Promise<Decision> {
    for (;;) {
      const d = await this.advance();
      if (d) return d;
    }
  }

  /**
   * Compute the next slice of the epoch in progress (starting one if none
   * is), at most `sliceCost` of work, and append its rows to the CSV; when
   * that completes the epoch, finish it: decision and governor, durable
   * checkpoint, action, governance events. Resolves to the epoch's decision,
   * or null while the epoch is not complete. The kernels are deterministic
   * and the state carries over between calls, so the result is bit for bit
   * that of one call for the whole epoch; the CSV past the newest checkpoint
   * is cut back on recovery, so rows of a part-computed epoch do no harm.
   */
  async advance(): Promise<Decision | null> {
    const p = (this.inProgress ??= { ticks: epochLength(this.spec, this.tick), done: 0 });
    const first = this.tick + 1;
    const n = Math.min(this.sliceTicks, p.ticks - p.done);
    const rows = await this.sim.runEpoch(n);
    await this.csv.append(rows, first);
    p.done += n;
    if (p.done < p.ticks) return null;
    this.inProgress = null;
    return this.finishEpoch(rows);
  }

  private async finishEpoch(rows: RowBlock): Promise<Decision> {
    const epoch = this.last.epoch + 1;
    const d = decide(this.spec.params, rows, epoch, this.tick, this.c.ethics);
    const judged = govern({
      phase: this.spec.params.phase,
      epoch,
      tick: this.tick,
      lanes: laneFigures(this.sim, rows, this.c.ethics),
      couplings: this.couplings,
      memory: this.memory,
      rule: this.rule,
    });
    const action: GovernorAction = this.rule.enabled ? judged.action : { type: 'continue', reason: d.pass ? 'passing' : 'failing' };
    const snap = snapshotOf(this.sim, this.spec);
    const hash = stateHash(snap);
    const events: GovernanceEvent[] = [
      {
        kind: 'ethics_check', run: this.spec.run, epoch, tick: this.tick, stateHash: hash,
        figures: { minTotal: d.minTotal, maxEntropy: d.maxEntropy, passed: d.passed, lanes: d.lanes },
        decision: d.pass ? 'pass' : 'fail',
      },
    ];
    if (action.type === 'halt') events.push({ kind: 'halt', run: this.spec.run, epoch, tick: this.tick, reason: action.reason });
    await this.writeCheckpoint(snap, hash, { memory: judged.memory, action, events });
    this.lastDecision = d;
    this.lastAction = action;
    this.c.logger.info(
      { run: this.spec.run, epoch: d.epoch, tick: d.tick, E: d.minTotal, entropy: d.maxEntropy, passed: d.passed, lanes: d.lanes, decision: d.pass ? 'pass' : 'fail', action: action.type, reason: action.reason, executor: this.executor },
      'epoch',
    );
    if (action.type === 'rollback') await this.rollback(action);
    else if (action.type === 'halt') await this.halt(action.reason);
    if (this.finished && this.runState !== 'halted') {
      this.runState = 'done';
      await this.saveState();
      this.c.logger.info({ run: this.spec.run, epoch: this.last.epoch, tick: this.tick, stateHash: this.last.stateHash }, 'run finished');
    }
    await this.flush();
    return d;
  }

  /**
   * Go back to the newest good checkpoint with the adapted couplings, and
   * checkpoint that as the next epoch with its rollback and adaptation edges.
   */
  private async rollback(action: Extract<GovernorAction, { type: 'rollback' }>): Promise<void> {
    const run = this.spec.run;
    const target = (await this.c.store.listCheckpoints(run)).find((k) => k.epoch === action.toEpoch);
    const snapshot = target ? await this.c.store.getSnapshot(run, target.epoch) : undefined;
    if (!target || !snapshot || stateHash(snapshot) !== target.stateHash) {
      throw new QallowError('CHECKPOINT_CORRUPT', `run ${run}: the rollback target, epoch ${action.toEpoch}, is missing or does not hash to its checkpoint`, { run, epoch: action.toEpoch });
    }
    const sim = simulationFrom(this.c.pool, snapshot);
    if (!(sim instanceof Phase13Simulation)) throw new QallowError('INTERNAL', `run ${run}: only phase 13 runs roll back`, { run });
    const tick = snapshot.tick;
    const { rings, fromCouplings, toCouplings } = action.adaptation;
    rings.forEach((r, i) => (sim.state.coupling[r] = toCouplings[i]!));
    // Write-ahead: the journal says what changed before the checkpoint shows it.
    for (let i = 0; i < rings.length; i++) await this.c.store.appendJournal(run, { type: 'adapt', ring: rings[i]!, coupling: toCouplings[i]!, tick });
    this.sim = sim;
    await this.csv.truncateAfter(tick);
    this.pendingEdges.push({ kind: 'rollback', toEpoch: target.epoch, tick });
    rings.forEach((r, i) => this.pendingEdges.push({ kind: 'adaptation', ring: r, coupling: toCouplings[i]!, tick }));
    const epoch = this.last.epoch + 1;
    const snap = snapshotOf(sim, this.spec);
    const hash = stateHash(snap);
    const events: GovernanceEvent[] = [
      { kind: 'rollback', run, epoch, tick, stateHash: hash, toEpoch: target.epoch, reason: action.reason },
      { kind: 'adaptation', run, epoch, tick, rings, fromCouplings, toCouplings },
    ];
    await this.writeCheckpoint(snap, hash, { memory: afterRollback(this.memory, epoch, tick), action: null, events });
    this.c.logger.warn({ run, epoch, tick, toEpoch: target.epoch, reason: action.reason, rings, fromCouplings, toCouplings, adaptations: this.memory.adaptations }, 'rollback with adaptation');
  }

  private async halt(reason: string): Promise<void> {
    this.runState = 'halted';
    await this.saveState();
    this.c.logger.warn({ run: this.spec.run, epoch: this.last.epoch, tick: this.tick, reason }, 'run halted');
  }

  /** Record queued governance events in order; stop at the first QUORUM_UNAVAILABLE. */
  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      try {
        await this.governance.record(this.queue[0]!);
      } catch (e) {
        if (!isQallowError(e, 'QUORUM_UNAVAILABLE')) throw e;
        const pause = this.rule.onQuorumLoss === 'pause';
        if (pause && !this.quorumBlocked) {
          this.c.logger.warn({ run: this.spec.run, epoch: this.last.epoch, tick: this.tick, pending: this.queue.length, err: e.message }, 'validator quorum unavailable: run paused at the epoch boundary');
        } else if (!pause) {
          this.c.logger.warn({ run: this.spec.run, epoch: this.last.epoch, pending: this.queue.length, err: e.message }, 'validator quorum unavailable: governance events queued, run continues');
        }
        this.quorumBlocked = pause;
        return;
      }
      this.queue.shift();
    }
    if (this.quorumBlocked) this.c.logger.info({ run: this.spec.run, epoch: this.last.epoch, tick: this.tick }, 'validator quorum back: governance events recorded, run resumes');
    this.quorumBlocked = false;
  }

  /** Checkpoint the current state unless it already is (a checkpoint is always at an epoch boundary). */
  async checkpointNow(): Promise<Checkpoint> {
    if (this.inProgress) throw new QallowError('INTERNAL', `run ${this.spec.run}: no checkpoint in the middle of an epoch (tick ${this.tick}); ask again at its end`, { run: this.spec.run, tick: this.tick });
    if (this.last.tick === this.tick && this.pendingEdges.length === 0) return this.last;
    const snap = snapshotOf(this.sim, this.spec);
    const epoch = this.last.epoch + 1;
    await this.writeCheckpoint(snap, stateHash(snap), { memory: carriedOver(this.memory, this.last.epoch, epoch, this.tick), action: null, events: [] });
    return this.last;
  }

  /** Governance record entry, then the checkpoint (with the pending edges), then queue its events. */
  private async writeCheckpoint(snap: StateSnapshot, hash: string, g: Pick<GovernorEntry, 'memory' | 'action' | 'events'>): Promise<void> {
    const epoch = this.last.epoch + 1;
    await this.record.put({ epoch, tick: snap.tick, stateHash: hash, ...g });
    const c = sealCheckpoint({ run: this.spec.run, epoch, tick: snap.tick, stateHash: hash, edges: this.pendingEdges, timestamp: (this.c.now ?? Date.now)() }, this.last);
    await this.c.store.putCheckpoint(c, snap);
    this.pendingEdges = [];
    this.last = c;
    this.memory = g.memory;
    this.queue.push(...g.events);
    this.c.logger.info({ run: this.spec.run, epoch: c.epoch, tick: c.tick, stateHash: c.stateHash }, 'checkpoint');
  }
}
