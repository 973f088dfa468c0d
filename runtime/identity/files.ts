/**
 * Key files (what `qallow keys gen --out DIR` writes and hosts load):
 *
 *   node.json          public  {"format":"qallow-node/v1","nodeId","ed25519":{"publicKey"},"curve":{"publicKey"}}
 *   node.secret.json   0600    {"format":"qallow-node-secret/v1","nodeId","ed25519":{"publicKey","secretKey"},"curve":{"publicKey","secretKey"}}
 *   admin.json         public  {"format":"qallow-admin/v1","publicKey"}
 *   admin.secret.json  0600    {"format":"qallow-admin-secret/v1","publicKey","secretKey"}
 *
 * Ed25519 keys are lowercase hex (public: 32 bytes; secret: the 32-byte RFC
 * 8032 seed), CURVE keys Z85 (40 characters). Secret files repeat the public
 * keys so one file is a whole identity; loading checks that they belong to
 * the secret keys.
 *
 * Loading is decoding untrusted input: a missing or extra field, a wrong
 * length, bad hex or Z85, a point that is not a usable public key, or halves
 * that do not match fail with KEY_INVALID naming the file and the field. An
 * unreadable file is IO_ERROR.
 *
 * Writing never leaves a half-written key file: each file is written to a
 * temporary name (mode 0600 for secrets, fsynced) and then linked into place
 * (refusing to replace an existing file) or, with `force`, renamed over it.
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, lstat, mkdir, open, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { isNodeId, type NodeId } from '../actors/address.js';
import { QallowError } from '../errors.js';
import { curvePair, curvePublicKey } from './curve.js';
import { Ed25519PublicKey, Ed25519SecretKey } from './ed25519.js';
import type { AdminKeyPair, NodeIdentity, NodePublicIdentity } from './identity.js';
import { keyInvalid, type KeySource } from './key-error.js';

export const KEY_FILES = {
  nodePublic: 'node.json',
  nodeSecret: 'node.secret.json',
  adminPublic: 'admin.json',
  adminSecret: 'admin.secret.json',
} as const;

export type KeyFileKind = keyof typeof KEY_FILES;

export const FORMATS = {
  nodePublic: 'qallow-node/v1',
  nodeSecret: 'qallow-node-secret/v1',
  adminPublic: 'qallow-admin/v1',
  adminSecret: 'qallow-admin-secret/v1',
} as const satisfies Record<KeyFileKind, string>;

const SECRET_MODE = 0o600;
const PUBLIC_MODE = 0o644;

// ---------------------------------------------------------------------------
// JSON shapes

export interface NodePublicFile {
  readonly format: typeof FORMATS.nodePublic;
  readonly nodeId: string;
  readonly ed25519: { readonly publicKey: string };
  readonly curve: { readonly publicKey: string };
}

export interface NodeSecretFile {
  readonly format: typeof FORMATS.nodeSecret;
  readonly nodeId: string;
  readonly ed25519: { readonly publicKey: string; readonly secretKey: string };
  readonly curve: { readonly publicKey: string; readonly secretKey: string };
}

export interface AdminPublicFile {
  readonly format: typeof FORMATS.adminPublic;
  readonly publicKey: string;
}

export interface AdminSecretFile {
  readonly format: typeof FORMATS.adminSecret;
  readonly publicKey: string;
  readonly secretKey: string;
}

export function nodePublicFile(identity: NodePublicIdentity): NodePublicFile {
  return { format: FORMATS.nodePublic, nodeId: identity.nodeId, ed25519: { publicKey: identity.ed25519.publicKey.hex }, curve: { publicKey: identity.curve.publicKey } };
}

export function nodeSecretFile(identity: NodeIdentity): NodeSecretFile {
  return {
    format: FORMATS.nodeSecret,
    nodeId: identity.nodeId,
    ed25519: { publicKey: identity.ed25519.publicKey.hex, secretKey: identity.ed25519.secretKey.toHex() },
    curve: { publicKey: identity.curve.publicKey, secretKey: identity.curve.secretKey },
  };
}

export function adminPublicFile(publicKey: Ed25519PublicKey): AdminPublicFile {
  return { format: FORMATS.adminPublic, publicKey: publicKey.hex };
}

export function adminSecretFile(admin: AdminKeyPair): AdminSecretFile {
  return { format: FORMATS.adminSecret, publicKey: admin.publicKey.hex, secretKey: admin.secretKey.toHex() };
}

// ---------------------------------------------------------------------------
// Decoding

type Json = Record<string, unknown>;

/** A plain object with exactly the `required` keys (and no others). */
function object(value: unknown, field: string, file: string | undefined, required: readonly string[]): Json {
  const src: KeySource = { field, file };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw keyInvalid(src, `must be a JSON object (got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value})`);
  }
  const o = value as Json;
  const at = (k: string): string => (field === '' ? k : `${field}.${k}`);
  for (const k of required) {
    if (!Object.hasOwn(o, k)) throw keyInvalid({ field: at(k), file }, 'is missing');
  }
  for (const k of Object.keys(o)) {
    if (!required.includes(k)) throw keyInvalid({ field: at(k), file }, `is not a known field (expected ${required.join(', ')})`);
  }
  return o;
}

