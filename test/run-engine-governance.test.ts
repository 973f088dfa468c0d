/**
 * The closed loop in the run engine (SPEC §3), on real LMDB and a real pool:
 * a phase 13 ring of 64 pockets at k = 0.01 diverges (C and H clamp to 0
 * within 20 ticks, NaN at tick 278 — see `qallow simulate phase13 --pockets
 * 64 --ticks 400 --coupling 0.01`); the governor rolls it back to genesis
 * with the coupling halved to 0.005, where it converges and passes from tick
 * 194, so the run ends on passing epochs. Without the loop it ends in NaN;
 * with maxAdaptations 0 it halts. Replay follows the rollback and adaptation
 * edges bit for bit, and a restart at any point ends on the same state.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type { EpochGovernance, GovernanceEvent } from '../actors/governance-hook.js';
import { DEFAULT_GOVERNANCE, type GovernanceRule } from '../actors/governor.js';
import { RunEngine, type RunEngineComponents, type RunSpec } from '../actors/run-engine.js';
import { phase13Params } from '../kernels/params.js';
import { ComputePool } from '../kernels/pool.js';
import { QallowError } from '../runtime/errors.js';
import { createLogger, memorySink } from '../runtime/logger.js';
import type { Store } from '../runtime/store/contract.js';
import { createLmdbStore } from '../runtime/store/lmdb.js';
import { runCliInProcess } from './helpers/inprocess.js';

const RUN = 'rescue';
const SPEC: RunSpec = { run: RUN, params: phase13Params({ pockets: 64, ticks: 400, couplings: [0.01] }), backend: 'js', epochTicks: 50 };
const K = Math.fround(0.01);
const HALF = Math.fround(0.005);

interface Rig {
  readonly dir: string;
  readonly store: Store;
  readonly pool: ComputePool;
  readonly events: GovernanceEvent[];
  readonly components: (over?: Partial<RunEngineComponents>) => RunEngineComponents;
}

async function rig(t: ExecutionContext, rule: GovernanceRule = DEFAULT_GOVERNANCE): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), 'qallow-govern-'));
  const store = createLmdbStore({ dataDir: dir });
  await store.start();
  const pool = new ComputePool({ threads: 1 });
  pool.start();
  t.teardown(async () => {
    await pool.stop();
    await store.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const events: GovernanceEvent[] = [];
  const hook: EpochGovernance = { record: (e) => Promise.resolve(void events.push(e)) };
  const logger = createLogger({ nodeId: 'test', destination: memorySink().stream });
  return {
    dir,
    store,
    pool,
    events,
    components: (over = {}) => ({ pool, store, logger, csvPath: join(dir, 'runs', `${RUN}.csv`), ethics: { threshold: 2.9, entropyMax: 0.001 }, governanceRule: rule, governance: hook, ...over }),
  };
}

/** Step until the run stops running (done, halted, paused) or `until` says stop. */
async function drive(engine: RunEngine, until: (e: RunEngine) => boolean = () => false): Promise<void> {
  while (engine.isRunning() && !engine.finished && !until(engine)) await engine.step();
}

async function reference(csvPath: string): Promise<string> {
  return readFile(csvPath, 'utf8');
}

