/**
 * The ZAP handler (ZeroMQ RFC 27) that enforces a host's allow-list.
 *
 * libzmq asks the socket bound at `inproc://zeromq.zap.01` in the server
 * socket's context about every CURVE handshake, after the client has proved
 * it holds the secret key of the public key it presents. Without a handler
 * a CURVE server accepts any client key, so the handler is bound before the
 * server socket and closed after it, and each transport has its own
 * context (one handler per context).
 *
 * The reply carries the peer's node id as the ZAP user id. zeromq.js 6 does
 * not expose message metadata, so the receiving side cannot read it back;
 * see zmq.ts for how the sender of a frame is checked instead.
 */
import * as zmq from 'zeromq';
import { z85Encode } from './curve.js';

export const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';
export const ZAP_DOMAIN = 'qallow';

export interface ZapDecision {
  /** The node id a public key (Z85) belongs to, or undefined to refuse it. */
  lookup(publicKey: string): string | undefined;
  refused(detail: Record<string, string | number>): void;
}

const text = (b: Buffer | undefined): string => (b === undefined ? '' : b.toString('utf8'));

export class ZapHandler {
  readonly #socket: zmq.Router;
  #loop: Promise<void> | undefined;
  #closed = false;

  constructor(
    context: zmq.Context,
    private readonly decision: ZapDecision,
  ) {
    this.#socket = new zmq.Router({ context, linger: 0 });
  }

  async start(): Promise<void> {
    await this.#socket.bind(ZAP_ENDPOINT);
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#closed = true;
    this.#socket.close();
    await this.#loop;
  }

  #answer(request: Buffer[]): { reply: (Buffer | string)[]; refusal?: Record<string, string | number> } {
    const [route, delimiter, version, requestId, domain, address, , mechanism, ...credentials] = request;
    const reply = (status: '200' | '400' | '500', statusText: string, userId = ''): (Buffer | string)[] => [
      route ?? '',
      delimiter ?? '',
      '1.0',
      requestId ?? '',
      status,
      statusText,
      userId,
      '',
    ];
    if (text(version) !== '1.0') return { reply: reply('500', 'unsupported ZAP version'), refusal: { reason: 'bad ZAP version' } };
    const key = credentials[0];
    if (text(mechanism) !== 'CURVE' || key === undefined || key.length !== 32) {
      return { reply: reply('400', 'CURVE required'), refusal: { reason: `mechanism ${text(mechanism)}`, address: text(address) } };
    }
    const publicKey = z85Encode(key);
    if (text(domain) !== ZAP_DOMAIN) return { reply: reply('400', 'unknown domain'), refusal: { reason: 'unknown ZAP domain', address: text(address) } };
    const node = this.decision.lookup(publicKey);
    if (node === undefined) return { reply: reply('400', 'key not allowed'), refusal: { reason: 'unknown key', key: publicKey, address: text(address) } };
    return { reply: reply('200', 'OK', node) };
  }

  async #run(): Promise<void> {
    for (;;) {
      let request: Buffer[];
      try {
        request = await this.#socket.receive();
      } catch {
        if (this.#closed || this.#socket.closed) return;
        continue;
      }
      const { reply, refusal } = this.#answer(request);
      if (refusal) this.decision.refused(refusal);
      try {
        await this.#socket.send(reply);
      } catch {
        if (this.#closed || this.#socket.closed) return;
      }
    }
  }
}