function format(o: Json, expected: string, file: string | undefined): void {
  if (o['format'] !== expected) {
    throw keyInvalid({ field: 'format', file }, `must be "${expected}" (got ${JSON.stringify(o['format'])}); is this the right file?`);
  }
}

function nodeIdField(value: unknown, file: string | undefined): NodeId {
  if (typeof value !== 'string' || !isNodeId(value)) {
    throw keyInvalid({ field: 'nodeId', file }, `must be 1-63 characters of a-z, 0-9, "-" or ".", starting and ending with a letter or digit (got ${JSON.stringify(value)})`);
  }
  return value;
}

function secretPair(publicHex: unknown, secretHex: unknown, prefix: string, file: string | undefined): AdminKeyPair {
  const publicKey = Ed25519PublicKey.fromHex(publicHex, { field: `${prefix}publicKey`, file });
  const secretKey = Ed25519SecretKey.fromHex(secretHex, { field: `${prefix}secretKey`, file });
  if (!secretKey.publicKey.equals(publicKey)) {
    throw keyInvalid({ field: `${prefix}publicKey`, file }, `does not belong to ${prefix}secretKey (its public key is ${secretKey.publicKey.hex})`);
  }
  return { publicKey, secretKey };
}

export function parseNodePublic(value: unknown, file?: string): NodePublicIdentity {
  const o = object(value, '', file, ['format', 'nodeId', 'ed25519', 'curve']);
  format(o, FORMATS.nodePublic, file);
  const nodeId = nodeIdField(o['nodeId'], file);
  const ed = object(o['ed25519'], 'ed25519', file, ['publicKey']);
  const curve = object(o['curve'], 'curve', file, ['publicKey']);
  return {
    nodeId,
    ed25519: { publicKey: Ed25519PublicKey.fromHex(ed['publicKey'], { field: 'ed25519.publicKey', file }) },
    curve: { publicKey: curvePublicKey(curve['publicKey'], { field: 'curve.publicKey', file }) },
  };
}

export function parseNodeSecret(value: unknown, file?: string): NodeIdentity {
  const o = object(value, '', file, ['format', 'nodeId', 'ed25519', 'curve']);
  format(o, FORMATS.nodeSecret, file);
  const nodeId = nodeIdField(o['nodeId'], file);
  const ed = object(o['ed25519'], 'ed25519', file, ['publicKey', 'secretKey']);
  const curve = object(o['curve'], 'curve', file, ['publicKey', 'secretKey']);
  return {
    nodeId,
    ed25519: secretPair(ed['publicKey'], ed['secretKey'], 'ed25519.', file),
    curve: curvePair(curve['publicKey'], curve['secretKey'], {
      publicKey: { field: 'curve.publicKey', file },
      secretKey: { field: 'curve.secretKey', file },
    }),
  };
}

