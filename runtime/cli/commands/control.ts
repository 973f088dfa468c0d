/** `qallow pause|resume|cancel RUN` and `qallow shutdown`. */
import { Command } from '@commander-js/extra-typings';
import { adminCall, withTarget } from '../target.js';
import { writeLine, type CliIO } from '../io.js';

export function controlCommands(io: CliIO): Command[] {
  const run = (['pause', 'resume', 'cancel'] as const).map((type) =>
    withTarget(new Command(type).description(`${type} a run at its next epoch boundary`).argument('<run>', 'run id')).action(async (runId, o) => {
      const s = await adminCall(o, { type, run: runId });
      if (o.json) return writeLine(io.stdout, JSON.stringify(s));
      writeLine(io.stdout, `${s.run}: ${s.state} at tick ${s.tick} (epoch ${s.epoch})`);
    }),
  );
  const shutdown = withTarget(new Command('shutdown').description('graceful: drain runs (checkpoint), close, exit')).action(async (o) => {
    const r = await adminCall(o, { type: 'shutdown' });
    // `ledger`: whether the shutdown's entry was certified before the stop (or why not).
    writeLine(io.stdout, o.json ? JSON.stringify(r) : `${r.node}: ${r.action}; ledger entry ${r.ledger}`);
  });
  return [...run, shutdown] as unknown as Command[];
}
