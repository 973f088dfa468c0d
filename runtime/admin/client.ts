/**
 * The CLI side of the admin endpoint: sign a command for a host, send it over
 * a CURVE-encrypted DEALER (an ephemeral client key; the server's public key
 * comes from its identity), await one reply or time out.
 */
import * as zmq from 'zeromq';
import { QallowError } from '../errors.js';
import type { Ed25519SecretKey } from '../identity/ed25519.js';
import type { AdminCommand } from './command.js';
import { decodeReply } from './endpoint.js';
import { signCommand } from './signed.js';
import { encodeSignedCommand } from './wire.js';

export interface AdminTarget {
  /** tcp://host:port of the host's admin endpoint. */
  readonly endpoint: string;
  readonly node: string;
  /** Z85 CURVE public key of the host. */
  readonly curvePublicKey: string;
}

export async function sendAdminCommand(target: AdminTarget, command: AdminCommand, adminSecret: Ed25519SecretKey, timeoutMs = 30_000): Promise<unknown> {
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
    if (!reply.ok) throw QallowError.fromJSON(reply.error) ?? new QallowError('INTERNAL', 'malformed error reply from the host');
    return reply.result;
  } finally {
    socket.close();
  }
}
