/**
 * How a cluster command finds its host and signs: the admin endpoint and the
 * host's CURVE public key come from `--node tcp://HOST:PORT --node-keys
 * node.json`, or from the `endpoint.json` a running host writes into its data
 * directory (`--data DIR`, or `--config FILE` to read the dataDir from the
 * host's config); the signing key from `--admin-key admin.secret.json` (or
 * QALLOW_ADMIN_KEY).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Option, type Command, type OptionValues } from '@commander-js/extra-typings';
import { loadConfig } from '../../config/load.js';
import type { AdminTarget } from '../admin/client.js';
import { sendAdminCommand } from '../admin/client.js';
import type { AdminCommand } from '../admin/command.js';
import type { AdminReplies } from '../admin/replies.js';
import { QallowError } from '../errors.js';
import { readAdminSecret, readNodePublic } from '../identity/files.js';
import { parsePositiveInteger } from './args.js';

export interface TargetOptions {
  node?: string | undefined;
  nodeKeys?: string | undefined;
  data?: string | undefined;
  config?: string | undefined;
  adminKey?: string | undefined;
  timeout?: number | undefined;
  json?: true | undefined;
}

// eslint-disable-next-line @typescript-eslint/explicit-function-return-type -- the chained type is the point
export function withTarget<Args extends unknown[], Opts extends OptionValues>(cmd: Command<Args, Opts>) {
  return cmd
    .addOption(new Option('--node <endpoint>', "the host's admin endpoint, tcp://HOST:PORT (with --node-keys)"))
    .addOption(new Option('--node-keys <file>', "the host's public identity (node.json)"))
    .addOption(new Option('--data <dir>', "a running host's data directory (reads its endpoint.json)"))
    .addOption(new Option('--config <file>', "the host's config (finds its data directory)"))
    .addOption(new Option('--admin-key <file>', 'admin secret key file (admin.secret.json); default $QALLOW_ADMIN_KEY'))
    .addOption(new Option('--timeout <ms>', 'how long to wait for the host, in ms (1 to 2147483647)').argParser(parsePositiveInteger('--timeout')).default(30_000))
    .addOption(new Option('--json', 'print JSON'));
}

async function readJson(path: string, what: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new QallowError('BAD_USAGE', `cannot read ${what} ${path}: ${e instanceof Error ? e.message : String(e)}`, { path });
  }
}

export async function resolveTarget(o: TargetOptions): Promise<AdminTarget> {
  if (o.node !== undefined) {
    if (!o.nodeKeys) throw new QallowError('BAD_USAGE', '--node needs --node-keys (the host’s node.json) to authenticate the host', { flag: '--node-keys' });
    const id = await readNodePublic(o.nodeKeys);
    return { endpoint: o.node, node: id.nodeId, curvePublicKey: id.curve.publicKey };
  }
  let dataDir = o.data;
  if (dataDir === undefined && o.config !== undefined) dataDir = (await loadConfig(o.config)).dataDir;
  if (dataDir === undefined) throw new QallowError('BAD_USAGE', 'say which host: --data DIR, --config FILE, or --node tcp://HOST:PORT --node-keys node.json', { flag: '--node' });
  const e = (await readJson(join(dataDir, 'endpoint.json'), 'the host endpoint file (is the host running?)')) as Record<string, unknown>;
  if (typeof e['admin'] !== 'string' || typeof e['node'] !== 'string' || typeof e['curvePublicKey'] !== 'string') {
    throw new QallowError('BAD_USAGE', `${join(dataDir, 'endpoint.json')} is not a qallow endpoint file`, { path: dataDir });
  }
  return { endpoint: e['admin'].replace('0.0.0.0', '127.0.0.1'), node: e['node'], curvePublicKey: e['curvePublicKey'] };
}

/** Sign and send `command` to the host `o` names; its typed, validated reply (runtime/admin/replies.ts). */
export async function adminCall<C extends AdminCommand>(o: TargetOptions, command: C): Promise<AdminReplies[C['type']]> {
  const keyFile = o.adminKey ?? process.env['QALLOW_ADMIN_KEY'];
  if (!keyFile) throw new QallowError('BAD_USAGE', 'commands are signed: give --admin-key admin.secret.json (or set QALLOW_ADMIN_KEY)', { flag: '--admin-key' });
  // The key first: a key file others can read is refused whatever the target (KEY_INVALID naming the chmod).
  const admin = await readAdminSecret(keyFile);
  const target = await resolveTarget(o);
  return sendAdminCommand(target, command, admin.secretKey, o.timeout ?? 30_000);
}