test('k = 0.01 on an even ring: the governor rolls back, halves the coupling, and the run ends on passing epochs', async (t) => {
  const r = await rig(t);
  const engine = await RunEngine.open(SPEC, r.components());
  await drive(engine);
  t.is(engine.state, 'done');
  t.is(engine.tick, 400);
  t.true(engine.lastDecision?.pass, 'the last epoch passes');
  t.deepEqual(engine.couplings, [HALF]);
  t.is(engine.governor.adaptations, 1);

  // The recorded events: the failure, the rollback, the adaptation, then passing checks.
  const kinds = r.events.map((e) => `${e.kind}@${e.epoch}`);
  t.deepEqual(kinds.slice(0, 3), ['ethics_check@1', 'rollback@2', 'adaptation@2']);
  const [fail, rollback, adaptation] = r.events;
  t.like(fail, { kind: 'ethics_check', tick: 50, decision: 'fail' });
  t.like(rollback, { kind: 'rollback', tick: 0, toEpoch: 0 });
  if (rollback?.kind === 'rollback') t.regex(rollback.reason, /ring 0: clamped/);
  t.deepEqual(adaptation, { kind: 'adaptation', run: RUN, epoch: 2, tick: 0, rings: [0], fromCouplings: [K], toCouplings: [HALF] });
  const checks = r.events.filter((e) => e.kind === 'ethics_check');
  t.is(checks.length, 9, 'epoch 1, then 8 epochs of 50 ticks from tick 0');
  t.deepEqual(checks.map((e) => e.kind === 'ethics_check' && e.decision), ['fail', 'fail', 'fail', 'fail', 'pass', 'pass', 'pass', 'pass', 'pass']);
  t.false(r.events.some((e) => e.kind === 'halt'));

  // The chain: the rollback checkpoint goes back in ticks, with its edges.
  const chain = await r.store.listCheckpoints(RUN);
  t.deepEqual(chain.map((c) => [c.epoch, c.tick]), [[0, 0], [1, 50], [2, 0], [3, 50], [4, 100], [5, 150], [6, 200], [7, 250], [8, 300], [9, 350], [10, 400]]);
  t.deepEqual(chain[2]!.edges, [{ kind: 'rollback', toEpoch: 0, tick: 0 }, { kind: 'adaptation', ring: 0, coupling: HALF, tick: 0 }]);
  const journal = (await r.store.journal(RUN)).map((j) => j.entry);
  t.deepEqual(journal.filter((j) => j.type === 'adapt'), [{ type: 'adapt', ring: 0, coupling: HALF, tick: 0 }]);

  // The CSV holds one row per tick: exactly the offline run at the adapted coupling.
  const offline = await runCliInProcess(['simulate', 'phase13', '--pockets', '64', '--ticks', '400', '--coupling', String(HALF), '--backend', 'js', '--audit-tag', RUN, '--csv', join(r.dir, 'offline.csv')], r.pool);
  t.is(offline.code, 0, offline.stderr);
  t.is(await reference(join(r.dir, 'runs', `${RUN}.csv`)), await reference(join(r.dir, 'offline.csv')));

  // Replay follows the rollback and adaptation edges bit for bit.
  await r.store.stop();
  const replay = await runCliInProcess(['replay', '--data', r.dir, '--run', RUN, '--from-epoch', '0', '--verify', '--json'], r.pool);
  t.is(replay.code, 0, replay.stdout + replay.stderr);
  const lines = replay.stdout.trim().split('\n').map((l) => JSON.parse(l) as { epoch?: number; tick?: number; match?: boolean; allMatch?: boolean; epochs?: number });
  t.like(lines.at(-1), { allMatch: true, epochs: 10 });
  t.like(lines.find((l) => l.epoch === 2), { tick: 0, match: true });
  const fromMiddle = await runCliInProcess(['replay', '--data', r.dir, '--run', RUN, '--from-epoch', '1', '--verify'], r.pool);
  t.is(fromMiddle.code, 0, 'a replay that starts on the diverged epoch reads the rollback target from the store');
  await r.store.start();
});

test('without the closed loop the same run diverges to NaN', async (t) => {
  const r = await rig(t, { ...DEFAULT_GOVERNANCE, enabled: false });
  const engine = await RunEngine.open(SPEC, r.components());
  await drive(engine);
  t.is(engine.state, 'done');
  t.false(engine.lastDecision?.pass);
  t.true(Number.isNaN(engine.lastDecision?.minTotal), 'the final figures are NaN');
  t.deepEqual(engine.couplings, [K]);
  t.deepEqual([...new Set(r.events.map((e) => e.kind))], ['ethics_check'], 'checked and recorded, never rolled back');
});

test('maxAdaptations 0: the first divergence halts the run', async (t) => {
  const r = await rig(t, { ...DEFAULT_GOVERNANCE, maxAdaptations: 0 });
  const engine = await RunEngine.open(SPEC, r.components());
  await drive(engine);
  t.is(engine.state, 'halted');
  t.is(engine.tick, 50);
  t.deepEqual(r.events.map((e) => e.kind), ['ethics_check', 'halt']);
  const halt = r.events[1];
  if (halt?.kind === 'halt') t.regex(halt.reason, /max adaptations/);
  t.is((await r.store.getRun(RUN))?.state, 'halted');
  // A halted run stays halted when reopened.
  const again = await RunEngine.open(SPEC, r.components());
  t.is(again.state, 'halted');
});

test('maxFailingEpochs: a run still failing after that many consecutive epochs halts', async (t) => {
  const r = await rig(t, { ...DEFAULT_GOVERNANCE, maxFailingEpochs: 3 });
  const engine = await RunEngine.open({ ...SPEC, params: phase13Params({ pockets: 64, ticks: 400, couplings: [0] }) }, r.components());
  await drive(engine);
  t.is(engine.state, 'halted');
  t.is(engine.epoch, 3);
  t.deepEqual(r.events.map((e) => e.kind), ['ethics_check', 'ethics_check', 'ethics_check', 'halt']);
});

interface Final {
  readonly hash: string;
  readonly csv: string;
  readonly events: GovernanceEvent[];
  /** Checkpoint epochs the reopened engines recovered from. */
  readonly recoveredAt: number[];
  readonly crashes: number;
}

