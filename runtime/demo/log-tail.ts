/**
 * Follows a host's log file (pino JSON lines, appended by the host process)
 * from a byte offset, so the demo sees what a host did as it happens without
 * piping its stdout through the demo process: a host started detached keeps
 * logging if the demo goes away (`--keep`), and a restarted host appends to
 * the same file, read from where its predecessor stopped.
 *
 * Polling (every `intervalMs`) rather than fs.watch: watch events are not
 * delivered reliably on every file system, and a demo can afford a read of a
 * few KiB five times a second.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { QallowError } from '../errors.js';

export type LogLine = Record<string, unknown> & { readonly msg?: string };

export interface LogTailInit {
  readonly path: string;
  /** Start reading here (bytes); lines before it belong to an earlier process. */
  readonly offset?: number;
  readonly intervalMs?: number;
}

type Waiter = () => void;

export class LogTail {
  readonly lines: LogLine[] = [];
  private fh: FileHandle | undefined;
  private offset: number;
  private partial = '';
  private timer: NodeJS.Timeout | undefined;
  private readonly waiters = new Set<Waiter>();
  private readonly listeners = new Set<(l: LogLine) => void>();
  /** Reads run one after another; stop() waits for the one in flight before closing the file. */
  private inflight: Promise<void> = Promise.resolve();
  private closedReason: string | undefined;

  constructor(private readonly init: LogTailInit) {
    this.offset = init.offset ?? 0;
  }

  async start(): Promise<void> {
    this.fh = await open(this.init.path, 'r');
    this.timer = setInterval(() => void this.poll(), this.init.intervalMs ?? 200);
    this.timer.unref();
  }

  /** Reads what is left, then stops; pending waits reject with `reason`. */
  async stop(reason = 'the log is closed'): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.poll();
    this.closedReason = reason;
    for (const w of [...this.waiters]) w();
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }

  /** Every line from now on (and none already read). */
  onLine(listener: (l: LogLine) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reads whatever was appended since the last poll. */
  poll(): Promise<void> {
    this.inflight = this.inflight.then(() => this.readMore()).catch(() => undefined);
    return this.inflight;
  }

  private async readMore(): Promise<void> {
    const fh = this.fh;
    if (!fh) return;
    const buf = Buffer.alloc(1 << 16);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
      if (bytesRead === 0) break;
      this.offset += bytesRead;
      this.partial += buf.subarray(0, bytesRead).toString('utf8');
      const parts = this.partial.split('\n');
      this.partial = parts.pop() ?? '';
      for (const text of parts) if (text.trim() !== '') this.push(text);
    }
    for (const w of [...this.waiters]) w();
  }

  private push(text: string): void {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      line = { msg: text };
    }
    this.lines.push(line);
    for (const l of this.listeners) l(line);
  }

  /**
   * The first line (already read or still to come) matching `pred`. Rejects
   * with TIMEOUT after `timeoutMs`, or when `signal` aborts, or when the tail
   * stops (the host exited) before one came.
   */
  waitFor(pred: (l: LogLine) => boolean, what: string, timeoutMs: number, signal?: AbortSignal): Promise<LogLine> {
    return new Promise<LogLine>((resolve, reject) => {
      const check = (): void => {
        const hit = this.lines.find(pred);
        if (hit) return done(() => resolve(hit));
        if (signal?.aborted) return done(() => reject(signal.reason as Error));
        if (this.closedReason !== undefined) return done(() => reject(new QallowError('TIMEOUT', `${what}: ${this.closedReason} before it happened`, { what })));
      };
      const timer = setTimeout(() => done(() => reject(new QallowError('TIMEOUT', `${what} did not happen within ${Math.round(timeoutMs / 1000)} s (see ${this.init.path})`, { what, timeoutMs }))), timeoutMs);
      const done = (settle: () => void): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        signal?.removeEventListener('abort', check);
        settle();
      };
      this.waiters.add(check);
      signal?.addEventListener('abort', check);
      check();
    });
  }
}
