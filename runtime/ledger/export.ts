/**
 * Ledger export: JSON lines. Line 1 is the header, every further line one
 * record (record.ts) in (origin, seq) order, bytes as lowercase hex:
 *
 *   {"format":"qallow-ledger-export/v1","validators":{…validators.ts file form…}}
 *   {"origin":"node-a","seq":1,"hash":"<64>","entry":"<canonical entry bytes>",
 *    "batch":{"firstSeq":1,"count":1,"root":"<64>"},"proof":["<64>",…],
 *    "originSignature":"<128>","certificate":[{"validator":"node-b","signature":"<128>"},…]}
 *
 * `origin`, `seq` and `hash` repeat what the entry bytes say, for people and
 * grep; the parser checks they agree. Parsing is strict (exact keys, types,
 * lowercase hex of exact length, canonical header), so that no change to a
 * line leaves it meaning the same thing. The header carries the validator
 * set so an export is self-describing, but a verifier must be handed the
 * validators' public keys separately (`--validators`): a set that comes in
 * the file proves nothing, so the two must be equal.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { isNodeId, type NodeId } from '../actors/address.js';
import { QallowError, type ErrorDetails } from '../errors.js';
import type { LedgerStore } from './contract.js';
import { decodeEntry, sha256 } from './entry.js';
import type { LedgerRecord } from './record.js';
import { parseValidatorSet, type ValidatorSet } from './validators.js';

export const EXPORT_FORMAT = 'qallow-ledger-export/v1';

export function exportHeaderLine(set: ValidatorSet): string {
  return JSON.stringify({ format: EXPORT_FORMAT, validators: set.toJSON() });
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export function exportLine(r: LedgerRecord): string {
  return JSON.stringify({
    origin: r.entry.origin,
    seq: r.entry.seq,
    hash: r.hash,
    entry: hex(r.bytes),
    batch: { firstSeq: r.batch.firstSeq, count: r.batch.count, root: r.batch.root },
    proof: r.proof,
    originSignature: hex(r.originSignature),
    certificate: r.certificate.votes.map((v) => ({ validator: v.validator, signature: hex(v.signature) })),
  });
}

// ---------------------------------------------------------------------------
// Parsing

type Json = Record<string, unknown>;

class LineError {
  constructor(readonly line: number) {}
  fail(field: string, problem: string, extra: ErrorDetails = {}): QallowError {
    return new QallowError('LEDGER_BAD_ENTRY', `export line ${this.line}: ${field} ${problem}`, { line: this.line, field, ...extra });
  }
}

function obj(e: LineError, v: unknown, field: string, keys: readonly string[]): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw e.fail(field, 'must be a JSON object');
  const o = v as Json;
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw e.fail(field === '' ? k : `${field}.${k}`, 'is not a known field');
  for (const k of keys) if (!Object.hasOwn(o, k)) throw e.fail(field === '' ? k : `${field}.${k}`, 'is missing');
  return o;
}

function hexField(e: LineError, v: unknown, field: string, bytes?: number): Uint8Array {
  if (typeof v !== 'string' || !/^(?:[0-9a-f]{2})*$/.test(v)) throw e.fail(field, 'must be lowercase hex');
  if (bytes !== undefined && v.length !== 2 * bytes) throw e.fail(field, `must be ${bytes} bytes (got ${v.length / 2})`);
  return new Uint8Array(Buffer.from(v, 'hex'));
}

function intField(e: LineError, v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw e.fail(field, 'must be a non-negative integer');
  return v;
}

function parseJson(e: LineError, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw e.fail('line', 'is not valid JSON');
  }
}

/** Decode and check the header line (line 1). */
export function parseExportHeader(text: string): ValidatorSet {
  const e = new LineError(1);
  const o = obj(e, parseJson(e, text), '', ['format', 'validators']);
  if (o['format'] !== EXPORT_FORMAT) throw e.fail('format', `must be "${EXPORT_FORMAT}" (is this a qallow ledger export?)`);
  let set: ValidatorSet;
  try {
    set = parseValidatorSet(o['validators'], 'export header');
  } catch (err) {
    throw e.fail('validators', err instanceof Error ? err.message : String(err));
  }
  if (exportHeaderLine(set) !== text) throw e.fail('validators', 'is not in canonical form (sorted ids, lowercase keys, no extra spaces)');
  return set;
}