export function parseAdminPublic(value: unknown, file?: string): Ed25519PublicKey {
  const o = object(value, '', file, ['format', 'publicKey']);
  format(o, FORMATS.adminPublic, file);
  return Ed25519PublicKey.fromHex(o['publicKey'], { field: 'publicKey', file });
}

export function parseAdminSecret(value: unknown, file?: string): AdminKeyPair {
  const o = object(value, '', file, ['format', 'publicKey', 'secretKey']);
  format(o, FORMATS.adminSecret, file);
  return secretPair(o['publicKey'], o['secretKey'], '', file);
}

// ---------------------------------------------------------------------------
// Reading

/**
 * A secret key file must be private, as ssh insists: a file this user owns
 * with any group or other permission bit (mode & 0o077), or any file with an
 * "other" bit (mode & 0o007), is refused, naming the file and the chmod that
 * fixes it. A file owned by someone else and shared only with a group is
 * allowed, as ssh allows it: that is how a Kubernetes Secret volume
 * (owner root, group fsGroup, defaultMode 0440) gives a non-root host its
 * key. Checked on the open file (fstat), so the file checked is the file read.
 */
async function readSecretText(path: string): Promise<string> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(path, 'r');
    const { mode, uid } = await fh.stat();
    const mine = typeof process.getuid === 'function' && uid === process.getuid();
    if (process.platform !== 'win32' && ((mode & 0o007) !== 0 || (mine && (mode & 0o070) !== 0))) {
      const shown = `0${(mode & 0o777).toString(8)}`;
      throw new QallowError(
        'KEY_INVALID',
        `secret key file ${path} is readable or writable by others (mode ${shown}); it must be private to its owner: run \`chmod 600 ${path}\``,
        { file: path, field: 'mode', mode: shown },
      );
    }
    return await fh.readFile('utf8');
  } finally {
    await fh?.close();
  }
}

