/**
 * `qallow top [--interval MS] [--iterations N] [--peer-data DIR...]`: a live
 * view of the cluster as one host sees it, redrawn in place every interval
 * (runtime/cli/top/frame.ts says what is on it; screen.ts how the terminal
 * is used and restored). `q`, Ctrl-C or SIGTERM exit 0 with the terminal as
 * it was; so does reaching `--iterations` (scripts). Without a terminal it
 * prints one whole frame per refresh, separated by blank lines, no escapes.
 *
 * The host must answer the first refresh (else exit 1, like `status`); a
 * later refresh that fails keeps the last good frame with the error shown
 * and tries again at the next interval. `--json`: no frames, one JSON line
 * per refresh, `{at, host, peers}` with the figures the view decodes
 * (runtime/cli/top/status.ts).
 */
import { Command, Option } from '@commander-js/extra-typings';
import { QallowError, errorMessage } from '../../errors.js';
import { parseInteger, parsePositiveInteger } from '../args.js';
import { type CliIO } from '../io.js';
import { adminCall, resolveTarget, withTarget } from '../target.js';
import { renderFrame, type TopSample } from '../top/frame.js';
import { createSampler } from '../top/sampler.js';
import { openScreen } from '../top/screen.js';

/** A refresh waits at most this long for a host, whatever --timeout says: a live view must not freeze for 30 s. */
const MAX_REFRESH_WAIT_MS = 10_000;

export function topCommand(io: CliIO): Command {
  return withTarget(new Command('top').description('live cluster view: hosts, runs, ledger heads, actors; refreshed in place (q quits)'))
    .addOption(new Option('--interval <ms>', 'refresh interval').argParser(parsePositiveInteger('--interval')).default(1000))
    .addOption(new Option('--iterations <n>', 'exit after this many refreshes').argParser(parseInteger('--iterations')))
    .addOption(new Option('--peer-data <dir...>', "peers' data directories: their runs are shown in the hosts table (same --admin-key)"))
    .action(async (o) => {
      if (o.interval < 50) throw new QallowError('BAD_USAGE', `--interval must be at least 50 ms (got ${o.interval})`, { flag: '--interval' });
      if (o.iterations !== undefined && o.iterations < 1) throw new QallowError('BAD_USAGE', `--iterations must be at least 1 (got ${o.iterations})`, { flag: '--iterations' });
      const timeout = Math.min(o.timeout ?? MAX_REFRESH_WAIT_MS, MAX_REFRESH_WAIT_MS);
      const sample = createSampler(o.peerData ?? [], {
        call: (dir) => adminCall(dir === undefined ? { ...o, timeout } : { data: dir, adminKey: o.adminKey, timeout }, { type: 'status' }),
        nodeOf: (dir) => resolveTarget({ data: dir }).then((t) => t.node, () => dir),
        clock: Date.now,
      });

      let quit = false;
      let wake: (() => void) | undefined;
      let quitting!: () => void;
      // A key press answers at once, even while a refresh waits on a slow host.
      const quitSignal = new Promise<undefined>((resolve) => (quitting = () => resolve(undefined)));
      let last: TopSample | undefined;
      let prev: TopSample | undefined;
      const draw = (): void => {
        if (!last) return;
        if (o.json) {
          io.stdout.write(`${JSON.stringify({ at: last.at, host: last.host, peers: Object.fromEntries(last.peers), error: last.error ?? null })}\n`);
          return;
        }
        const { width, height } = screen.size();
        screen.draw(renderFrame(last, prev, { width, height, hint: screen.tty ? 'q quits' : undefined }));
      };
      // The first refresh happens before the screen opens: a host that cannot be reached fails plainly.
      last = await sample();
      const screen = openScreen(io.stdout, process.stdin, o.json === true, {
        quit: () => {
          quit = true;
          quitting();
          wake?.();
        },
        resize: draw,
      });
      try {
        for (let i = 1; ; i++) {
          draw();
          if (quit || (o.iterations !== undefined && i >= o.iterations)) break;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, o.interval);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
          if (quit) break;
          try {
            const next = await Promise.race([sample(), quitSignal]);
            if (next === undefined) break;
            prev = last;
            last = next;
          } catch (e) {
            last = { ...last, error: errorMessage(e) };
          }
        }
      } finally {
        screen.close();
      }
    });
}
