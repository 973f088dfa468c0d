/**
 * What a phase actor runs in, in one process: an LMDB store in a fresh
 * temporary directory, a worker pool, an actor system and its 'runs'
 * supervisor (one-for-one), stopped in teardown in reverse (system, pool,
 * store). Tests spawn their phase actors under `runs`.
 */
import type { ExecutionContext } from 'ava';
import { pino } from 'pino';
import { ComputePool } from '../../kernels/pool.js';
import { createActorSystem, spawnSupervisor, type ActorSystem } from '../../runtime/actors/index.js';
import { createLmdbStore, type LmdbStore } from '../../runtime/store/lmdb.js';
import type { Supervisor } from '../../supervisors/index.js';
import { tempDir } from './ledger.js';

export interface PhaseRigOptions {
  /** The actor system's node id. */
  readonly nodeId: string;
  /** Worker threads in the pool. */
  readonly threads: number;
  /** The temporary directory's name prefix. */
  readonly prefix: string;
}

export interface PhaseRig {
  /** The temporary directory (the store's data dir; removed in teardown). */
  readonly dir: string;
  readonly store: LmdbStore;
  readonly pool: ComputePool;
  readonly system: ActorSystem;
  readonly runs: Supervisor;
}

export async function phaseRig(t: ExecutionContext, o: PhaseRigOptions): Promise<PhaseRig> {
  const dir = await tempDir(t, o.prefix);
  const store = createLmdbStore({ dataDir: dir });
  await store.start();
  const pool = new ComputePool({ threads: o.threads });
  pool.start();
  const system = createActorSystem({ nodeId: o.nodeId }, { logger: pino({ level: 'silent' }) });
  await system.start();
  t.teardown(async () => {
    await system.stop();
    await pool.stop();
    await store.stop();
  });
  const runs = spawnSupervisor(system.root, { name: 'runs', strategy: 'one-for-one' });
  return { dir, store, pool, system, runs };
}
