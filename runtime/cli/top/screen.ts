/**
 * Where `qallow top` draws, and how it is left.
 *
 * On a terminal: the alternate screen with the cursor hidden; each frame is
 * drawn from the top-left corner, every line cleared to its end and the rest
 * of the screen cleared below, so nothing of the previous frame remains and
 * nothing scrolls. `q`, Ctrl-C (a key in raw mode), SIGINT, SIGTERM and
 * SIGHUP all ask to quit; `close()` shows the cursor again, leaves the
 * alternate screen and gives the keyboard back (cooked mode). A resize asks
 * for a redraw at once.
 *
 * Anywhere else (a pipe, a file): each frame is printed whole, followed by a
 * blank line, with no escape codes; the signals still ask to quit.
 */

export interface ScreenEvents {
  readonly quit: () => void;
  readonly resize: () => void;
}

export interface Screen {
  /** Whether frames are redrawn in place (a terminal). */
  readonly tty: boolean;
  /** Columns × rows to fit a frame into; Infinity for a pipe. */
  size(): { width: number; height: number };
  draw(lines: readonly string[]): void;
  /** Restore the terminal and stop listening; safe to call twice. */
  close(): void;
}

const ENTER = '\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J';
const LEAVE = '\x1b[?25h\x1b[?1049l';
const QUIT_KEYS = new Set(['q', 'Q', '\u0003']);
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** `plain`: treat even a terminal as a pipe (the caller prints its own lines, e.g. JSON). */
export function openScreen(out: NodeJS.WritableStream, input: NodeJS.ReadableStream, plain: boolean, ev: ScreenEvents): Screen {
  const tty = !plain && (out as Partial<NodeJS.WriteStream>).isTTY === true;
  const ttyOut = out as NodeJS.WriteStream;
  const ttyIn = input as Partial<NodeJS.ReadStream>;
  const keys = tty && ttyIn.isTTY === true && typeof ttyIn.setRawMode === 'function';
  let closed = false;

  const onKey = (b: Buffer | string): void => {
    for (const ch of b.toString()) if (QUIT_KEYS.has(ch)) return ev.quit();
  };
  const onSignal = (): void => ev.quit();
  // Last resort: whatever ends the process, the terminal is left usable.
  const onExit = (): void => {
    if (tty && !closed) ttyOut.write(LEAVE);
  };

  for (const s of SIGNALS) process.on(s, onSignal);
  process.on('exit', onExit);
  if (tty) {
    ttyOut.write(ENTER);
    ttyOut.on('resize', ev.resize);
  }
  if (keys) {
    ttyIn.setRawMode!(true);
    input.on('data', onKey);
    input.resume();
  }

  return {
    tty,
    size: () => (tty ? { width: ttyOut.columns || 80, height: ttyOut.rows || 24 } : { width: Infinity, height: Infinity }),
    draw(lines) {
      if (closed) return;
      if (tty) out.write(`\x1b[H${lines.join('\x1b[K\n')}\x1b[K\x1b[J`);
      else out.write(`${lines.join('\n')}\n\n`);
    },
    close() {
      if (closed) return;
      closed = true;
      for (const s of SIGNALS) process.removeListener(s, onSignal);
      process.removeListener('exit', onExit);
      if (keys) {
        input.removeListener('data', onKey);
        ttyIn.setRawMode!(false);
        input.pause();
      }
      if (tty) {
        ttyOut.removeListener('resize', ev.resize);
        out.write(LEAVE);
      }
    },
  };
}