async function readJson(path: string, secret = false): Promise<unknown> {
  let text: string;
  try {
    text = secret ? await readSecretText(path) : await readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof QallowError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    const hint = code === 'ENOENT' ? '; create keys with `qallow keys gen --out DIR`' : '';
    throw new QallowError('IO_ERROR', `cannot read key file ${path}: ${code}${hint}`, { path, code }, { cause: e });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw keyInvalid({ field: '', file: path }, `is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
}

export async function readNodePublic(path: string): Promise<NodePublicIdentity> {
  return parseNodePublic(await readJson(path), path);
}

export async function readNodeSecret(path: string): Promise<NodeIdentity> {
  return parseNodeSecret(await readJson(path, true), path);
}

export async function readAdminPublic(path: string): Promise<Ed25519PublicKey> {
  return parseAdminPublic(await readJson(path), path);
}

export async function readAdminSecret(path: string): Promise<AdminKeyPair> {
  return parseAdminSecret(await readJson(path, true), path);
}

/**
 * A host's keys from a `keys gen` directory: node.secret.json, checked
 * against node.json when that is there too (a node.json that names other
 * keys is KEY_INVALID, since peers would be told the wrong ones).
 */
export async function readNodeKeys(dir: string): Promise<NodeIdentity> {
  const identity = await readNodeSecret(join(dir, KEY_FILES.nodeSecret));
  const publicPath = join(dir, KEY_FILES.nodePublic);
  if (await exists(publicPath)) {
    const pub = await readNodePublic(publicPath);
    const mismatch: [string, string, string][] = [
      ['nodeId', pub.nodeId, identity.nodeId],
      ['ed25519.publicKey', pub.ed25519.publicKey.hex, identity.ed25519.publicKey.hex],
      ['curve.publicKey', pub.curve.publicKey, identity.curve.publicKey],
    ];
    for (const [field, got, want] of mismatch) {
      if (got !== want) throw keyInvalid({ field, file: publicPath }, `does not match ${KEY_FILES.nodeSecret} (${got} vs ${want})`);
    }
  }
  return identity;
}

// ---------------------------------------------------------------------------
// Writing

export interface KeyMaterial {
  readonly node: NodeIdentity;
  readonly admin: AdminKeyPair;
}

export interface WrittenKeyFile {
  readonly kind: KeyFileKind;
  readonly path: string;
  readonly secret: boolean;
  /** File mode, e.g. 0o600. */
  readonly mode: number;
}

export interface WriteKeyFilesOptions {
  /** Replace existing key files (the old keys are lost). */
  readonly force?: boolean | undefined;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw ioError(path, 'check', e);
  }
}

function ioError(path: string, what: string, e: unknown): QallowError {
  const code = (e as NodeJS.ErrnoException).code ?? 'error';
  return new QallowError('IO_ERROR', `cannot ${what} ${path}: ${e instanceof Error ? e.message : String(e)}`, { path, code }, { cause: e });
}

async function writeTemp(dir: string, name: string, text: string, mode: number): Promise<string> {
  const temp = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fh = await open(temp, 'wx', mode);
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    // open()'s mode is filtered by the umask; say exactly what we mean.
    await chmod(temp, mode);
    return temp;
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw ioError(temp, 'write', e);
  }
}

/**
 * Write the four key files into `dir` (created, mode 0700, when missing).
 * Without `force`, refuses (IO_ERROR, nothing written) when any of them
 * exists already.
 */
export async function writeKeyFiles(dir: string, material: KeyMaterial, options: WriteKeyFilesOptions = {}): Promise<WrittenKeyFile[]> {
  return placeKeyFiles(
    dir,
    [
      { kind: 'nodePublic', secret: false, body: nodePublicFile(material.node) },
      { kind: 'nodeSecret', secret: true, body: nodeSecretFile(material.node) },
      { kind: 'adminPublic', secret: false, body: adminPublicFile(material.admin.publicKey) },
      { kind: 'adminSecret', secret: true, body: adminSecretFile(material.admin) },
    ],
    options,
  );
}

/** node.json and node.secret.json only (a host's own identity, no admin key), as writeKeyFiles writes them. */
export async function writeNodeKeyFiles(dir: string, node: NodeIdentity): Promise<WrittenKeyFile[]> {
  return placeKeyFiles(dir, [
    { kind: 'nodePublic', secret: false, body: nodePublicFile(node) },
    { kind: 'nodeSecret', secret: true, body: nodeSecretFile(node) },
  ]);
}

async function placeKeyFiles(dir: string, files: readonly { kind: KeyFileKind; secret: boolean; body: unknown }[], options: WriteKeyFilesOptions = {}): Promise<WrittenKeyFile[]> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw ioError(dir, 'create directory', e);
  }
  const force = options.force === true;
  if (!force) {
    const present: string[] = [];
    for (const f of files) if (await exists(join(dir, KEY_FILES[f.kind]))) present.push(KEY_FILES[f.kind]);
    if (present.length > 0) {
      throw new QallowError('IO_ERROR', `${dir} already holds ${present.join(', ')}; refusing to overwrite keys (pass --force to replace them; the old keys are lost)`, { dir, files: present.join(',') });
    }
  }
  const written: WrittenKeyFile[] = [];
  const placed: string[] = [];
  try {
    for (const f of files) {
      const name = KEY_FILES[f.kind];
      const path = join(dir, name);
      const mode = f.secret ? SECRET_MODE : PUBLIC_MODE;
      const temp = await writeTemp(dir, name, JSON.stringify(f.body, null, 2) + '\n', mode);
      try {
        if (force) {
          await rename(temp, path);
        } else {
          await link(temp, path); // fails with EEXIST rather than replace a file that appeared meanwhile
          await unlink(temp);
        }
      } catch (e) {
        await unlink(temp).catch(() => undefined);
        throw ioError(path, 'write', e);
      }
      placed.push(path);
      written.push({ kind: f.kind, path, secret: f.secret, mode });
    }
  } catch (e) {
    // Without force we own every file placed so far: take them back, so a failure leaves nothing half-made.
    if (!force) for (const p of placed) await unlink(p).catch(() => undefined);
    throw e;
  }
  return written;
}
