/**
 * The admin endpoint: a ZeroMQ ROUTER with CURVE encryption where the CLI
 * sends signed admin commands (one frame: the wire form of a SignedCommand)
 * and gets one reply frame. CURVE keeps commands private on the wire; who
 * may steer the host is decided by the command's Ed25519 signature against
 * the configured admin keys (AdminVerifier: unknown key, bad signature,
 * stale timestamp, replayed nonce are each refused with their own code), so
 * client CURVE keys can be ephemeral. A malformed frame gets a BAD_FRAME
 * reply; the endpoint keeps serving.
 */
import { Packr } from 'msgpackr';
import * as zmq from 'zeromq';
import { QallowError, type SerializedError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AdminCommand } from './command.js';
import type { AdminVerifier, VerifiedCommand } from './verifier.js';
import { decodeSignedCommand } from './wire.js';

const packr = new Packr({ useRecords: false, moreTypes: false });

export type AdminReply = { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly error: SerializedError };

export function encodeReply(r: AdminReply): Uint8Array {
  return new Uint8Array(packr.pack(r));
}

export function decodeReply(bytes: Uint8Array): AdminReply {
  let v: unknown;
  try {
    v = packr.unpack(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new QallowError('BAD_FRAME', `admin reply is not valid MessagePack: ${e instanceof Error ? e.message : String(e)}`, { field: 'reply' });
  }
  if (typeof v !== 'object' || v === null || typeof (v as { ok?: unknown }).ok !== 'boolean') {
    throw new QallowError('BAD_FRAME', 'admin reply must be an object with a boolean "ok"', { field: 'reply.ok' });
  }
  return v as AdminReply;
}

export interface AdminEndpointInit {
  readonly bind: string;
  /** Z85 CURVE secret key of this host. */
  readonly curveSecretKey: string;
}

export interface AdminEndpointComponents {
  readonly verifier: AdminVerifier;
  readonly handle: (command: AdminCommand, verified: VerifiedCommand) => Promise<unknown>;
  readonly logger: Logger;
}

export class AdminEndpoint {
  private socket: zmq.Router | undefined;
  private loop: Promise<void> | undefined;
  endpoint = '';

  constructor(
    private readonly init: AdminEndpointInit,
    private readonly c: AdminEndpointComponents,
  ) {}

  async start(): Promise<string> {
    const socket = new zmq.Router({ curveServer: true, curveSecretKey: this.init.curveSecretKey, linger: 0, receiveHighWaterMark: 1000, sendHighWaterMark: 1000 });
    await socket.bind(this.init.bind.replace(/:0$/, ':*'));
    this.socket = socket;
    this.endpoint = socket.lastEndpoint ?? this.init.bind;
    this.loop = this.serve(socket);
    return this.endpoint;
  }

  private async serve(socket: zmq.Router): Promise<void> {
    const log = this.c.logger;
    try {
      for await (const [id, frame] of socket) {
        if (!id || !frame) continue;
        void this.answer(frame).then(
          (reply) => socket.send([id, reply]).catch(() => undefined),
          () => undefined,
        );
      }
    } catch (e) {
      if (this.socket) log.error({ err: e instanceof Error ? e.message : String(e) }, 'admin endpoint stopped receiving');
    }
  }

  private async answer(frame: Buffer): Promise<Uint8Array> {
    const log = this.c.logger;
    try {
      const signed = decodeSignedCommand(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
      const verified = this.c.verifier.verify(signed);
      log.info({ command: verified.command.type, admin: verified.adminKey.hex.slice(0, 16) }, 'admin command accepted');
      const result = await this.c.handle(verified.command, verified);
      return encodeReply({ ok: true, result });
    } catch (e) {
      const err = e instanceof QallowError ? e : new QallowError('INTERNAL', e instanceof Error ? e.message : String(e));
      log.warn({ code: err.code, err: err.message }, 'admin command refused');
      return encodeReply({ ok: false, error: err.toJSON() });
    }
  }

  async stop(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (s) s.close();
    await this.loop;
  }
}
