/**
 * The validator set: which hosts' votes count, with their Ed25519 public
 * keys, and which hosts may write entries (origins). Offline verification
 * needs it, so it travels three ways, all through `parseValidatorSet`:
 *
 *   - a file:       {"format":"qallow-validators/v1",
 *                    "validators":[{"nodeId","publicKey"}...],
 *                    "origins":[{"nodeId","publicKey"}...]}      origins optional: hosts that write
 *                                                                  entries without voting
 *                   or a JSON array of node.json objects (`qallow keys gen`) or {nodeId, publicKey};
 *   - a directory:  every `*.json` in it whose format is qallow-node/v1 (other qallow key files
 *                   such as admin.json are skipped; *.secret.json is never read), and `*\/node.json`
 *                   one level down, so `--validators keys/` works on a folder of keys gen outputs;
 *   - the ledger:   the store keeps the set it was opened with (lmdb-store.ts), and every export
 *                   starts with it (export.ts).
 *
 * Every validator is also an origin. Node ids and public keys must be
 * distinct: one key under two ids would count twice toward a quorum.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isNodeId, type NodeId } from '../actors/address.js';
import { QallowError } from '../errors.js';
import { Ed25519PublicKey } from '../identity/ed25519.js';
import { FORMATS, KEY_FILES, parseNodePublic } from '../identity/files.js';
import { keyInvalid } from '../identity/key-error.js';

export const VALIDATORS_FORMAT = 'qallow-validators/v1';

/** Strictly more than two thirds of n: 3 of 4, 5 of 7 (SPEC §3). */
export function quorum(n: number): number {
  return Math.floor((2 * n) / 3) + 1;
}

export interface Member {
  readonly nodeId: NodeId;
  readonly publicKey: Ed25519PublicKey;
}

export interface ValidatorSetFile {
  readonly format: typeof VALIDATORS_FORMAT;
  readonly validators: { nodeId: string; publicKey: string }[];
  readonly origins: { nodeId: string; publicKey: string }[];
}

export class ValidatorSet {
  /** Validators by node id. */
  readonly validators: ReadonlyMap<NodeId, Ed25519PublicKey>;
  /** Every host whose entries are accepted (validators included), by node id. */
  readonly origins: ReadonlyMap<NodeId, Ed25519PublicKey>;

  private constructor(validators: Map<NodeId, Ed25519PublicKey>, origins: Map<NodeId, Ed25519PublicKey>) {
    this.validators = validators;
    this.origins = origins;
  }

