/**
 * `qallow top` under a real pseudo-terminal: tmux runs it in a detached
 * 160×50 pane (a private tmux server per test, on a socket in the test's
 * temp dir), and the test reads the screen with `capture-pane`. Two hosts as
 * real processes; the view is of top-a with top-b's data dir as a peer.
 *
 * Checked: the frame (header with quorum, hosts with the peer up and its
 * run, the runs row, ledger heights) on the alternate screen with the cursor
 * hidden; figures that move between captures while a run goes; a narrower
 * window redraws with no line wrapping; q, Ctrl-C and SIGTERM each end it
 * with exit status 0, the alternate screen left and the cursor shown.
 *
 * Skips (saying so in its title) only where tmux is not installed.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { CLI_PATH } from './helpers/cli.js';
import { startCluster } from './helpers/cluster.js';

const execFileP = promisify(execFile);

function findTmux(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v tmux'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}
const TMUX = findTmux();

/** A private tmux server whose panes stay (dead) after their process exits, so its exit status can be read. */
async function tmuxServer(dir: string): Promise<(...args: string[]) => Promise<string>> {
  const conf = join(dir, 'tmux.conf');
  await writeFile(conf, 'set-window-option -g remain-on-exit on\nset-option -g status off\n');
  const sock = join(dir, 'tmux.sock');
  return async (...args) => (await execFileP(TMUX!, ['-S', sock, '-f', conf, ...args], { encoding: 'utf8' })).stdout;
}

