/** `qallow demo`: a whole cluster on this machine (work in progress). */
import { Command } from '@commander-js/extra-typings';
import type { CliIO } from '../io.js';

export function demoCommand(_io: CliIO): Command {
  return new Command('demo').description('a whole cluster on this machine, one scenario, a summary');
}
