/**
 * The phase actor under the closed loop: a run whose governance events
 * cannot reach the validator quorum pauses at the epoch boundary, and when
 * the host tells it `{ type: 'quorum', available: true }` it records what
 * waited, in order, and runs on to the end; the config's governance section
 * is validated field by field.
 */
import { join } from 'node:path';
import test from 'ava';
import { pino } from 'pino';
import type { EpochGovernance, GovernanceEvent } from '../actors/governance-hook.js';
import { DEFAULT_GOVERNANCE } from '../actors/governor.js';
import { spawnPhaseActor, type RunStatus } from '../actors/phase.js';
import type { RunSpec } from '../actors/run-engine.js';
import { DEFAULTS } from '../config/defaults.js';
import { parseHostConfig } from '../config/schema.js';
import { phase13Params } from '../kernels/params.js';
import { QallowError, isQallowError } from '../runtime/errors.js';
import { phaseRig } from './helpers/phase-rig.js';
import { statusLog } from './helpers/run-status.js';

test('quorum lost: the phase actor pauses at the boundary; told the quorum is back, it records the queue and finishes', async (t) => {
  const { dir, store, pool, runs } = await phaseRig(t, { nodeId: 'gov-t', threads: 1, prefix: 'qallow-govactor-' });

  let down = true;
  const recorded: GovernanceEvent[] = [];
  const governance: EpochGovernance = {
    record: (e) => (down ? Promise.reject(new QallowError('QUORUM_UNAVAILABLE', 'validators unreachable')) : Promise.resolve(void recorded.push(e))),
  };
  const spec: RunSpec = { run: 'q', params: phase13Params({ pockets: 64, ticks: 400, couplings: [0.01] }), backend: 'js', epochTicks: 50 };
  const log = statusLog();
  const ref = spawnPhaseActor(runs, { spec, onStatus: log.onStatus }, {
    pool,
    store,
    logger: pino({ level: 'silent' }),
    csvPath: join(dir, 'runs', 'q.csv'),
    ethics: { threshold: 2.9, entropyMax: 0.001 },
    governanceRule: DEFAULT_GOVERNANCE,
    governance,
  });

  const paused = await log.waitFor((s) => s.pauseReason === 'quorum', 'the quorum pause');
  t.is(paused.state, 'paused');
  t.is(paused.epoch, 2, 'the diverged epoch 1 and its rollback checkpoint, then no further epoch');
  const still = await ref.ask<RunStatus>((replyTo) => ({ type: 'status', replyTo }), 10_000);
  t.is(still.epoch, 2, 'no epoch runs while the quorum is away');
  t.deepEqual(recorded, []);

  down = false;
  ref.tell({ type: 'quorum', available: true });
  const done = await log.waitFor((s) => s.state === 'done', 'the end of the run');
  t.true(done.lastDecision?.pass);
  t.is(done.adaptations, 1);
  t.deepEqual(done.couplings, [Math.fround(0.005)]);
  t.deepEqual(recorded.slice(0, 3).map((e) => `${e.kind}@${e.epoch}`), ['ethics_check@1', 'rollback@2', 'adaptation@2']);
  t.is(recorded.filter((e) => e.kind === 'ethics_check').length, 9);
});

function configError(governance: unknown): string | undefined {
  try {
    parseHostConfig({ node: { id: 'h' }, dataDir: '/tmp/x', governance });
    return undefined;
  } catch (e) {
    return isQallowError(e, 'CONFIG_INVALID') ? String(e.details['field']) : 'not CONFIG_INVALID';
  }
}

test('config: governance defaults', (t) => {
  const c = parseHostConfig({ node: { id: 'h' }, dataDir: '/tmp/x' });
  t.deepEqual(c.governance, { enabled: true, maxFailingEpochs: 50, maxAdaptations: 5, adaptationFactor: 0.5, onQuorumLoss: 'pause' });
  t.deepEqual(c.governance, { ...DEFAULTS.governance });
  t.deepEqual({ ...DEFAULT_GOVERNANCE }, { ...DEFAULTS.governance }, 'the engine default and the config default agree');
});

test('config: governance.maxFailingEpochs must be an integer ≥ 1', (t) => {
  t.is(configError({ maxFailingEpochs: 0 }), 'config.governance.maxFailingEpochs');
  t.is(configError({ maxFailingEpochs: 2.5 }), 'config.governance.maxFailingEpochs');
});

test('config: governance.maxAdaptations must be an integer ≥ 0', (t) => {
  t.is(configError({ maxAdaptations: -1 }), 'config.governance.maxAdaptations');
  t.is(configError({ maxAdaptations: 0 }), undefined);
});

test('config: governance.adaptationFactor must lie strictly between 0 and 1', (t) => {
  t.is(configError({ adaptationFactor: 0 }), 'config.governance.adaptationFactor');
  t.is(configError({ adaptationFactor: 1 }), 'config.governance.adaptationFactor');
  t.is(configError({ adaptationFactor: 0.25 }), undefined);
});

test('config: governance.onQuorumLoss is pause or continue', (t) => {
  t.is(configError({ onQuorumLoss: 'stop' }), 'config.governance.onQuorumLoss');
  t.is(configError({ onQuorumLoss: 'continue' }), undefined);
});

test('config: governance.enabled is a boolean; unknown keys are refused', (t) => {
  t.is(configError({ enabled: 'no' }), 'config.governance.enabled');
  t.is(configError({ maxAdaptation: 3 }), 'config.governance.maxAdaptation');
});