/** Poll `read` until `pred` holds; the timeout lives here, not in the test. */
async function waitFor<T>(read: () => Promise<T>, pred: (v: T) => boolean, what: string, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (pred(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen:\n${String(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sh = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The cells of the row of table `title` whose first cell is `key` (null when not on screen). */
function row(screen: string, title: string, key: string): string[] | null {
  const lines = screen.split('\n');
  const start = lines.findIndex((l) => l.startsWith(title));
  if (start < 0) return null;
  for (const l of lines.slice(start + 1)) {
    if (l.trim() === '') return null;
    const cells = l.trim().split(/\s{2,}/);
    if (cells[0] === key) return cells;
  }
  return null;
}

(TMUX ? test : test.skip)(`top in a pseudo-terminal: live frame, moving figures, resize, and a clean exit on q, Ctrl-C and SIGTERM${TMUX ? '' : ' (SKIPPED: tmux is not installed on this machine)'}`, async (t) => {
  const c = await startCluster(t, { names: ['top-a', 'top-b'], config: () => ({ epochTicks: 100 }) });
  await Promise.all(c.hosts.map((h, i) => h.waitFor((l) => l.msg === 'host started', `${c.names[i]} started`)));
  const tmux = await tmuxServer(c.dir);
  t.teardown(() => tmux('kill-server').then(() => undefined, () => undefined));

  // The shell stays after top exits, so the pane shows what top left behind (a dead pane's cursor
  // flag is tmux's own); the inner shell writes its pid, which `exec` hands on to node.
  const pidFile = join(c.dir, 'top.pid');
  const top = `${sh(process.execPath)} ${sh(CLI_PATH)} top --data ${sh(c.dataDir('top-a'))} --admin-key ${sh(c.adminKey)} --interval 200 --peer-data ${sh(c.dataDir('top-b'))}`;
  const topCmd = (round: number): string => `sh -c ${sh(`echo $$ > ${sh(pidFile)}; exec ${top}`)}; echo "top exited $? (round ${round})"; exec sleep 600`;
  await tmux('new-session', '-d', '-s', 'top', '-x', '160', '-y', '50', topCmd(0));
  const screen = (): Promise<string> => tmux('capture-pane', '-p', '-J', '-t', 'top');
  const pane = async (): Promise<Record<string, string>> => {
    const v = (await tmux('display-message', '-p', '-t', 'top', '#{alternate_on} #{cursor_flag}')).trim().split(' ');
    return { alternate: v[0]!, cursor: v[1]! };
  };

  // The first frame, with the peer up in the hosts table.
  await waitFor(screen, (s) => s.includes('qallow top — top-a') && row(s, 'HOST', 'top-b')?.[1] === 'up', 'top-a’s frame with top-b up');
  t.like(await pane(), { alternate: '1', cursor: '0' }, 'alternate screen, cursor hidden');

  // Runs on both hosts: top-a's shows in the runs table, top-b's in the hosts table (asked through --peer-data).
  const start = (host: string, id: string): Promise<{ code: number; stderr: string }> =>
    c.cli(host, ['run', 'phase13', '--pockets', '4096', '--ticks', '200000', '--coupling', '0.002', '--id', id, '--backend', 'js']);
  const [ra, rb] = await Promise.all([start('top-a', 'ra'), start('top-b', 'rb')]);
  t.is(ra.code, 0, ra.stderr);
  t.is(rb.code, 0, rb.stderr);
  const tickOf = (s: string): number => Number(row(s, 'RUN', 'ra')?.[3]?.split('/')[0] ?? NaN);
  const heightOf = (s: string): number => Number(row(s, 'ORIGIN', 'top-a')?.[1] ?? NaN);
  // top-b's run shows once a refresh has asked top-b after rb started: wait for that frame too.
  const rbShown = (s: string): boolean => /1 run: rb /.test(row(s, 'HOST', 'top-b')?.[4] ?? '');
  const first = await waitFor(screen, (s) => row(s, 'RUN', 'ra')?.[2] === 'running' && tickOf(s) > 0 && heightOf(s) > 0 && rbShown(s), 'ra running with a tick, a ledger height, and top-b’s run');
  const raRow = row(first, 'RUN', 'ra')!;
  t.is(raRow[1], 'phase13');
  t.regex(raRow[3]!, /^\d+\/200000$/);
  t.regex(raRow[6] ?? '', /^(pass|fail) \d+\/1$/, 'last decision with lanes');
  t.regex(row(first, 'HOST', 'top-b')?.[4] ?? '', /1 run: rb /, 'top-b’s run, read from top-b');
  t.true(first.includes('quorum 2/2 available'), first);
  const later = await waitFor(screen, (s) => tickOf(s) > tickOf(first) && heightOf(s) > heightOf(first), 'the tick and the ledger height to move');
  t.true(tickOf(later) > tickOf(first));
  t.regex(row(later, 'ACTOR', 'qallow://top-a/runs/ra')?.[3] ?? '', /^\d+\.\d$/, 'msgs/s between refreshes');

  // A narrower window: the next frame fits it (no line longer than the pane, so none wrapped; cut lines end in …).
  await tmux('resize-window', '-t', 'top', '-x', '72', '-y', '40');
  const narrow = await waitFor(screen, (s) => s.split('\n')[0]!.endsWith('…') && row(s, 'RUN', 'ra') !== null, 'a frame cut to 72 columns');
  for (const l of narrow.split('\n')) t.true([...l].length <= 72, `fits: ${l}`);

  // Three ways out, each leaving the terminal as it was.
  const ways: Array<[string, () => Promise<unknown>]> = [
    ['q', () => tmux('send-keys', '-t', 'top', 'q')],
    ['Ctrl-C', () => tmux('send-keys', '-t', 'top', 'C-c')],
    ['SIGTERM', async () => process.kill(Number(await readFile(pidFile, 'utf8')), 'SIGTERM')],
  ];
  for (const [i, [how, quit]] of ways.entries()) {
    if (i > 0) {
      await rm(pidFile, { force: true });
      await tmux('respawn-pane', '-k', '-t', 'top', topCmd(i));
      await waitFor(screen, (s) => row(s, 'RUN', 'ra') !== null, `a frame before ${how}`);
      t.like(await pane(), { alternate: '1', cursor: '0' }, `${how}: drawing on the alternate screen`);
    }
    await quit();
    const after = await waitFor(screen, (s) => s.includes(`(round ${i})`), `top to exit on ${how}`);
    t.true(after.includes(`top exited 0 (round ${i})`), `${how}: exit status 0\n${after}`);
    t.false(after.includes('qallow top'), `${how}: the frame went with the alternate screen`);
    t.like(await pane(), { alternate: '0', cursor: '1' }, `${how}: alternate screen left, cursor shown`);
  }
});
