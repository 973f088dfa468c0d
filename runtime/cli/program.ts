/**
 * The `qallow` command line: one program, each command in its own file.
 * Exit codes (SPEC §2): 0 success, 1 a failed check or operation, 2 bad
 * usage (unknown command or flag, a malformed or out-of-range value), always
 * with a one-line error that says what was wrong.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from '@commander-js/extra-typings';
import { QallowError, errorMessage } from '../errors.js';
import { simulateCommand } from './commands/simulate.js';
import { startCommand } from './commands/start.js';
import { checkpointCommand } from './commands/checkpoint.js';
import { replayCommand } from './commands/replay.js';
import { keysCommand } from './commands/keys.js';
import { statusCommand } from './commands/status.js';
import { runsCommand } from './commands/runs.js';
import { runCommand } from './commands/run.js';
import { controlCommands } from './commands/control.js';
import { actorCommand } from './commands/actor.js';
import { topCommand } from './commands/top.js';
import { plotCommand } from './commands/plot.js';
import { ledgerCommand } from './commands/ledger.js';
import { demoCommand } from './commands/demo.js';
import { EXIT, writeLine, type CliIO } from './io.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function buildProgram(io: CliIO): Command {
  const program = new Command('qallow')
    .description('qallow: a supervised, distributed, ethics-governed actor runtime for the Qallow simulation phases')
    .version(version())
    .showSuggestionAfterError()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
      // commander's own usage errors: keep them to one line
      outputError: (s, write) => write(s.trim().split('\n')[0] + '\n'),
    });
  program.addCommand(simulateCommand(io));
  program.addCommand(startCommand(io));
  program.addCommand(checkpointCommand(io));
  program.addCommand(replayCommand(io));
  program.addCommand(keysCommand(io));
  program.addCommand(statusCommand(io));
  program.addCommand(runsCommand(io));
  program.addCommand(runCommand(io));
  for (const c of controlCommands(io)) program.addCommand(c);
  program.addCommand(actorCommand(io));
  program.addCommand(topCommand(io));
  program.addCommand(plotCommand(io));
  program.addCommand(ledgerCommand(io));
  program.addCommand(demoCommand(io));
  // Every subcommand exits through us, never through process.exit.
  const seal = (c: Command<unknown[], Record<string, unknown>>): void => {
    c.exitOverride();
    c.configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
      outputError: (s, write) => write(s.trim().split('\n')[0] + '\n'),
    });
    for (const sub of c.commands) seal(sub as unknown as Command<unknown[], Record<string, unknown>>);
  };
  seal(program as unknown as Command<unknown[], Record<string, unknown>>);
  return program;
}

export function exitCodeFor(e: unknown): number {
  if (e instanceof QallowError && e.code === 'INTERRUPTED') return EXIT.interrupted;
  if (e instanceof QallowError) return e.code === 'BAD_USAGE' || e.code === 'BAD_PARAMETER' ? EXIT.usage : EXIT.failed;
  return EXIT.failed;
}

/** Run the CLI; resolves to the process exit code. */
export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version are "errors" to commander; they already printed
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.ok;
      return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (e instanceof QallowError && (e.code === 'BAD_USAGE' || e.code === 'BAD_PARAMETER')) {
      writeLine(io.stderr, `error: ${e.message}`);
      return EXIT.usage;
    }
    writeLine(io.stderr, `error: ${errorMessage(e)}`);
    return exitCodeFor(e);
  }
}
