/**
 * `qallow top`: the host's live figures in the terminal, redrawn in place
 * every `--interval` ms: runs (tick, epoch, E, decision, executor), actors
 * (mailbox, processed, p99, restarts) and the pool. `q` or Ctrl-C exits; so
 * does `--iterations N` (scripts). Without a TTY it prints one frame per
 * refresh, separated by blank lines.
 */
import { Command } from '@commander-js/extra-typings';
import { parseInteger } from '../args.js';
import { adminCall, withTarget } from '../target.js';
import { type CliIO } from '../io.js';
import { runsTable } from './runs.js';

function frame(s: Record<string, unknown>, width: number): string[] {
  const lines: string[] = [];
  const pool = s['pool'] as Record<string, number> | null;
  lines.push(`qallow top — ${String(s['node'])}  ${new Date().toISOString()}  (q to quit)`);
  if (pool) lines.push(`pool  threads ${pool['threads']}  running ${pool['running']}  queued ${pool['queued']}  done ${pool['completed']}  crashed ${pool['crashed']}  util ${(100 * (pool['utilization'] ?? 0)).toFixed(0)}%`);
  lines.push('');
  lines.push(...runsTable((s['runs'] as Array<Record<string, unknown>>) ?? []));
  lines.push('');
  lines.push('actor                                     state      mailbox   processed   p50 ms   p99 ms  restarts');
  for (const a of (s['actors'] as Array<Record<string, unknown>>) ?? []) {
    lines.push(
      `${String(a['actor']).padEnd(41)} ${String(a['state']).padEnd(10)} ${`${a['mailboxDepth']}/${a['mailboxCapacity']}`.padEnd(9)} ${String(a['processed']).padStart(9)} ${Number(a['processingP50Ms']).toFixed(1).padStart(8)} ${Number(a['processingP99Ms']).toFixed(1).padStart(8)} ${String(a['restarts']).padStart(9)}`,
    );
  }
  return lines.map((l) => (l.length > width ? l.slice(0, width) : l));
}

export function topCommand(io: CliIO): Command {
  return withTarget(new Command('top').description('live per-actor and per-run metrics, refreshed in place'))
    .option('--interval <ms>', 'refresh interval', parseInteger('--interval'), 1000)
    .option('--iterations <n>', 'exit after this many refreshes', parseInteger('--iterations'))
    .action(async (o) => {
      const out = io.stdout as NodeJS.WriteStream;
      const tty = out.isTTY === true;
      const stdin = process.stdin;
      let quit = false;
      let wake: (() => void) | undefined;
      const onKey = (b: Buffer): void => {
        const k = b.toString();
        if (k === 'q' || k === '\u0003') {
          quit = true;
          wake?.();
        }
      };
      if (tty && stdin.isTTY) {
        stdin.setRawMode(true);
        stdin.resume();
        stdin.on('data', onKey);
      }
      const onSig = (): void => {
        quit = true;
        wake?.();
      };
      process.once('SIGINT', onSig);
      if (tty) out.write('\x1b[?25l\x1b[2J');
      try {
        for (let i = 0; !quit && (o.iterations === undefined || i < o.iterations); i++) {
          const s = (await adminCall(o, { type: 'status' })) as Record<string, unknown>;
          const lines = frame(s, tty ? out.columns || 120 : 200);
          if (tty) out.write(`\x1b[H${lines.map((l) => `${l}\x1b[K`).join('\n')}\x1b[J`);
          else out.write(`${lines.join('\n')}\n\n`);
          if (o.iterations !== undefined && i + 1 >= o.iterations) break;
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, o.interval);
          });
        }
      } finally {
        process.removeListener('SIGINT', onSig);
        if (tty) out.write('\x1b[?25h\n');
        if (tty && stdin.isTTY) {
          stdin.removeListener('data', onKey);
          stdin.setRawMode(false);
          stdin.pause();
        }
      }
    });
}
