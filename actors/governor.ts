/**
 * The governor of SPEC §3 "Closed loop": a pure function from one epoch's
 * figures (and what it remembers of the epochs before) to one action. The
 * run engine (actors/run-engine.ts) carries out the action; nothing here
 * touches the state, the store or the clock, so every rule is unit-tested on
 * its own (test/governor-rules.test.ts) and a restarted host that hands in
 * the same memory decides the same.
 *
 * Classification, per lane (a ring in phase 13, a strand in phase 12), at
 * the epoch's last tick:
 *
 * - **diverging** (phase 13 only) when any of:
 *   1. a figure of the lane's last row (A, D, E, S, C, H, total) or a value
 *      of the lane's state (phases, coherences, drift history, mean) is not
 *      finite — `non-finite`;
 *   2. C (compassion = clamp(1 − drift)) or H (harmony = clamp(1 − ê)) is
 *      exactly 0, i.e. drift ≥ 1 or ê ≥ 1 — `clamped`;
 *   3. the drift is strictly higher than the same lane's drift at the
 *      previous checkpoint — `drift rising`. There is no previous figure at
 *      genesis, so epoch 1 is judged by rules 1 and 2 only. (A stable ring's
 *      drift only falls: damping and alignment both shrink deviations; with
 *      k = 0 it stays exactly equal, which is not rising.)
 * - otherwise **passing** when the lane meets the ethics rule (run-engine
 *   `decide`), else **failing**; a failing lane whose total rose since the
 *   previous checkpoint is *converging* (reported, treated like failing).
 *
 * Phase 12 has no coupling to adapt and its recurrence is clamped, so it is
 * never classified diverging: only pass/fail counts.
 *
 * Action for the epoch, first rule that applies:
 *
 * 1. the epoch passes (every lane passes) → `continue` (`passing`); the
 *    count of consecutive failing epochs goes back to 0;
 * 2. otherwise the epoch is failing and counts: when this makes
 *    `maxFailingEpochs` consecutive failing epochs → `halt`
 *    (`max failing epochs`);
 * 3. some lane diverges and the run has already made `maxAdaptations`
 *    adaptations → `halt` (`max adaptations`);
 * 4. some lane diverges → `rollback` to the newest checkpoint whose state was
 *    finite and not diverging (`memory.lastGood`), with an adaptation that
 *    multiplies each diverging ring's coupling by `adaptationFactor`
 *    (float32, like every coupling); lanes that do not diverge keep theirs;
 * 5. otherwise → `continue` (`converging` when every failing lane's total
 *    rose, else `failing`).
 *
 * With `enabled: false` the engine does not consult the governor at all
 * (every epoch continues; the figures are still checked and recorded).
 */

export interface GovernanceRule {
  readonly enabled: boolean;
  readonly maxFailingEpochs: number;
  readonly maxAdaptations: number;
  readonly adaptationFactor: number;
  readonly onQuorumLoss: 'pause' | 'continue';
}

export const DEFAULT_GOVERNANCE: GovernanceRule = {
  enabled: true,
  maxFailingEpochs: 50,
  maxAdaptations: 5,
  adaptationFactor: 0.5,
  onQuorumLoss: 'pause',
};

/** One lane's figures at an epoch's last tick. */
export interface LaneFigures {
  readonly drift: number;
  readonly total: number;
  readonly compassion: number;
  readonly harmony: number;
  /** Every figure of the row and every value of the lane's state is finite. */
  readonly finite: boolean;
  /** The lane meets the ethics rule. */
  readonly pass: boolean;
}

/** What the governor keeps of a checkpoint's lanes to compare the next epoch with. */
export interface LaneMemory {
  readonly drift: number;
  readonly total: number;
}

/** A checkpoint the run may roll back to: its state was finite and not diverging. */
export interface GoodCheckpoint {
  readonly epoch: number;
  readonly tick: number;
  /** Its lanes' figures (null for genesis, which has none). */
  readonly lanes: readonly LaneMemory[] | null;
}

/** The governor's memory as of the run's newest checkpoint (persisted with it). */
export interface GovernorMemory {
  /** Figures of the newest checkpoint's lanes; null at genesis. */
  readonly lanes: readonly LaneMemory[] | null;
  /** Consecutive failing epochs up to the newest checkpoint. */
  readonly failingEpochs: number;
  /** Adaptations made in the run so far. */
  readonly adaptations: number;
  readonly lastGood: GoodCheckpoint;
}

export type DivergenceReason = 'non-finite' | 'clamped' | 'drift rising';

export interface Adaptation {
  readonly rings: readonly number[];
  readonly fromCouplings: readonly number[];
  readonly toCouplings: readonly number[];
}

export type GovernorAction =
  | { readonly type: 'continue'; readonly reason: 'passing' | 'converging' | 'failing' }
  | {
      readonly type: 'rollback';
      readonly toEpoch: number;
      readonly toTick: number;
      /** Why, per diverging ring, e.g. "ring 0: clamped". */
      readonly reason: string;
      readonly adaptation: Adaptation;
    }
  | { readonly type: 'halt'; readonly reason: string };

