/**
 * `qallow replay --data DIR --run RUN --from-epoch E [--to-epoch F] --verify`:
 * recompute a run's epochs from a stored checkpoint and compare every
 * recomputed stateHash with the stored one (SPEC §4). It runs on the backend
 * the checkpoint recorded, so the bytes must be identical; with --verify the
 * first mismatch fails the command (exit 1) naming the epoch.
 *
 * Causal edges are followed (SPEC §4): a checkpoint with a `rollback` edge
 * starts from the state of the checkpoint it names (read from the store and
 * checked against that checkpoint's stateHash, which this replay has already
 * recomputed when it lies in the range), and `adaptation` edges set a ring's
 * coupling at their tick before the ticks after it are computed.
 */
import { Command } from '@commander-js/extra-typings';
import { simulationFrom, snapshotOf } from '../../../actors/run-engine.js';
import { Phase13Simulation } from '../../../kernels/simulation.js';
import type { Checkpoint } from '../../store/checkpoint.js';
import type { Store } from '../../store/contract.js';
import { ComputePool } from '../../../kernels/pool.js';
import { QallowError } from '../../errors.js';
import { createLmdbStore } from '../../store/lmdb.js';
import { stateHash } from '../../store/snapshot.js';
import { parseInteger } from '../args.js';
import { writeLine, type CliIO } from '../io.js';

export interface ReplayEpoch {
  readonly epoch: number;
  readonly tick: number;
  readonly stored: string;
  readonly recomputed: string;
  /** Hash of the state bytes stored with the checkpoint. */
  readonly storedState: string;
  readonly match: boolean;
}

