/**
 * The identity of a host that has no `cluster` config (and so no identity
 * directory from `qallow keys gen`): kept in its own data dir, as
 * `DATA/identity/node.json` and `node.secret.json` (directory 0700, secret
 * 0600), created on the first start and loaded on every later one. Its
 * Ed25519 key signs and votes for the host's own ledger, in which it is the
 * only validator (quorum 1 of 1).
 *
 * A data dir whose identity names another node id is refused (KEY_INVALID):
 * its ledger was signed by that node, and a renamed host would find its own
 * validator set changed.
 */
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { QallowError } from '../errors.js';
import { KEY_FILES, readNodeKeys, writeNodeKeyFiles } from './files.js';
import { generateIdentity, type NodeIdentity } from './identity.js';

/** Where a host without a cluster keeps its identity. */
export function localIdentityDir(dataDir: string): string {
  return join(dataDir, 'identity');
}

export interface LocalIdentity {
  readonly identity: NodeIdentity;
  /** True when this start created it. */
  readonly created: boolean;
  readonly dir: string;
}

/** Load the data dir's identity for `nodeId`, or create it on the first start. */
export async function loadOrCreateLocalIdentity(dataDir: string, nodeId: string): Promise<LocalIdentity> {
  const dir = localIdentityDir(dataDir);
  const secret = join(dir, KEY_FILES.nodeSecret);
  let present = true;
  try {
    await lstat(secret);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new QallowError('IO_ERROR', `cannot check ${secret}: ${e instanceof Error ? e.message : String(e)}`, { path: secret });
    present = false;
  }
  if (!present) {
    const identity = generateIdentity(nodeId);
    await writeNodeKeyFiles(dir, identity);
    return { identity, created: true, dir };
  }
  const identity = await readNodeKeys(dir);
  if (identity.nodeId !== nodeId) {
    throw new QallowError(
      'KEY_INVALID',
      `${secret} is the identity of ${identity.nodeId}, but config.node.id is ${nodeId}: this data dir's ledger belongs to ${identity.nodeId}; set node.id back to ${identity.nodeId} or use a new data dir`,
      { file: secret, field: 'nodeId' },
    );
  }
  return { identity, created: false, dir };
}
