/**
 * The demo's terminal output. On a terminal: step headings and event lines
 * scroll, and below them a live panel, one line per run (progress bar, tick,
 * epoch, E, decision, governor action), redrawn in place. Anywhere else (a
 * pipe, a file, a test): one line per step or event, nothing redrawn.
 * With --json the summary owns stdout, so all of this goes to stderr.
 */
import { formatG } from '../format.js';
import type { RunProgress } from './tracker.js';

export interface ProgressInit {
  readonly out: NodeJS.WritableStream;
  /** Redraw in place (stdout is a terminal). */
  readonly tty: boolean;
  readonly color?: boolean;
  readonly refreshMs?: number;
}

function bar(done: number, total: number, width: number): string {
  const n = total > 0 ? Math.round((width * Math.min(done, total)) / total) : 0;
  return `${'█'.repeat(n)}${'░'.repeat(width - n)}`;
}

export function runLine(r: RunProgress): string {
  const e = r.lastE === null ? '-' : formatG(r.lastE, 5);
  const decision = r.lastDecision ?? '-';
  const extra = r.rollbacks > 0 ? `  rollbacks ${r.rollbacks}, k now ${r.couplings.length === 1 ? formatG(r.couplings[0]!, 3) : '…'}` : '';
  return `${r.host.padEnd(7)} ${r.step.id.padEnd(9)} ${bar(r.tick, r.step.ticks, 20)} ${`${r.tick}/${r.step.ticks}`.padStart(9)}  epoch ${String(r.epoch).padStart(3)}  E ${e.padEnd(7)} ${decision.padEnd(4)} ${(r.lastAction ?? '').padEnd(8)} ${r.state}${extra}`;
}

export class Progress {
  private panel: () => readonly RunProgress[] = () => [];
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly started = Date.now();

  constructor(private readonly init: ProgressInit) {}

  private paint(code: string, text: string): string {
    return this.init.color ? `\x1b[${code}m${text}\x1b[0m` : text;
  }

  private elapsed(): string {
    const s = (Date.now() - this.started) / 1000;
    return `${s.toFixed(1).padStart(5)}s`;
  }

  /** Show these runs in the live panel (terminal only). */
  showRuns(runs: () => readonly RunProgress[]): void {
    this.panel = runs;
    if (this.init.tty && !this.timer) {
      this.timer = setInterval(() => this.redraw(), this.init.refreshMs ?? 200);
      this.timer.unref();
    }
  }

  private clearPanel(): void {
    if (this.drawn > 0) this.init.out.write(`\x1b[${this.drawn}A\x1b[J`);
    this.drawn = 0;
  }

  private redraw(): void {
    if (!this.init.tty) return;
    this.clearPanel();
    const rows = this.panel();
    if (rows.length === 0) return;
    const c = (this.init.out as NodeJS.WriteStream).columns;
    // Some terminals (a bare pty) report 0 columns.
    const cols = typeof c === 'number' && c > 0 ? c : 120;
    const text = rows.map((r) => `  ${runLine(r)}`.slice(0, Math.max(20, cols - 1))).join('\n') + '\n';
    this.init.out.write(this.paint('2', text));
    this.drawn = rows.length;
  }

  private write(line: string): void {
    if (this.init.tty) this.clearPanel();
    this.init.out.write(line + '\n');
    if (this.init.tty) this.redraw();
  }

  /** A step of the scenario begins. */
  step(label: string, text: string): void {
    this.write(`${this.paint('2', this.elapsed())} ${this.paint('1', `${label}`)} ${text}`);
  }

  /** Something happened within a step. */
  note(text: string): void {
    this.write(`${this.paint('2', this.elapsed())}    ${text}`);
  }

  /** Something the user must notice (a rollback, a kill). */
  alert(text: string): void {
    this.write(`${this.paint('2', this.elapsed())}    ${this.paint('33', text)}`);
  }

  /** Plain lines (the summary), with the panel gone. */
  print(lines: readonly string[]): void {
    this.stop();
    for (const l of lines) this.init.out.write(l + '\n');
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.init.tty) this.clearPanel();
    this.panel = () => [];
  }
}
