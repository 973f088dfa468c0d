#!/usr/bin/env node
/** The one CLI entry: `qallow <command> ...` (see runtime/cli/program.ts). */
import { main } from '../runtime/cli/program.js';
import { processIO } from '../runtime/cli/io.js';

const code = await main(process.argv.slice(2), processIO);
process.exitCode = code;
