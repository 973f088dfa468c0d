/**
 * `qallow keys gen --out DIR [--node-id ID] [--force] [--json]` (SPEC §2, §6):
 * a host identity (node id, Ed25519 pair, CURVE pair) and an admin key pair,
 * written as node.json, node.secret.json, admin.json, admin.secret.json
 * (runtime/identity/files.ts; secrets mode 0600). Existing keys are kept
 * unless --force. Output names the files and the public keys; secrets are
 * never printed.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { Command } from '@commander-js/extra-typings';
import { isNodeId, type NodeId } from '../../actors/address.js';
import { QallowError } from '../../errors.js';
import { KEY_FILES, writeKeyFiles, type WrittenKeyFile } from '../../identity/files.js';
import { generateAdminKey, generateIdentity } from '../../identity/identity.js';
import { writeLine, type CliIO } from '../io.js';

const NODE_ID_RULE = '1-63 characters of a-z, 0-9, "-" or ".", starting and ending with a letter or digit';

function parseNodeId(text: string): NodeId {
  if (!isNodeId(text)) throw new QallowError('BAD_USAGE', `--node-id must be ${NODE_ID_RULE} (got "${text}")`, { flag: '--node-id', value: text });
  return text;
}

/** The host name as a node id, for when --node-id is not given. */
export function defaultNodeId(host: string = hostname()): NodeId {
  const id = host.toLowerCase();
  if (!isNodeId(id)) {
    throw new QallowError('BAD_USAGE', `the host name "${host}" is not a usable node id (${NODE_ID_RULE}); pass --node-id`, { flag: '--node-id', value: host });
  }
  return id;
}

// eslint-disable-next-line @typescript-eslint/explicit-function-return-type -- the chained type is the point
function genCommand() {
  return new Command('gen')
    .description('create a node identity (Ed25519 + CURVE keys) and an admin key in DIR')
    .requiredOption('--out <dir>', 'directory for node.json, node.secret.json, admin.json, admin.secret.json (created if missing)')
    .option('--node-id <id>', 'node id of this host (default: the host name)', parseNodeId)
    .option('--force', 'replace existing key files (the old keys are lost)')
    .option('--json', 'print the result as JSON');
}

export type KeysGenOptions = ReturnType<ReturnType<typeof genCommand>['opts']>;

export interface KeysGenResult {
  readonly nodeId: NodeId;
  readonly dir: string;
  readonly files: readonly WrittenKeyFile[];
  readonly node: { readonly ed25519PublicKey: string; readonly curvePublicKey: string };
  readonly admin: { readonly publicKey: string };
}

function mode(m: number): string {
  return `0${m.toString(8)}`;
}

function human(r: KeysGenResult): string[] {
  const width = Math.max(...Object.values(KEY_FILES).map((f) => f.length));
  const lines = [`wrote keys for node ${r.nodeId} to ${r.dir}:`];
  for (const f of r.files) {
    const name = KEY_FILES[f.kind].padEnd(width);
    if (f.kind === 'nodePublic') {
      const head = `  ${name}  public (${mode(f.mode)})  `;
      lines.push(`${head}ed25519 ${r.node.ed25519PublicKey}`);
      lines.push(`${' '.repeat(head.length)}curve   ${r.node.curvePublicKey}`);
    } else if (f.kind === 'adminPublic') {
      lines.push(`  ${name}  public (${mode(f.mode)})  ed25519 ${r.admin.publicKey}`);
    } else {
      lines.push(`  ${name}  secret (${mode(f.mode)})`);
    }
  }
  lines.push(`keep the *.secret.json files private: node.secret.json stays on this host, admin.secret.json with the operators; hosts authorise admin.json's public key`);
  return lines;
}

/** The handler: generate, write, report. */
export async function keysGen(opts: KeysGenOptions, io: CliIO): Promise<KeysGenResult> {
  const nodeId = opts.nodeId ?? defaultNodeId();
  const dir = resolve(opts.out);
  const node = generateIdentity(nodeId);
  const admin = generateAdminKey();
  const files = await writeKeyFiles(dir, { node, admin }, { force: opts.force === true });
  const result: KeysGenResult = {
    nodeId: node.nodeId,
    dir,
    files,
    node: { ed25519PublicKey: node.ed25519.publicKey.hex, curvePublicKey: node.curve.publicKey },
    admin: { publicKey: admin.publicKey.hex },
  };
  if (opts.json) {
    writeLine(io.stdout, JSON.stringify({ ...result, files: files.map((f) => ({ ...f, file: KEY_FILES[f.kind], mode: mode(f.mode) })) }));
  } else {
    for (const l of human(result)) writeLine(io.stdout, l);
  }
  return result;
}

export function keysCommand(io: CliIO): Command {
  const cmd = new Command('keys').description('node identity and admin keys');
  cmd.addCommand(
    genCommand().action(async (o) => {
      await keysGen(o, io);
    }),
  );
  return cmd;
}
