/**
 * `qallow checkpoint list --data DIR`: every run's checkpoints from the host's
 * LMDB store, each checked in full and marked usable or not: its chain link
 * and own hash, and its own stored state hashing to its stateHash — every
 * checkpoint listed, not only the newest down to the first valid one (an
 * older checkpoint with damaged state bytes is CORRUPT too, though restart,
 * which starts from the newest usable one, would not need it). Offline:
 * reads the data directory directly; a damaged LMDB file is refused before
 * it is mapped (runtime/store/lmdb-check.ts).
 */
import { Command } from '@commander-js/extra-typings';
import { createLmdbStore } from '../../store/lmdb.js';
import { QallowError, errorMessage } from '../../errors.js';
import { assertDataDir } from '../../ledger/verify.js';
import { writeLine, type CliIO } from '../io.js';
import { adminCall, withTarget } from '../target.js';
import type { Checkpoint } from '../../store/checkpoint.js';

/** A checkpoint whose record does not decode: only its key is known. */
interface UnreadableCheckpoint {
  readonly run: string;
  readonly epoch: number;
  readonly tick: null;
  readonly stateHash: null;
  readonly edges: readonly [];
  readonly timestamp: null;
  readonly prevHash: null;
  readonly hash: null;
}

interface Listed {
  run: string;
  error: string | null;
  checkpoints: Array<(Checkpoint | UnreadableCheckpoint) & { usable: boolean; problem: string | null }>;
}

export async function listCheckpoints(dataDir: string): Promise<Listed[]> {
  // Never create an environment where there is none.
  await assertDataDir(dataDir);
  const store = createLmdbStore({ dataDir });
  await store.start();
  try {
    const out: Listed[] = [];
    for (const run of await store.runs()) {
      try {
        const audited = await store.auditCheckpoints(run);
        out.push({
          run,
          error: null,
          checkpoints: audited.map((a) => ({
            ...(a.checkpoint ?? { run, epoch: a.epoch, tick: null, stateHash: null, edges: [], timestamp: null, prevHash: null, hash: null }),
            usable: a.problem === null,
            problem: a.problem,
          })),
        });
      } catch (e) {
        out.push({ run, error: errorMessage(e), checkpoints: [] });
      }
    }
    return out;
  } finally {
    await store.stop();
  }
}

export function checkpointCommand(io: CliIO): Command {
  const cmd = new Command('checkpoint').description('checkpoints of the runs in a data directory');
  cmd.addCommand(
    new Command('list')
      .description('list every run’s checkpoints and whether each is usable (offline)')
      .requiredOption('--data <dir>', "the host's data directory")
      .option('--json', 'one JSON object per run')
      .action(async (o) => {
        const runs = await listCheckpoints(o.data);
        if (runs.length === 0) throw new QallowError('CHECKPOINT_NOT_FOUND', `no runs in ${o.data} (is it a qallow data directory?)`, { dataDir: o.data });
        for (const r of runs) {
          if (o.json) {
            writeLine(io.stdout, JSON.stringify(r));
            continue;
          }
          writeLine(io.stdout, `run ${r.run}${r.error ? `: unreadable: ${r.error}` : ''}`);
          if (r.checkpoints.length > 0) writeLine(io.stdout, '  epoch      tick  stateHash         edges  time                      status');
          for (const c of r.checkpoints) {
            const edges = c.edges.map((e) => e.kind).join('+') || '-';
            writeLine(
              io.stdout,
              `  ${String(c.epoch).padStart(5)} ${String(c.tick ?? '?').padStart(9)}  ${(c.stateHash ?? '?').slice(0, 16).padEnd(16)}  ${edges.padEnd(6)} ${(c.timestamp === null ? '?' : new Date(c.timestamp).toISOString()).padEnd(24)}  ${c.usable ? 'ok' : `CORRUPT: ${c.problem ?? 'after a corrupt checkpoint'}`}`,
            );
          }
        }
        if (runs.some((r) => r.error !== null || r.checkpoints.some((c) => !c.usable))) {
          throw new QallowError('CHECKPOINT_CORRUPT', 'some checkpoints are not usable (see above); restart recovers from the newest usable one and skips newer ones', { dataDir: o.data });
        }
      }),
  );
  cmd.addCommand(
    withTarget(new Command('take').description('checkpoint a run now (at its current epoch boundary)').argument('<run>', 'run id')).action(async (run, o) => {
      const c = await adminCall(o, { type: 'checkpoint.take', run });
      writeLine(io.stdout, o.json ? JSON.stringify(c) : `${run}: checkpoint epoch ${c.epoch} at tick ${c.tick} (${c.stateHash.slice(0, 16)}…)`);
    }) as unknown as Command,
  );
  return cmd;
}
