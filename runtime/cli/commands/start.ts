/**
 * `qallow start --config FILE`: this host's supervisor tree, in the
 * foreground, logging pino JSON lines to stdout. SIGINT/SIGTERM stop it
 * gracefully (each run stops at its next slice boundary, LMDB and the pool
 * close) and exit 0; a supervision escalation to the root exits 1.
 */
import { Command } from '@commander-js/extra-typings';
import { loadConfig } from '../../../config/load.js';
import { Host } from '../../host.js';
import { createLogger } from '../../logger.js';
import { QallowError } from '../../errors.js';
import type { CliIO } from '../io.js';

export function startCommand(_io: CliIO): Command {
  return new Command('start')
    .description("start this host's supervisor tree in the foreground (Ctrl-C stops it gracefully)")
    .requiredOption('--config <file>', 'host configuration (JSON; see config/examples/)')
    .option('--exit-when-done', 'stop once every run on this host has finished (scripts, tests)')
    .option('--hold-runs', 'resume no run: every unfinished run comes back paused, for `qallow resume` or `qallow cancel` (config holdRuns)')
    .action(async (o) => {
      const config = await loadConfig(o.config).catch((e: unknown) => {
        // A bad config is bad usage: exit 2 with the field named.
        if (e instanceof QallowError) throw new QallowError('BAD_USAGE', e.message, e.details);
        throw e;
      });
      const logger = createLogger({ nodeId: config.node.id, level: config.telemetry.logLevel });
      let fatal: QallowError | undefined;
      let stopping: Promise<void> | undefined;
      let wake!: () => void;
      const done = new Promise<void>((resolve) => (wake = resolve));
      const host = new Host(o.holdRuns ? { ...config, holdRuns: true } : config, {
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
      const onSignal = (signal: NodeJS.Signals): void => {
        logger.info({ signal }, 'shutdown requested');
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
        stopping = host.stop();
        await stopping;
        logger.flush();
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
      }
      if (fatal) throw new QallowError('SUPERVISION_ESCALATED', `host stopped: ${fatal.message}`, fatal.details);
    });
}
