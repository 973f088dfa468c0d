/**
 * The admin endpoint: a ZeroMQ ROUTER with CURVE encryption where the CLI
 * sends signed admin commands (one frame: the wire form of a SignedCommand)
 * and gets one reply frame. CURVE keeps commands private on the wire; who
 * may steer the host is decided by the command's Ed25519 signature against
 * the configured admin keys (AdminVerifier: unknown key, bad signature,
 * stale timestamp, replayed nonce are each refused with their own code), so
 * client CURVE keys can be ephemeral. A malformed frame gets a BAD_FRAME
 * reply; the endpoint keeps serving. A frame above MAX_ADMIN_FRAME_BYTES is
 * never read: ZeroMQ drops the connection that sends it. Stopping drains:
 * commands being answered finish (or are refused HOST_STOPPING after
 * `drainMs`) and a reply that finds the socket closed is dropped, never
 * thrown.
 */
import { Packr } from 'msgpackr';
import * as zmq from 'zeromq';
import { QallowError, type SerializedError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AdminCommand } from './command.js';
import type { AdminResult } from './replies.js';
import type { AdminVerifier, VerifiedCommand } from './verifier.js';
import { MAX_SIGNED_COMMAND_BYTES, decodeSignedCommand } from './wire.js';

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
  /** How long `stop()` waits for commands being answered before it refuses them (default 5 s). */
  readonly drainMs?: number | undefined;
}

export interface AdminEndpointComponents {
  readonly verifier: AdminVerifier;
  /**
   * Run an accepted command. `accept` (when given) runs first, before the
   * command does: a refusal there (e.g. its nonce could not be persisted)
   * is the reply and the command does not run.
   */
  readonly handle: (command: AdminCommand, verified: VerifiedCommand) => Promise<AdminResult>;
  readonly accept?: ((verified: VerifiedCommand) => Promise<void>) | undefined;
  readonly logger: Logger;
}

/**
 * Frames above this are cut by ZeroMQ before any of them is read
 * (ZMQ_MAXMSGSIZE: the connection is dropped once the length prefix says
 * so), so a peer cannot make the host buffer a frame of its choosing: the
 * largest signed command plus room for the msgpack framing.
 */
export const MAX_ADMIN_FRAME_BYTES = MAX_SIGNED_COMMAND_BYTES + 1024;
/** Frames queued for reading at once (admin traffic is one operator's commands). */
const RECEIVE_HWM = 16;
/** How long a closing socket may keep trying to deliver the last replies. */
const CLOSE_LINGER_MS = 1000;
export const DEFAULT_DRAIN_MS = 5000;

export class AdminEndpoint {
  private socket: zmq.Router | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  /** Commands being answered, with what refuses them if the host stops first. */
  private readonly inFlight = new Map<Promise<void>, () => void>();
  /** Where the endpoint listens (bind with an ephemeral port resolved), after start. */
  endpoint = '';

  constructor(
    private readonly init: AdminEndpointInit,
    private readonly c: AdminEndpointComponents,
  ) {}

  async start(): Promise<void> {
    const socket = new zmq.Router({
      curveServer: true,
      curveSecretKey: this.init.curveSecretKey,
      linger: 0,
      receiveHighWaterMark: RECEIVE_HWM,
      sendHighWaterMark: 1000,
      maxMessageSize: MAX_ADMIN_FRAME_BYTES,
    });
    await socket.bind(this.init.bind.replace(/:0$/, ':*'));
    this.socket = socket;
    this.stopping = false;
    this.endpoint = socket.lastEndpoint ?? this.init.bind;
    this.loop = this.serve(socket);
  }

  /** Commands being answered now. */
  get pending(): number {
    return this.inFlight.size;
  }

  private async serve(socket: zmq.Router): Promise<void> {
    const log = this.c.logger;
    try {
      for await (const [id, frame] of socket) {
        if (!id || !frame) continue;
        if (this.stopping) {
          this.reply(socket, id, encodeReply({ ok: false, error: stoppingError('before it was read').toJSON() }));
          continue;
        }
        let replied = false;
        const send = (bytes: Uint8Array): void => {
          if (replied) return;
          replied = true;
          this.reply(socket, id, bytes);
        };
        const done = this.answer(frame).then(send, () => undefined).finally(() => this.inFlight.delete(done));
        this.inFlight.set(done, () => send(encodeReply({ ok: false, error: stoppingError('before it finished').toJSON() })));
      }
    } catch (e) {
      if (this.socket) log.error({ err: e instanceof Error ? e.message : String(e) }, 'admin endpoint stopped receiving');
    }
  }

  /** Send one reply; a socket closed meanwhile (EBADF, "Socket is closed") loses it, never the process. */
  private reply(socket: zmq.Router, id: Buffer, bytes: Uint8Array): void {
    if (socket.closed) {
      this.c.logger.info({}, 'admin reply dropped: the endpoint is closed');
      return;
    }
    try {
      socket.send([id, bytes]).catch((e: unknown) => this.c.logger.info({ err: e instanceof Error ? e.message : String(e) }, 'admin reply not sent'));
    } catch (e) {
      this.c.logger.info({ err: e instanceof Error ? e.message : String(e) }, 'admin reply not sent');
    }
  }

  private async answer(frame: Buffer): Promise<Uint8Array> {
    const log = this.c.logger;
    try {
      const signed = decodeSignedCommand(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
      const verified = this.c.verifier.verify(signed);
      await this.c.accept?.(verified);
      log.info({ command: verified.command.type, admin: verified.adminKey.hex.slice(0, 16) }, 'admin command accepted');
      const result = await this.c.handle(verified.command, verified);
      return encodeReply({ ok: true, result });
    } catch (e) {
      const err = e instanceof QallowError ? e : new QallowError('INTERNAL', e instanceof Error ? e.message : String(e));
      log.warn({ code: err.code, err: err.message }, 'admin command refused');
      return encodeReply({ ok: false, error: err.toJSON() });
    }
  }

  /**
   * Stop: new frames are refused (HOST_STOPPING), commands being answered
   * get up to `drainMs` to finish and send their replies; those still
   * running then are answered HOST_STOPPING. The socket closes with a
   * short linger so the last replies can leave. Never throws.
   */
  async stop(): Promise<void> {
    const s = this.socket;
    if (!s) return;
    this.stopping = true;
    const drainMs = this.init.drainMs ?? DEFAULT_DRAIN_MS;
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)));
      await Promise.race([Promise.allSettled([...this.inFlight.keys()]), deadline]);
      clearTimeout(timer);
      if (this.inFlight.size > 0) this.c.logger.warn({ pending: this.inFlight.size, drainMs }, 'admin commands still running at stop are answered HOST_STOPPING');
      for (const refuse of this.inFlight.values()) refuse();
    }
    this.socket = undefined;
    try {
      s.linger = CLOSE_LINGER_MS;
      s.close();
    } catch (e) {
      this.c.logger.info({ err: e instanceof Error ? e.message : String(e) }, 'admin socket close');
    }
    await this.loop;
  }
}

function stoppingError(when: string): QallowError {
  return new QallowError('HOST_STOPPING', `the host is shutting down: this admin command was refused ${when}; send it again once the host is back`, {});
}
