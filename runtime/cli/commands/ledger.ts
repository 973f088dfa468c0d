/**
 * `qallow ledger verify` and `qallow ledger export` (offline, SPEC §2):
 *
 *   qallow ledger verify --data DIR [--validators PATH] [--json]
 *   qallow ledger verify --file EXPORT.jsonl --validators PATH [--json]
 *   qallow ledger export --data DIR [--out FILE] [--json]
 *
 * verify exits 0 when every record checks out, 1 at the first bad one (named:
 * origin, seq, line for a file, and what is wrong), 2 on bad usage. What it
 * checks: runtime/ledger/verify.ts. `--validators` is a validator-set JSON
 * file or a directory of node.json files (runtime/ledger/validators.ts).
 * `ledger tail` talks to a running host and lives with the protocol.
 */
import { Command } from '@commander-js/extra-typings';
import { QallowError } from '../../errors.js';
import { writeExport } from '../../ledger/export.js';
import { withOfflineLedger } from '../../ledger/offline.js';
import { readValidatorSet } from '../../ledger/validators.js';
import { assertDataDir, verifyExportFile, verifyLedgerData, type VerifyReport } from '../../ledger/verify.js';
import { writeLine, type CliIO } from '../io.js';
import { ledgerTailCommand } from './ledger-tail.js';

function usage(message: string, flag: string): QallowError {
  return new QallowError('BAD_USAGE', message, { flag });
}

function where(p: NonNullable<VerifyReport['problem']>): string {
  const at = p.origin !== null && p.seq !== null ? `${p.origin}#${p.seq}` : p.origin ?? '';
  const line = p.line !== null ? `line ${p.line}` : '';
  return [at, line].filter((s) => s !== '').join(', ') || 'the ledger';
}

function printReport(io: CliIO, r: VerifyReport, json: boolean): void {
  if (json) {
    writeLine(io.stdout, JSON.stringify(r));
    return;
  }
  const v = `${r.validators.ids.length} validators (${r.validators.ids.join(', ')}), quorum ${r.validators.quorum}`;
  if (r.ok) {
    writeLine(io.stdout, `ledger ok: ${r.entries} entries from ${r.heads.length} origins in ${r.source}; ${v}`);
  } else {
    writeLine(io.stdout, `ledger FAILED at ${where(r.problem!)}: ${r.problem!.message} [${r.problem!.code}]`);
    writeLine(io.stdout, `  ${r.entries} entries before it verified; ${v}`);
  }
  for (const h of r.heads) writeLine(io.stdout, `  ${h.origin.padEnd(24)} seq ${String(h.seq).padStart(8)}  head ${h.hash.slice(0, 16)}…`);
}

export function ledgerCommand(io: CliIO): Command {
  const cmd = new Command('ledger').description('the governance ledger: verify and export (offline)');
  cmd.addCommand(
    new Command('verify')
      .description('check chains, origin signatures, proofs and quorum certificates; stop at the first bad entry (offline)')
      .option('--data <dir>', "a host's data directory")
      .option('--file <export>', 'an export from `qallow ledger export` (needs --validators)')
      .option('--validators <path>', 'validator set: a JSON file or a directory of node.json files')
      .option('--json', 'the report as one JSON object')
      .action(async (o) => {
        if ((o.data === undefined) === (o.file === undefined)) throw usage('give exactly one of --data DIR or --file EXPORT', o.data === undefined ? '--data' : '--file');
        if (o.file !== undefined && o.validators === undefined) {
          throw usage('--file needs --validators PATH: the export names its validators, but their keys must come from you', '--validators');
        }
        const set = o.validators === undefined ? undefined : await readValidatorSet(o.validators);
        const report = o.file !== undefined ? await verifyExportFile(o.file, set!) : await verifyLedgerData(o.data!, set);
        printReport(io, report, o.json === true);
        if (!report.ok) {
          const p = report.problem!;
          throw new QallowError(p.code, `ledger verification failed at ${where(p)}`, { origin: p.origin, seq: p.seq, line: p.line });
        }
      }),
  );
  cmd.addCommand(
    new Command('export')
      .description('write the ledger as JSON lines: a header with the validator set, then one certified entry per line (offline)')
      .requiredOption('--data <dir>', "the host's data directory")
      .option('--out <file>', 'write here instead of standard output')
      .option('--json', 'print the summary as JSON')
      .action(async (o) => {
        await assertDataDir(o.data);
        await withOfflineLedger(o.data, async (ledger) => {
          const summary = await writeExport(ledger, o.out ?? io.stdout);
          const report = o.json ? JSON.stringify({ ...summary, out: o.out ?? null }) : `exported ${summary.entries} entries from ${summary.origins} origins${o.out ? ` to ${o.out}` : ''}`;
          // With no --out the lines are on stdout, so the summary goes to stderr.
          writeLine(o.out ? io.stdout : io.stderr, report);
        });
      }),
  );
  cmd.addCommand(ledgerTailCommand(io));
  return cmd;
}
