#!/usr/bin/env node
/** The one CLI entry: `qallow <command> ...` (see runtime/cli/program.ts). */
import { main } from '../runtime/cli/program.js';
import { processIO } from '../runtime/cli/io.js';

const EXIT_GRACE_MS = 5000;

// `qallow simulate ... | head` closes our stdout early: that is the reader's
// choice, not an error, so stop quietly.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const code = await main(process.argv.slice(2), processIO);
process.exitCode = code;
// The command is over: whatever still holds the event loop (a socket or timer a library left open)
// must not keep the process, and its ports, alive. Unref'd, so a clean exit is not delayed.
setTimeout(() => {
  process.stderr.write(`qallow: still running ${EXIT_GRACE_MS} ms after the command ended (open: ${process.getActiveResourcesInfo().join(', ') || 'nothing'}); exiting\n`);
  process.exit(code);
}, EXIT_GRACE_MS).unref();