  /** Build from members (KEY_INVALID on a repeated id or key, or no validators). */
  static of(validators: readonly Member[], extraOrigins: readonly Member[] = [], source = 'validator set'): ValidatorSet {
    if (validators.length === 0) throw keyInvalid({ field: 'validators', file: source }, 'must name at least one validator');
    const v = new Map<NodeId, Ed25519PublicKey>();
    const o = new Map<NodeId, Ed25519PublicKey>();
    const keys = new Map<string, string>();
    const add = (m: Member, field: string, validator: boolean): void => {
      if (!isNodeId(m.nodeId)) throw keyInvalid({ field: `${field}.nodeId`, file: source }, `must be a node id (got ${JSON.stringify(m.nodeId)})`);
      if (o.has(m.nodeId)) throw keyInvalid({ field: `${field}.nodeId`, file: source }, `repeats node id ${m.nodeId}`);
      const other = keys.get(m.publicKey.hex);
      if (other !== undefined) throw keyInvalid({ field: `${field}.publicKey`, file: source }, `is also the key of ${other}; one key must not count twice`);
      keys.set(m.publicKey.hex, m.nodeId);
      o.set(m.nodeId, m.publicKey);
      if (validator) v.set(m.nodeId, m.publicKey);
    };
    validators.forEach((m, i) => add(m, `validators[${i}]`, true));
    extraOrigins.forEach((m, i) => add(m, `origins[${i}]`, false));
    const sorted = <T>(m: Map<NodeId, T>): Map<NodeId, T> => new Map([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return new ValidatorSet(sorted(v), sorted(o));
  }

  get size(): number {
    return this.validators.size;
  }

  /** Votes needed to certify: floor(2n/3) + 1. */
  get quorum(): number {
    return quorum(this.validators.size);
  }

  toJSON(): ValidatorSetFile {
    const list = (m: ReadonlyMap<NodeId, Ed25519PublicKey>, skip?: ReadonlyMap<NodeId, Ed25519PublicKey>): { nodeId: string; publicKey: string }[] =>
      [...m].filter(([id]) => !skip?.has(id)).map(([nodeId, k]) => ({ nodeId, publicKey: k.hex }));
    return { format: VALIDATORS_FORMAT, validators: list(this.validators), origins: list(this.origins, this.validators) };
  }

  /** Same validators and origins with the same keys. */
  equals(other: ValidatorSet): boolean {
    return JSON.stringify(this.toJSON()) === JSON.stringify(other.toJSON());
  }
}

// ---------------------------------------------------------------------------
// Decoding

function member(value: unknown, field: string, file: string): Member {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw keyInvalid({ field, file }, 'must be an object');
  const o = value as Record<string, unknown>;
  if (o['format'] === FORMATS.nodePublic) {
    const n = parseNodePublic(value, file);
    return { nodeId: n.nodeId, publicKey: n.ed25519.publicKey };
  }
  for (const k of Object.keys(o)) if (k !== 'nodeId' && k !== 'publicKey') throw keyInvalid({ field: `${field}.${k}`, file }, 'is not a known field (expected nodeId, publicKey)');
  const id = o['nodeId'];
  if (typeof id !== 'string' || !isNodeId(id)) throw keyInvalid({ field: `${field}.nodeId`, file }, `must be a node id (got ${JSON.stringify(id)})`);
  return { nodeId: id, publicKey: Ed25519PublicKey.fromHex(o['publicKey'], { field: `${field}.publicKey`, file }) };
}

/** Decode a validator set from parsed JSON (KEY_INVALID naming the field). */
export function parseValidatorSet(value: unknown, source = 'validator set'): ValidatorSet {
  if (Array.isArray(value)) return ValidatorSet.of(value.map((m, i) => member(m, `[${i}]`, source)), [], source);
  if (typeof value !== 'object' || value === null) throw keyInvalid({ field: '', file: source }, 'must be a JSON object or array');
  const o = value as Record<string, unknown>;
  if (o['format'] !== VALIDATORS_FORMAT) throw keyInvalid({ field: 'format', file: source }, `must be "${VALIDATORS_FORMAT}" (got ${JSON.stringify(o['format'])})`);
  for (const k of Object.keys(o)) if (!['format', 'validators', 'origins'].includes(k)) throw keyInvalid({ field: k, file: source }, 'is not a known field (expected format, validators, origins)');
  const arr = (k: string): unknown[] => {
    const a = o[k] ?? [];
    if (!Array.isArray(a)) throw keyInvalid({ field: k, file: source }, 'must be an array');
    return a;
  };
  return ValidatorSet.of(
    arr('validators').map((m, i) => member(m, `validators[${i}]`, source)),
    arr('origins').map((m, i) => member(m, `origins[${i}]`, source)),
    source,
  );
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new QallowError('IO_ERROR', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { path }, { cause: e });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw keyInvalid({ field: '', file: path }, `is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
}

const OTHER_KEY_FORMATS: readonly string[] = [FORMATS.adminPublic];

/** `--validators PATH`: a validator-set file or a directory of node.json files (see the top of this file). */
export async function readValidatorSet(path: string): Promise<ValidatorSet> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (e) {
    throw new QallowError('IO_ERROR', `cannot read validators from ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { path }, { cause: e });
  }
  if (!isDir) return parseValidatorSet(await readJson(path), path);
  const members: Member[] = [];
  const names = (await readdir(path, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const d of names) {
    let file: string | undefined;
    if (d.isFile() && d.name.endsWith('.json') && !d.name.endsWith('.secret.json')) file = join(path, d.name);
    else if (d.isDirectory()) {
      const inner = join(path, d.name, KEY_FILES.nodePublic);
      if (await stat(inner).then((s) => s.isFile(), () => false)) file = inner;
    }
    if (file === undefined) continue;
    const json = await readJson(file);
    const format = typeof json === 'object' && json !== null ? (json as Record<string, unknown>)['format'] : undefined;
    if (typeof format === 'string' && OTHER_KEY_FORMATS.includes(format)) continue;
    members.push(member(json, '', file));
  }
  if (members.length === 0) throw keyInvalid({ field: '', file: path }, `holds no ${KEY_FILES.nodePublic} files (expected *.json or */${KEY_FILES.nodePublic} from \`qallow keys gen\`)`);
  return ValidatorSet.of(members, [], path);
}
