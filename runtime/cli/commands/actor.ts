/** `qallow actor restart|stop ACTOR`: operator control and fault injection. */
import { Command } from '@commander-js/extra-typings';
import { adminCall, withTarget } from '../target.js';
import { writeLine, type CliIO } from '../io.js';

export function actorCommand(io: CliIO): Command {
  const cmd = new Command('actor').description('operator control of one actor (qallow://NODE/runs/RUN)');
  for (const type of ['restart', 'stop'] as const) {
    cmd.addCommand(
      withTarget(new Command(type).description(type === 'restart' ? 'crash the actor so its supervisor restarts it (fault injection)' : 'stop the actor for good').argument('<actor>', 'qallow://NODE/runs/RUN')).action(async (actor, o) => {
        const r = await adminCall(o, { type: `actor.${type}`, actor });
        writeLine(io.stdout, o.json ? JSON.stringify(r) : `${r.actor}: ${r.action}`);
      }),
    );
  }
  return cmd;
}
