/**
 * Offline verification of a whole ledger, from a host's data directory or
 * from an export file. For every record, in order, it checks:
 *
 *   1. it decodes (every field valid; an export line's origin/seq/hash agree
 *      with the entry bytes; a stored record sits under its own key);
 *   2. its origin is a known host and the origin's signature of the batch
 *      verifies (the one Ed25519 rule, runtime/identity/ed25519.ts);
 *   3. its inclusion proof leads from the entry hash, at index
 *      seq − firstSeq, to the signed batch root;
 *   4. its certificate holds at least quorum(n) votes, from distinct
 *      configured validators, every one of which verifies;
 *   5. its origin's chain continues: seq = previous + 1 and prevHash = the
 *      previous entry's hash, so no entry is missing, replayed or reordered.
 *
 * It stops at the first bad record and names it (origin, seq, and for a file
 * the line), with the error code and what is wrong. The validator set comes
 * from `--validators` (files or a directory of node.json) or, for a data
 * directory, from the set stored in the ledger; when both are there they
 * must be equal.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { QallowError, errorMessage, type ErrorCode } from '../errors.js';
import { lmdbPath } from '../store/lmdb.js';
import { ChainChecker, type ChainHead } from './chain.js';
import { parseExportHeader, parseExportLine } from './export.js';
import { withOfflineLedger } from './offline.js';
import { BatchCache, checkRecord, decodeRecord, type LedgerRecord } from './record.js';
import type { ValidatorSet } from './validators.js';

export interface VerifyProblem {
  readonly origin: string | null;
  readonly seq: number | null;
  /** Export line (1-based), for files. */
  readonly line: number | null;
  readonly code: ErrorCode;
  readonly message: string;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly source: string;
  /** Records that passed every check. */
  readonly entries: number;
  readonly validators: { readonly ids: readonly string[]; readonly quorum: number };
  /** Each origin's verified head. */
  readonly heads: readonly ChainHead[];
  readonly problem: VerifyProblem | null;
}

/** One record to verify: where it is, and how to decode it. */
export interface VerifyItem {
  readonly origin?: string | undefined;
  readonly seq?: number | undefined;
  readonly line?: number | undefined;
  readonly load: () => LedgerRecord;
}

function problemOf(e: unknown, item: VerifyItem | null): VerifyProblem {
  const d = e instanceof QallowError ? e.details : {};
  const origin = typeof d['origin'] === 'string' ? d['origin'] : (item?.origin ?? null);
  const seq = typeof d['seq'] === 'number' ? d['seq'] : (item?.seq ?? null);
  const line = typeof d['line'] === 'number' ? d['line'] : (item?.line ?? null);
  return { origin, seq, line, code: e instanceof QallowError ? e.code : 'INTERNAL', message: errorMessage(e) };
}

/** Verify records in order against `set`; stops at the first problem. */
export async function verifyRecords(items: Iterable<VerifyItem> | AsyncIterable<VerifyItem>, set: ValidatorSet, source: string): Promise<VerifyReport> {
  const chain = new ChainChecker();
  const cache = new BatchCache();
  let problem: VerifyProblem | null = null;
  for await (const item of items) {
    try {
      const r = item.load();
      checkRecord(r, set, cache);
      chain.accept({ origin: r.entry.origin, seq: r.entry.seq, prevHash: r.entry.prevHash, hash: r.hash });
    } catch (e) {
      problem = problemOf(e, item);
      break;
    }
  }
  return { ok: problem === null, source, entries: chain.count, validators: { ids: [...set.validators.keys()], quorum: set.quorum }, heads: chain.heads(), problem };
}

function failedReport(source: string, set: ValidatorSet | undefined, problem: VerifyProblem): VerifyReport {
  return { ok: false, source, entries: 0, validators: { ids: set ? [...set.validators.keys()] : [], quorum: set?.quorum ?? 0 }, heads: [], problem };
}

/** IO_ERROR unless `dataDir` holds an LMDB environment (so offline tools never create one). */
export async function assertDataDir(dataDir: string): Promise<void> {
  const path = lmdbPath(dataDir);
  if (!(await stat(path).then((s) => s.isDirectory(), () => false))) {
    throw new QallowError('IO_ERROR', `${dataDir} has no LMDB environment (${path}); is it a qallow data directory?`, { dataDir });
  }
}

/** `ledger verify --data DIR [--validators PATH]`. */
export async function verifyLedgerData(dataDir: string, given?: ValidatorSet): Promise<VerifyReport> {
  await assertDataDir(dataDir);
  return withOfflineLedger(dataDir, async (ledger) => {
    const stored = ledger.validatorSet();
    if (stored && given && !stored.equals(given)) {
      return failedReport(dataDir, given, {
        origin: null,
        seq: null,
        line: null,
        code: 'LEDGER_CONFLICT',
        message: 'the validator set stored in the ledger differs from --validators',
      });
    }
    const set = given ?? stored;
    if (!set) throw new QallowError('CONFIG_INVALID', `${dataDir} holds no ledger validator set; pass --validators PATH`, { dataDir });
    function* items(): Iterable<VerifyItem> {
      for (const raw of ledger.raw()) {
        yield {
          origin: raw.origin,
          seq: raw.seq,
          load: () => {
            const r = decodeRecord(raw.bytes, `ledger record ${raw.origin}#${raw.seq}`);
            if (r.entry.origin !== raw.origin || r.entry.seq !== raw.seq) {
              throw new QallowError('LEDGER_BAD_CHAIN', `${raw.origin}#${raw.seq}: the record stored here is ${r.entry.origin}#${r.entry.seq} (moved or reordered)`, {
                origin: raw.origin,
                seq: raw.seq,
                problem: 'out-of-order',
              });
            }
            return r;
          },
        };
      }
    }
    return await verifyRecords(items(), set, dataDir);
  });
}

/** Verify export lines (header first) against `given`; the parsing and checks of `verifyExportFile`, without the file. */
export async function verifyExportLines(lines: Iterable<string> | AsyncIterable<string>, given: ValidatorSet, source: string): Promise<VerifyReport> {
  const it = (Symbol.asyncIterator in lines ? lines[Symbol.asyncIterator]() : lines[Symbol.iterator]()) as AsyncIterator<string> | Iterator<string>;
  const first = await it.next();
  if (first.done) return failedReport(source, given, { origin: null, seq: null, line: 1, code: 'LEDGER_BAD_ENTRY', message: 'the export is empty (no header line)' });
  let inFile: ValidatorSet;
  try {
    inFile = parseExportHeader(first.value);
  } catch (e) {
    return failedReport(source, given, problemOf(e, { line: 1, load: () => undefined as never }));
  }
  if (!inFile.equals(given)) {
    return failedReport(source, given, { origin: null, seq: null, line: 1, code: 'LEDGER_CONFLICT', message: 'export line 1: the validator set in the export differs from --validators' });
  }
  async function* items(): AsyncIterable<VerifyItem> {
    let n = 1;
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      const line = ++n;
      const text = next.value;
      yield { line, load: () => parseExportLine(text, line) };
    }
  }
  return verifyRecords(items(), given, source);
}

/** `ledger verify --file EXPORT --validators PATH`. */
export async function verifyExportFile(file: string, given: ValidatorSet): Promise<VerifyReport> {
  const input = createReadStream(file, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    input.once('open', () => resolve());
    input.once('error', (e) => reject(new QallowError('IO_ERROR', `cannot read ${file}: ${errorMessage(e)}`, { file }, { cause: e })));
  });
  await opened;
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    return await verifyExportLines(lines, given, file);
  } finally {
    lines.close();
    input.destroy();
  }
}
