/**
 * A run against a flood of outside commands (issue 11, item 1): ~80
 * concurrent `checkpoint` asks while an epoch computes fill the phase
 * actor's bounded mailbox (64). The run's own next slice comes through the
 * actor's reserved loop slot, so the run still finishes, to the same final
 * state as an undisturbed run; every ask is answered (with the checkpoint
 * that ends the epoch) or refused with MAILBOX_FULL, none is left hanging.
 * Real LMDB, real worker pool, a real phase actor.
 */
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { pino } from 'pino';
import { spawnPhaseActor, type CheckpointAnswer } from '../actors/phase.js';
import type { RunSpec } from '../actors/run-engine.js';
import { phase13Params } from '../kernels/params.js';
import type { Supervisor } from '../supervisors/index.js';
import { isQallowError } from '../runtime/errors.js';
import { phaseRig } from './helpers/phase-rig.js';
import { statusLog, type StatusLog } from './helpers/run-status.js';

interface Rig {
  readonly runs: Supervisor;
  start(spec: RunSpec): { ref: ReturnType<typeof spawnPhaseActor>; log: StatusLog };
}

async function rig(t: ExecutionContext): Promise<Rig> {
  const { dir, store, pool, runs } = await phaseRig(t, { nodeId: 'box-t', threads: 2, prefix: 'qallow-phasebox-' });
  return {
    runs,
    start(spec) {
      const log = statusLog();
      const ref = spawnPhaseActor(runs, { spec, onStatus: log.onStatus, mailboxCapacity: 64 }, {
        pool,
        store,
        logger: pino({ level: 'silent' }),
        csvPath: join(dir, 'runs', `${spec.run}.csv`),
        ethics: { threshold: 2.9, entropyMax: 0.001 },
        // 40 slices per epoch: the flood lands while an epoch is part-computed.
        sliceCost: 4096 * 25,
      });
      return { ref, log };
    },
  };
}

const params = phase13Params({ pockets: 4096, ticks: 3000, couplings: [0.002] });

test('a mailbox full of outside asks never stalls the run: it finishes, the asks are answered or refused MAILBOX_FULL', async (t) => {
  const r = await rig(t);
  const reference = r.start({ run: 'ref', params, backend: 'wasm', epochTicks: 1000 });
  const expected = await reference.log.waitFor((s) => s.state === 'done', 'the undisturbed run to finish');

  const { ref, log } = r.start({ run: 'flood', params, backend: 'wasm', epochTicks: 1000 });
  await log.waitFor((s) => s.state === 'running' && s.tick > 0 && s.tick % 1000 !== 0, 'the first epoch part-computed');
  const asks = Array.from({ length: 80 }, () => ref.ask<CheckpointAnswer>((replyTo) => ({ type: 'checkpoint', replyTo }), 60_000));
  const done = await log.waitFor((s) => s.state === 'done', 'the flooded run to finish');
  const outcomes = await Promise.allSettled(asks);
  const answered = outcomes.filter((o): o is PromiseFulfilledResult<CheckpointAnswer> => o.status === 'fulfilled');
  const refused = outcomes.filter((o) => o.status === 'rejected' && isQallowError(o.reason, 'MAILBOX_FULL'));
  t.is(answered.length + refused.length, 80, `every ask answered or refused MAILBOX_FULL: ${JSON.stringify(outcomes.find((o) => o.status === 'rejected' && !isQallowError(o.reason, 'MAILBOX_FULL')))}`);
  t.true(answered.length >= 60, `the mailbox took its capacity's worth (${answered.length} answered)`);
  t.true(refused.length >= 1, 'the asks beyond the bound were refused, not queued without bound');
  for (const a of answered) t.true(a.value.epoch >= 1 && a.value.tick % 1000 === 0, `a checkpoint at an epoch boundary (${JSON.stringify(a.value)})`);
  t.is(done.tick, 3000);
  t.is(done.epoch, expected.epoch, 'outside asks did not move the epoch boundaries');
  t.is(done.stateHash, expected.stateHash, 'same final state as the undisturbed run');
});
