#!/usr/bin/env node
/** The one CLI entry: `qallow <command> ...` (see runtime/cli/program.ts). */
import { main } from '../runtime/cli/program.js';
import { processIO } from '../runtime/cli/io.js';

// `qallow simulate ... | head` closes our stdout early: that is the reader's
// choice, not an error, so stop quietly.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const code = await main(process.argv.slice(2), processIO);
process.exitCode = code;
