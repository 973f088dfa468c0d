/**
 * The client side of the admin endpoint, the one every caller uses (the CLI
 * commands, `top`, `ledger tail`, the demo): sign a command for a host, send
 * it over a CURVE-encrypted DEALER (an ephemeral client key; the server's
 * public key comes from its identity), await one reply or time out, and
 * decode its result into the command's typed reply (replies.ts), refusing a
 * malformed one with BAD_FRAME naming the field.
 */
import * as zmq from 'zeromq';
import { QallowError } from '../errors.js';
import type { Ed25519SecretKey } from '../identity/ed25519.js';
import type { AdminCommand } from './command.js';
import { decodeReply } from './endpoint.js';
import { decodeAdminReply, type AdminReplies } from './replies.js';
import { signCommand } from './signed.js';
import { encodeSignedCommand } from './wire.js';

export interface AdminTarget {
  /** tcp://host:port of the host's admin endpoint. */
  readonly endpoint: string;
  readonly node: string;
  /** Z85 CURVE public key of the host. */
  readonly curvePublicKey: string;
}

/** Longest wait a ZeroMQ socket timeout takes (a C int of ms; larger values crashed the CLI). */
export const MAX_ADMIN_TIMEOUT_MS = 0x7fff_ffff;

/** Send `command` to `target`; its reply's result, validated as `AdminReplies[command.type]`. */
export async function sendAdminCommand<C extends AdminCommand>(target: AdminTarget, command: C, adminSecret: Ed25519SecretKey, timeoutMs = 30_000): Promise<AdminReplies[C['type']]> {
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_ADMIN_TIMEOUT_MS) {
    throw new QallowError('BAD_PARAMETER', `timeoutMs must be a whole number of ms from 1 to ${MAX_ADMIN_TIMEOUT_MS} (got ${String(timeoutMs)})`, { field: 'timeoutMs' });
  }
  const { publicKey, secretKey } = zmq.curveKeyPair();
  const socket = new zmq.Dealer({
    curveServerKey: target.curvePublicKey,
    curvePublicKey: publicKey,
    curveSecretKey: secretKey,
    linger: 0,
    receiveTimeout: timeoutMs,
    sendTimeout: timeoutMs,
  });
  try {
    socket.connect(target.endpoint);
    await socket.send(encodeSignedCommand(signCommand(command, adminSecret, target.node)));
    let frame: Buffer;
    try {
      [frame] = (await socket.receive()) as [Buffer];
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'EAGAIN') {
        throw new QallowError('TIMEOUT', `no answer from ${target.node} at ${target.endpoint} within ${timeoutMs} ms (is the host running, and is this its key?)`, { node: target.node });
      }
      throw e;
    }
    const reply = decodeReply(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
    if (!reply.ok) throw replyError(reply.error, target.node);
    return decodeAdminReply<C['type']>(command.type, reply.result);
  } finally {
    socket.close();
  }
}

/**
 * The error a host answered with. A code this CLI does not know (a newer
 * host's) is INTERNAL with the host's code in `details.remoteCode`, its
 * message kept, rather than a bare "malformed reply".
 */
export function replyError(error: unknown, node: string): QallowError {
  const known = QallowError.fromJSON(error);
  if (known) return known;
  const e = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  const code = e['code'];
  const message = e['message'];
  if (typeof code === 'string' && typeof message === 'string') {
    return new QallowError('INTERNAL', message, { remoteCode: code.slice(0, 64), node });
  }
  return new QallowError('INTERNAL', `malformed error reply from ${node}`, { node });
}
