/**
 * `qallow ledger tail [-n N] [--follow] [--interval MS] [--json]`: the newest
 * committed ledger records of a running host, then (with --follow) every
 * record it commits from then on, until Ctrl-C or SIGTERM (exit 0).
 *
 * The host answers the signed admin query `ledger.tail`
 * (runtime/governance/tail.ts, which says why this is a query and not a
 * read of the host's LMDB): records come as export lines and are parsed
 * with the export parser, so nothing printed is taken on trust in shape.
 *
 * Order: by the entry's timestamp (the origin's clock at the decision),
 * ties by origin then seq; each origin's records always in seq order. The
 * first page is the newest N overall; --follow then prints every origin's
 * records past the heads of that page, including origins that appear later.
 *
 * One line per record:
 *
 *   gov-a#12  12:00:01.234  ethics_check  run ra  epoch 3  tick 300  pass  E 3.1234 entropy 0.0001 lanes 1/1  certified 3/4
 *
 * With --json, each record is its export line (runtime/ledger/export.ts),
 * the same bytes `qallow ledger export` writes, one JSON object per line.
 */
import { Command, Option } from '@commander-js/extra-typings';
import type { LedgerCursor } from '../../admin/command.js';
import { MAX_TAIL_LIMIT } from '../../admin/command.js';
import type { LedgerTailReply } from '../../admin/replies.js';
import { QallowError } from '../../errors.js';
import { formatG } from '../../format.js';
import type { LedgerEntry } from '../../ledger/entry.js';
import { parseExportLine } from '../../ledger/export.js';
import type { LedgerRecord } from '../../ledger/record.js';
import { parseInteger, parsePositiveInteger } from '../args.js';
import { writeLine, type CliIO } from '../io.js';
import { adminCall, withTarget, type TargetOptions } from '../target.js';

/** Records per origin per poll while following (the host's limit is MAX_TAIL_LIMIT). */
const FOLLOW_PAGE = 256;

/**
 * The reply's shape is validated by the admin client (runtime/admin/replies.ts);
 * every record then goes through the export parser.
 */
function decodeReply(reply: LedgerTailReply): { reply: LedgerTailReply; records: LedgerRecord[] } {
  return { reply, records: reply.records.map((line, i) => parseExportLine(line, i + 1)) };
}

function time(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

function detail(e: LedgerEntry): string {
  switch (e.kind) {
    case 'ethics_check':
      return `threshold ${formatG(e.detail.threshold, 4)}`;
    case 'rollback':
      return `to epoch ${e.detail.toEpoch} (${e.detail.reason})`;
    case 'adaptation':
      return e.detail.rings.map((r, i) => `ring ${r} k ${formatG(e.detail.fromCoupling[i]!, 4)}→${formatG(e.detail.toCoupling[i]!, 4)}`).join(', ');
    case 'halt':
      return e.detail.reason;
    case 'admin':
      return `${e.detail.command} ${e.detail.actorOrRun}`;
    case 'supervision':
      return `${e.detail.action} ${e.detail.actor} (restarts ${e.detail.restarts})`;
  }
}

/** The human one-line form of a record (documented above). */
export function formatRecord(r: LedgerRecord, validators: number): string {
  const e = r.entry;
  const f = e.figures;
  const parts = [`${e.origin}#${e.seq}`, time(e.timestamp), e.kind];
  if (e.run !== '') parts.push(`run ${e.run}`, `epoch ${e.epoch}`, `tick ${e.tick}`);
  parts.push(e.decision);
  if (f.lanes > 0) parts.push(`E ${formatG(f.minTotal, 6)} entropy ${formatG(f.maxEntropy, 4)} lanes ${f.passed}/${f.lanes}`);
  const d = detail(e);
  if (d !== '') parts.push(d);
  parts.push(`certified ${r.certificate.votes.length}/${validators}`);
  return parts.join('  ');
}

export function ledgerTailCommand(io: CliIO): Command {
  return withTarget(new Command('tail').description("a running host's newest committed ledger records; --follow prints new ones as they commit"))
    .addOption(new Option('-n, --lines <n>', 'how many of the newest records to print first').argParser(parseInteger('-n')).default(10))
    .option('-f, --follow', 'keep printing records as they are committed, until Ctrl-C')
    .addOption(new Option('--interval <ms>', 'how often --follow asks the host').argParser(parsePositiveInteger('--interval')).default(500))
    .action(async (o) => {
      if (o.lines < 0 || o.lines > MAX_TAIL_LIMIT) throw new QallowError('BAD_USAGE', `-n must be 0..${MAX_TAIL_LIMIT} (got ${o.lines})`, { flag: '-n' });
      if (o.interval < 10) throw new QallowError('BAD_USAGE', `--interval must be at least 10 ms (got ${o.interval})`, { flag: '--interval' });
      const target: TargetOptions = o;
      const print = (records: readonly LedgerRecord[], validators: number, lines: readonly string[]): void => {
        records.forEach((r, i) => writeLine(io.stdout, o.json ? lines[i]! : formatRecord(r, validators)));
      };
      // -n 0 still needs the heads to follow from: ask for one record and print none.
      const first = decodeReply(await adminCall(target, { type: 'ledger.tail', limit: Math.max(1, o.lines) }));
      if (o.lines > 0) print(first.records, first.reply.validators, first.reply.records);
      if (!o.follow) return;
      const cursor = new Map(Object.entries(first.reply.heads));
      await follow(async (stopped) => {
        for (;;) {
          const after: LedgerCursor[] = [...cursor].map(([origin, seq]) => ({ origin, seq }));
          const page = decodeReply(await adminCall(target, { type: 'ledger.tail', limit: FOLLOW_PAGE, after }));
          if (stopped()) return;
          print(page.records, page.reply.validators, page.reply.records);
          for (const [origin, seq] of Object.entries(page.reply.heads)) cursor.set(origin, Math.max(seq, cursor.get(origin) ?? 0));
          if (!page.reply.more) return;
        }
      }, o.interval);
    });
}

/**
 * Call `poll` every `intervalMs` until SIGINT or SIGTERM; a poll in flight
 * finishes first, and one that fails ends the follow with its error.
 */
async function follow(poll: (stopped: () => boolean) => Promise<void>, intervalMs: number): Promise<void> {
  let stop = false;
  let wake: (() => void) | undefined;
  const onSignal = (): void => {
    stop = true;
    wake?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    while (!stop) {
      await poll(() => stop);
      if (stop) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
