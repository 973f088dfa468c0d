/**
 * `HOST:PORT` for an HTTP listener (config.metrics.bind). The schema has
 * already checked the shape; this splits it and unbrackets an IPv6 host.
 */
import { QallowError } from '../errors.js';

export interface HttpBind {
  readonly host: string;
  readonly port: number;
}

export function parseHttpBind(text: string, field = 'config.metrics.bind'): HttpBind {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new QallowError('CONFIG_INVALID', `${field} must be HOST:PORT with a port 0–65535 (got ${JSON.stringify(text)})`, { field });
  }
  const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
  return { host, port };
}

/** `http://HOST:PORT` for a bound address, brackets for IPv6. */
export function httpUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