export function replayCommand(io: CliIO): Command {
  return new Command('replay')
    .description('recompute a run from a checkpoint and check every stateHash (offline)')
    .requiredOption('--data <dir>', "the host's data directory")
    .requiredOption('--run <run>', 'run id')
    .requiredOption('--from-epoch <E>', 'checkpoint epoch to start from', parseInteger('--from-epoch'))
    .option('--to-epoch <F>', 'last epoch to recompute (default: the newest)', parseInteger('--to-epoch'))
    .option('--verify', 'fail (exit 1) unless every recomputed stateHash equals the stored one')
    .option('--threads <n>', 'compute pool threads', parseInteger('--threads'))
    .option('--json', 'one JSON line per epoch, then a summary')
    .action(async (o) => {
      const store = createLmdbStore({ dataDir: o.data });
      await store.start();
      const pool = new ComputePool({ threads: o.threads ?? io.pool?.threads });
      const own = io.pool === undefined;
      if (own) pool.start();
      const compute = io.pool ?? pool;
      try {
        const list = await store.listCheckpoints(o.run);
        if (list.length === 0) throw new QallowError('CHECKPOINT_NOT_FOUND', `run ${o.run} has no checkpoints in ${o.data}`, { run: o.run });
        const start = list.findIndex((c) => c.epoch === o.fromEpoch);
        if (start < 0) {
          throw new QallowError('BAD_USAGE', `--from-epoch ${o.fromEpoch}: run ${o.run} has no checkpoint at that epoch (epochs ${list[0]!.epoch}..${list[list.length - 1]!.epoch})`, { flag: '--from-epoch' });
        }
        const to = o.toEpoch ?? list[list.length - 1]!.epoch;
        if (to < o.fromEpoch) throw new QallowError('BAD_USAGE', `--to-epoch ${to} is before --from-epoch ${o.fromEpoch}`, { flag: '--to-epoch' });
        const first = list[start]!;
        const snapshot = await store.getSnapshot(o.run, first.epoch);
        if (stateHash(snapshot) !== first.stateHash) {
          throw new QallowError('REPLAY_MISMATCH', `epoch ${first.epoch}: the stored state does not hash to its checkpoint's stateHash; start from an earlier epoch`, { epoch: first.epoch });
        }
        let sim = simulationFrom(compute, snapshot);
        const spec = { run: o.run, params: snapshot.params, backend: snapshot.backend, epochTicks: 1 };
        const results: ReplayEpoch[] = [];
        for (const c of list.slice(start + 1)) {
          if (c.epoch > to) break;
          const rollback = c.edges.find((e) => e.kind === 'rollback');
          if (rollback) sim = simulationFrom(compute, await rollbackState(store, list, o.run, c, rollback.toEpoch));
          const adaptations = c.edges.flatMap((e) => (e.kind === 'adaptation' ? [e] : [])).sort((a, b) => a.tick - b.tick);
          for (const a of adaptations) {
            if (!(sim instanceof Phase13Simulation) || a.ring >= sim.state.rings || a.tick < sim.tick || a.tick > c.tick) {
              throw new QallowError('REPLAY_MISMATCH', `epoch ${c.epoch}: its adaptation edge (ring ${a.ring}, tick ${a.tick}) cannot apply to the replayed state at tick ${sim.tick}`, { epoch: c.epoch });
            }
            if (a.tick > sim.tick) await sim.runEpoch(a.tick - sim.tick);
            sim.state.coupling[a.ring] = a.coupling;
          }
          if (c.tick < sim.tick) {
            throw new QallowError('REPLAY_MISMATCH', `epoch ${c.epoch}: its tick ${c.tick} is before the replayed state's tick ${sim.tick} and it has no rollback edge`, { epoch: c.epoch });
          }
          const ticks = c.tick - sim.tick;
          if (ticks > 0) await sim.runEpoch(ticks);
          const recomputed = stateHash(snapshotOf(sim, spec));
          // The state stored with the checkpoint must hash to it too: a
          // tampered stored state is named by its epoch, like a divergence.
          const storedState = await store.getSnapshot(o.run, c.epoch).then(stateHash, () => 'unreadable');
          const r = { epoch: c.epoch, tick: c.tick, stored: c.stateHash, recomputed, storedState, match: recomputed === c.stateHash && storedState === c.stateHash };
          results.push(r);
          if (o.json) writeLine(io.stdout, JSON.stringify(r));
          const why = recomputed !== c.stateHash ? 'the recomputed state differs from the checkpoint' : 'the stored state was altered (it no longer hashes to its checkpoint)';
          if (!o.json) writeLine(io.stdout, `epoch ${c.epoch} tick ${c.tick}: ${r.match ? 'ok' : `MISMATCH: ${why}`}`);
          if (!r.match && o.verify) {
            throw new QallowError('REPLAY_MISMATCH', `replay of run ${o.run} failed at epoch ${c.epoch} (tick ${c.tick}): ${why}`, { run: o.run, epoch: c.epoch });
          }
        }
        const summary = `replayed ${results.length} epoch(s) of ${o.run} from epoch ${first.epoch} on ${snapshot.backend}: ${results.every((r) => r.match) ? 'all stateHashes match' : 'MISMATCHES found'}`;
        if (o.json) writeLine(io.stdout, JSON.stringify({ run: o.run, fromEpoch: first.epoch, epochs: results.length, backend: snapshot.backend, allMatch: results.every((r) => r.match) }));
        else writeLine(io.stdout, summary);
      } finally {
        if (own) await pool.stop();
        await store.stop();
      }
    });
}

/** The state a rollback edge goes back to: the stored state of that checkpoint, which must hash to it. */
async function rollbackState(store: Store, list: readonly Checkpoint[], run: string, c: Checkpoint, toEpoch: number): Promise<Awaited<ReturnType<Store['getSnapshot']>>> {
  const target = list.find((k) => k.epoch === toEpoch);
  const snap = target && target.epoch < c.epoch ? await store.getSnapshot(run, toEpoch).catch(() => undefined) : undefined;
  if (!target || !snap || stateHash(snap) !== target.stateHash) {
    throw new QallowError('REPLAY_MISMATCH', `epoch ${c.epoch}: its rollback edge names epoch ${toEpoch}, whose stored state is missing or does not hash to its checkpoint`, { epoch: c.epoch });
  }
  return snap;
}
