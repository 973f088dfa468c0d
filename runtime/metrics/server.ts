/**
 * The metrics HTTP server (SPEC §8): `/metrics` (Prometheus text),
 * `/healthz` (200 while the process serves), `/readyz` (200 when the host
 * reports ready, else 503 with the reasons, one per line). node:http only;
 * GET and HEAD; anything else is 404 or 405. Binding port 0 picks a free
 * port, and `url` says which.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { QallowError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { httpUrl, parseHttpBind } from './bind.js';
import type { HostCollector } from './collector.js';
import type { ReadinessReport } from './contract.js';

export interface MetricsServerInit {
  /** HOST:PORT (config.metrics.bind). */
  readonly bind: string;
}

export interface MetricsServerComponents {
  readonly collector: HostCollector;
  readonly readiness: () => ReadinessReport;
  readonly logger?: Logger | undefined;
}

export class MetricsServer {
  #server: Server | undefined;
  #url: string | undefined;

  constructor(
    private readonly init: MetricsServerInit,
    private readonly c: MetricsServerComponents,
  ) {}

  /** `http://HOST:PORT` once started. */
  get url(): string {
    if (!this.#url) throw new QallowError('INTERNAL', 'the metrics server is not started');
    return this.#url;
  }

  async start(): Promise<void> {
    const { host, port } = parseHttpBind(this.init.bind);
    const server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException): void => {
        reject(new QallowError('IO_ERROR', `cannot serve metrics on ${this.init.bind} (config.metrics.bind): ${e.code ?? e.message}`, { field: 'config.metrics.bind', bind: this.init.bind }));
      };
      server.once('error', onError);
      server.listen(port, host, () => {
        server.removeListener('error', onError);
        resolve();
      });
    });
    server.on('error', (e) => this.c.logger?.error({ err: errorMessage(e) }, 'metrics server error'));
    this.#server = server;
    const addr = server.address() as AddressInfo;
    this.#url = httpUrl(host === '0.0.0.0' || host === '::' ? host : addr.address, addr.port);
    this.c.logger?.info({ url: this.#url }, 'metrics server started');
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Keep-alive connections of a scraper would hold close() open.
    server.closeAllConnections();
    await closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const text = 'text/plain; charset=utf-8';
    if (path !== '/metrics' && path !== '/healthz' && path !== '/readyz') return send(404, text, 'not found: try /metrics, /healthz or /readyz\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(405, text, 'method not allowed\n');
    }
    try {
      if (path === '/healthz') return send(200, text, 'ok\n');
      if (path === '/readyz') {
        const r = this.c.readiness();
        return r.ready ? send(200, text, 'ready\n') : send(503, text, `not ready: ${r.reasons.join('; ')}\n`);
      }
      send(200, this.c.collector.contentType, await this.c.collector.scrape());
    } catch (e) {
      this.c.logger?.error({ err: errorMessage(e), path }, 'metrics request failed');
      if (!res.headersSent) send(500, text, `error: ${errorMessage(e)}\n`);
      else res.destroy();
    }
  }
}