/** Decode one record line (line ≥ 2); LEDGER_BAD_ENTRY naming the line and field. */
export function parseExportLine(text: string, line: number): LedgerRecord {
  const e = new LineError(line);
  const o = obj(e, parseJson(e, text), '', ['origin', 'seq', 'hash', 'entry', 'batch', 'proof', 'originSignature', 'certificate']);
  const bytes = hexField(e, o['entry'], 'entry');
  let entry;
  try {
    entry = decodeEntry(bytes);
  } catch (err) {
    if (err instanceof QallowError) throw new QallowError(err.code, `export line ${line}: ${err.message}`, { ...err.details, line });
    throw err;
  }
  const hash = sha256(bytes);
  if (o['origin'] !== entry.origin) throw e.fail('origin', `says ${JSON.stringify(o['origin'])} but the entry's origin is ${entry.origin}`);
  if (o['seq'] !== entry.seq) throw e.fail('seq', `says ${JSON.stringify(o['seq'])} but the entry's seq is ${entry.seq}`);
  if (o['hash'] !== hash) throw e.fail('hash', `is not the SHA-256 of the entry bytes (${hash})`);
  const b = obj(e, o['batch'], 'batch', ['firstSeq', 'count', 'root']);
  const root = hexField(e, b['root'], 'batch.root', 32);
  if (!Array.isArray(o['proof'])) throw e.fail('proof', 'must be an array');
  const proof = o['proof'].map((p, i) => hex(hexField(e, p, `proof[${i}]`, 32)));
  const cert = o['certificate'];
  if (!Array.isArray(cert)) throw e.fail('certificate', 'must be an array');
  const votes = cert.map((v, i) => {
    const vo = obj(e, v, `certificate[${i}]`, ['validator', 'signature']);
    const id = vo['validator'];
    if (typeof id !== 'string' || !isNodeId(id)) throw e.fail(`certificate[${i}].validator`, 'must be a node id');
    return { validator: id as NodeId, signature: hexField(e, vo['signature'], `certificate[${i}].signature`, 64) };
  });
  return {
    entry,
    bytes,
    hash,
    batch: { origin: entry.origin, firstSeq: intField(e, b['firstSeq'], 'batch.firstSeq'), count: intField(e, b['count'], 'batch.count'), root: hex(root) },
    proof,
    originSignature: hexField(e, o['originSignature'], 'originSignature', 64),
    certificate: { votes },
  };
}

// ---------------------------------------------------------------------------
// Writing

export interface ExportSummary {
  readonly entries: number;
  readonly origins: number;
}

/**
 * Write the whole ledger of `store` as JSON lines to `out` (a path, or a
 * stream such as stdout). Records are decoded on the way (a record that does
 * not decode stops the export with LEDGER_BAD_ENTRY naming it; run
 * `ledger verify` for the full picture). A file is fsynced before this resolves.
 */
export async function writeExport(store: LedgerStore, out: string | NodeJS.WritableStream): Promise<ExportSummary> {
  const set = store.validatorSet();
  if (!set) throw new QallowError('CONFIG_INVALID', 'the ledger has no validator set stored, so it has nothing to export', { field: 'validators' });
  const file = typeof out === 'string' ? createWriteStream(out, { flags: 'w', mode: 0o644 }) : undefined;
  const stream = file ?? (out as NodeJS.WritableStream);
  const write = async (line: string): Promise<void> => {
    if (!stream.write(line + '\n')) await once(stream, 'drain');
  };
  if (file) await once(file, 'open');
  let entries = 0;
  const origins = new Set<string>();
  try {
    await write(exportHeaderLine(set));
    for (const raw of store.raw()) {
      const r = await store.get(raw.origin, raw.seq);
      if (!r) continue;
      await write(exportLine(r));
      entries++;
      origins.add(r.entry.origin);
    }
  } finally {
    if (file) {
      await new Promise<void>((resolve, reject) => file.end((err?: Error | null) => (err ? reject(err) : resolve())));
    }
  }
  if (typeof out === 'string') {
    const fh = await open(out, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
  return { entries, origins: origins.size };
}