/** Run the scenario, reopening the engine from the store once it reaches each of `reopenAfter`'s epochs (or crashes). */
async function finalOf(t: ExecutionContext, reopenAfter: readonly number[], over?: (r: Rig) => Partial<RunEngineComponents>): Promise<Final> {
  const r = await rig(t);
  let engine = await RunEngine.open(SPEC, r.components(over?.(r)));
  const recoveredAt: number[] = [];
  let crashes = 0;
  for (const epoch of reopenAfter) {
    await drive(engine, (e) => e.epoch >= epoch).catch((e: unknown) => {
      if (!(e instanceof QallowError && e.code === 'INTERNAL')) throw e;
      crashes++;
    });
    engine = await RunEngine.open(SPEC, r.components());
    recoveredAt.push(engine.recovered?.epoch ?? -1);
  }
  await drive(engine);
  t.is(engine.state, 'done');
  return { hash: engine.checkpoint.stateHash, csv: await readFile(join(r.dir, 'runs', `${RUN}.csv`), 'utf8'), events: r.events, recoveredAt, crashes };
}

test('a restart mid-scenario continues deterministically to the same final state', async (t) => {
  const straight = await finalOf(t, []);
  const restarted = await finalOf(t, [2, 5]);
  t.deepEqual(restarted.recoveredAt, [2, 5], 'reopened on the rollback checkpoint, then mid-convergence');
  t.is(restarted.hash, straight.hash);
  t.is(restarted.csv, straight.csv);
  // At least once: the recovered checkpoints' events are recorded again, nothing is lost.
  const keys = (es: GovernanceEvent[]): string[] => [...new Set(es.map((e) => `${e.kind}@${e.epoch}`))];
  t.deepEqual(keys(restarted.events), keys(straight.events));
});

test('a crash between the diverged checkpoint and its rollback: the reopened engine finishes the rollback', async (t) => {
  const straight = await finalOf(t, []);
  // The first write of the rollback fails as if the process died there.
  const crashing = (r: Rig): Partial<RunEngineComponents> => ({
    store: new Proxy(r.store, {
      get(target, key) {
        if (key === 'appendJournal') {
          return (run: string, entry: Parameters<Store['appendJournal']>[1]) =>
            entry.type === 'adapt' ? Promise.reject(new QallowError('INTERNAL', 'crash injected before the rollback')) : target.appendJournal(run, entry);
        }
        const v = Reflect.get(target, key, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }),
  });
  const crashed = await finalOf(t, [1], crashing);
  t.is(crashed.crashes, 1);
  t.deepEqual(crashed.recoveredAt, [1], 'reopened on the diverged checkpoint, whose record entry says rollback');
  t.is(crashed.hash, straight.hash);
  t.is(crashed.csv, straight.csv);
});

test('quorum unavailable: the run pauses at the epoch boundary and resumes, events in order, when it returns', async (t) => {
  const r = await rig(t);
  let down = false;
  const recorded: GovernanceEvent[] = [];
  const hook: EpochGovernance = {
    record: (e) => (down ? Promise.reject(new QallowError('QUORUM_UNAVAILABLE', 'no quorum')) : Promise.resolve(void recorded.push(e))),
  };
  const engine = await RunEngine.open(SPEC, r.components({ governance: hook }));
  down = true;
  await drive(engine);
  t.is(engine.state, 'paused');
  t.is(engine.pauseReason, 'quorum');
  t.is(engine.epoch, 2, 'stopped at the boundary of the epoch that could not be recorded (its rollback included)');
  t.deepEqual(engine.pendingEvents.map((e) => e.kind), ['ethics_check', 'rollback', 'adaptation']);
  t.is((await r.store.getRun(RUN))?.state, 'running', 'a quorum pause is not an admin pause: not persisted');
  t.false(await engine.quorum(true), 'still down: nothing recorded');
  t.is(engine.pauseReason, 'quorum');
  down = false;
  t.true(await engine.quorum(true));
  t.is(engine.state, 'running');
  t.deepEqual(recorded.map((e) => `${e.kind}@${e.epoch}`), ['ethics_check@1', 'rollback@2', 'adaptation@2']);
  await drive(engine);
  t.is(engine.state, 'done');
  t.true(engine.lastDecision?.pass);
});

test("onQuorumLoss 'continue': the run goes on and the queue is recorded when the quorum returns", async (t) => {
  const r = await rig(t, { ...DEFAULT_GOVERNANCE, onQuorumLoss: 'continue' });
  let down = true;
  const recorded: GovernanceEvent[] = [];
  const hook: EpochGovernance = {
    record: (e) => (down ? Promise.reject(new QallowError('QUORUM_UNAVAILABLE', 'no quorum')) : Promise.resolve(void recorded.push(e))),
  };
  const engine = await RunEngine.open(SPEC, r.components({ governance: hook }));
  await drive(engine, (e) => e.epoch >= 5);
  t.is(engine.state, 'running');
  t.is(engine.pendingEvents.length, 6);
  down = false;
  await drive(engine);
  t.is(engine.state, 'done');
  t.is(engine.pendingEvents.length, 0);
  t.deepEqual(recorded.slice(0, 3).map((e) => e.kind), ['ethics_check', 'rollback', 'adaptation']);
  t.is(recorded.filter((e) => e.kind === 'ethics_check').length, 9);
});