export interface GovernorInput {
  readonly phase: 'phase12' | 'phase13';
  readonly epoch: number;
  readonly tick: number;
  readonly lanes: readonly LaneFigures[];
  /** Live coupling per ring (phase 13; empty for phase 12). */
  readonly couplings: readonly number[];
  readonly memory: GovernorMemory;
  readonly rule: GovernanceRule;
}

export interface GovernorOutput {
  readonly action: GovernorAction;
  /**
   * The memory as of this epoch's checkpoint. For a rollback, the engine
   * derives the memory of the rolled-back-to checkpoint with `afterRollback`.
   */
  readonly memory: GovernorMemory;
  /** Per lane: why it diverges, or null. */
  readonly divergence: ReadonlyArray<DivergenceReason | null>;
}

/** The memory of a run at its genesis checkpoint. */
export function genesisMemory(): GovernorMemory {
  return { lanes: null, failingEpochs: 0, adaptations: 0, lastGood: { epoch: 0, tick: 0, lanes: null } };
}

/** Why a lane diverges (rules 1–3 above), or null. */
export function divergence(phase: 'phase12' | 'phase13', lane: LaneFigures, before: LaneMemory | undefined): DivergenceReason | null {
  if (phase !== 'phase13') return null;
  if (!lane.finite) return 'non-finite';
  if (lane.compassion === 0 || lane.harmony === 0) return 'clamped';
  if (before !== undefined && lane.drift > before.drift) return 'drift rising';
  return null;
}

function laneMemory(lanes: readonly LaneFigures[]): LaneMemory[] {
  return lanes.map((l) => ({ drift: l.drift, total: l.total }));
}

export function govern(input: GovernorInput): GovernorOutput {
  const { phase, epoch, tick, lanes, memory, rule } = input;
  const before = memory.lanes;
  const why = lanes.map((l, j) => divergence(phase, l, before?.[j]));
  const diverging = why.some((w) => w !== null);
  const passing = lanes.every((l) => l.pass);
  const figures = laneMemory(lanes);
  const failingEpochs = passing ? 0 : memory.failingEpochs + 1;
  const lastGood: GoodCheckpoint = diverging ? memory.lastGood : { epoch, tick, lanes: figures };
  const next: GovernorMemory = { lanes: figures, failingEpochs, adaptations: memory.adaptations, lastGood };
  const out = (action: GovernorAction): GovernorOutput => ({ action, memory: next, divergence: why });

  if (passing) return out({ type: 'continue', reason: 'passing' });
  if (failingEpochs >= rule.maxFailingEpochs) {
    return out({ type: 'halt', reason: `max failing epochs: ${failingEpochs} consecutive failing epochs (governance.maxFailingEpochs ${rule.maxFailingEpochs})` });
  }
  if (diverging) {
    const described = why.flatMap((w, j) => (w === null ? [] : [`ring ${j}: ${w}`])).join(', ');
    if (memory.adaptations >= rule.maxAdaptations) {
      return out({ type: 'halt', reason: `max adaptations: diverging again (${described}) after ${memory.adaptations} adaptation(s) (governance.maxAdaptations ${rule.maxAdaptations})` });
    }
    const rings = why.flatMap((w, j) => (w === null ? [] : [j]));
    const fromCouplings = rings.map((r) => input.couplings[r]!);
    const toCouplings = fromCouplings.map((k) => Math.fround(k * rule.adaptationFactor));
    return out({
      type: 'rollback',
      toEpoch: memory.lastGood.epoch,
      toTick: memory.lastGood.tick,
      reason: described,
      adaptation: { rings, fromCouplings, toCouplings },
    });
  }
  const converging = before !== null && lanes.every((l, j) => l.pass || l.total > before[j]!.total);
  return out({ type: 'continue', reason: converging ? 'converging' : 'failing' });
}

/**
 * The memory of the checkpoint a rollback writes (the rolled-back-to state
 * with the adaptation applied, at a new epoch): the target's figures, one more
 * adaptation, and itself as the newest good checkpoint. The failing count
 * carries on: a rollback does not undo the epochs that failed.
 */
export function afterRollback(memory: GovernorMemory, epoch: number, tick: number): GovernorMemory {
  const lanes = memory.lastGood.lanes;
  return { lanes, failingEpochs: memory.failingEpochs, adaptations: memory.adaptations + 1, lastGood: { epoch, tick, lanes } };
}

/**
 * The memory of an extra checkpoint of the same state (an operator's
 * `checkpoint take`, an admin edge): nothing changes but the newest good
 * checkpoint, which moves to it when the state it copies was good.
 */
export function carriedOver(memory: GovernorMemory, previousEpoch: number, epoch: number, tick: number): GovernorMemory {
  const good = memory.lastGood.epoch === previousEpoch;
  return good ? { ...memory, lastGood: { epoch, tick, lanes: memory.lastGood.lanes } } : memory;
}
