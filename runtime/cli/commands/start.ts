/**
 * `qallow start --config FILE`: this host's supervisor tree, in the
 * foreground, logging pino JSON lines to stdout. SIGINT/SIGTERM stop it
 * gracefully (each run stops at its next slice boundary, LMDB and the pool
 * close) and exit 0; a supervision escalation to the root exits 1.
 * A stop is bounded: if it has not finished `--stop-timeout` ms (default
 * 120 s) after it began, the host logs what it was still waiting for
 * (`waitingFor`: admin commands, the runs still draining, ...) and exits 1.
 */
import { Command } from '@commander-js/extra-typings';
import { loadConfig } from '../../../config/load.js';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createHost } from '../../compose/create-host.js';
import { readNodeKeys } from '../../identity/files.js';
import { InstanceLock } from '../../instance-lock.js';
import { createLogger } from '../../logger.js';
import { QallowError } from '../../errors.js';
import type { CliIO } from '../io.js';
import { parsePositiveInteger } from '../args.js';

export const DEFAULT_STOP_TIMEOUT_MS = 120_000;

export function startCommand(_io: CliIO): Command {
  return new Command('start')
    .description("start this host's supervisor tree in the foreground (Ctrl-C stops it gracefully)")
    .requiredOption('--config <file>', 'host configuration (JSON; see config/examples/)')
    .option('--exit-when-done', 'stop once every run on this host has finished (scripts, tests)')
    .option('--stop-timeout <ms>', 'longest a stop may take (runs draining included) before the host logs what it was waiting for and exits 1', parsePositiveInteger('--stop-timeout'), DEFAULT_STOP_TIMEOUT_MS)
    .option('--hold-runs', 'resume no run: every unfinished run comes back paused, for `qallow resume` or `qallow cancel` (config holdRuns)')
    .action(async (o) => {
      const config = await loadConfig(o.config).catch((e: unknown) => {
        // A bad config is bad usage: exit 2 with the field named.
        if (e instanceof QallowError) throw new QallowError('BAD_USAGE', e.message, e.details);
        throw e;
      });
      // One process per data directory and per node key (runtime/instance-lock.ts).
      await mkdir(config.dataDir, { recursive: true });
      const nodeKey = config.cluster ? (await readNodeKeys(config.cluster.identityDir)).ed25519.publicKey.hex : undefined;
      const lock = await InstanceLock.acquire(
        { pid: process.pid, node: config.node.id, dataDir: config.dataDir },
        nodeKey && config.cluster ? { publicKeyHex: nodeKey, file: join(config.cluster.identityDir, 'node.secret.json') } : undefined,
      );
      const logger = createLogger({ nodeId: config.node.id, level: config.telemetry.logLevel });
      let fatal: QallowError | undefined;
      let stopping: Promise<void> | undefined;
      let wake!: () => void;
      const done = new Promise<void>((resolve) => (wake = resolve));
      const host = createHost(o.holdRuns ? { ...config, holdRuns: true } : config, {
        logger,
        onFatal: (e) => {
          fatal = e;
          wake();
        },
        onShutdown: () => {
          logger.info({}, 'shutdown requested by an operator');
          wake();
        },
      });
      // A stop must finish or exit: past the deadline the host says what it was waiting for and exits 1
      // (runs resume from their last checkpoint at the next start).
      let deadline: NodeJS.Timeout | undefined;
      const armDeadline = (): void => {
        if (deadline) return;
        deadline = setTimeout(() => {
          logger.fatal({ stopTimeoutMs: o.stopTimeout, waitingFor: host.stopping || 'start-up to finish' }, `stop did not finish within ${o.stopTimeout} ms; exiting without it`);
          logger.flush();
          process.exit(1);
        }, o.stopTimeout);
        deadline.unref();
      };
      const onSignal = (signal: NodeJS.Signals): void => {
        logger.info({ signal }, 'shutdown requested');
        armDeadline();
        wake();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        await host.start();
        if (o.exitWhenDone) {
          // Runs this host drives now: new boot runs and unfinished ones it resumed.
          const ids = await host.runIds();
          void Promise.all(ids.map((id) => host.whenFinished(id))).then(() => wake());
        }
        await done;
      } finally {
        armDeadline();
        stopping = host.stop();
        await stopping;
        logger.flush();
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
        clearTimeout(deadline);
        await lock.release();
      }
      if (fatal) throw new QallowError('SUPERVISION_ESCALATED', `host stopped: ${fatal.message}`, fatal.details);
    });
}
