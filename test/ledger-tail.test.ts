/**
 * `qallow ledger tail` against real hosts. Four hosts as real processes
 * (governance needs its validators: quorum 3 of 4): `--follow` prints the
 * entries of a run while it runs, each once, in seq order, and exits 0 on
 * SIGINT; `-n 5 --json` gives the five newest as export lines that parse
 * and carry their certificates; the human line names origin#seq, kind, run,
 * epoch, decision, figures and the certificate size. A host without a
 * cluster keeps its own ledger (it is the only validator), and an admin
 * command that fails is in it as `refused:CODE`; bad -n is usage (exit 2).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import test from 'ava';
import { parseExportLine } from '../runtime/ledger/export.js';
import { CLI_PATH, runCli, tempDir } from './helpers/cli.js';
import { allUp, startCluster } from './helpers/cluster.js';
import { startHost, writeConfig } from './helpers/host.js';
import { childEnv, track } from './helpers/children.js';

/** A CLI process whose stdout lines are collected as they come. */
function follow(args: string[]): { lines: string[]; waitFor(pred: (l: string) => boolean, what: string, timeoutMs?: number): Promise<string>; stop(): Promise<number | null> } {
  const child = track(spawn(process.execPath, [CLI_PATH, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv() }));
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  createInterface({ input: child.stdout }).on('line', (l) => {
    lines.push(l);
    for (const w of [...waiters]) w();
  });
  const closed = once(child, 'close').then(([code]) => code as number | null);
  let done = false;
  void closed.then(() => {
    done = true;
    for (const w of [...waiters]) w();
  });
  return {
    lines,
    waitFor(pred, what, timeoutMs = 90_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last lines: ${lines.slice(-3).join(' | ')}; stderr: ${stderr}`))), timeoutMs);
        const finish = (f: () => void): void => {
          clearTimeout(timer);
          waiters.delete(check);
          f();
        };
        const check = (): void => {
          const hit = lines.find(pred);
          if (hit !== undefined) finish(() => resolve(hit));
          else if (done) finish(() => reject(new Error(`the process exited before ${what}; stderr: ${stderr}`)));
        };
        waiters.add(check);
        check();
      });
    },
    async stop() {
      if (!done) child.kill('SIGINT');
      return closed;
    },
  };
}

const HUMAN = /^(\S+)#(\d+) {2}\d\d:\d\d:\d\d\.\d{3} {2}(\S+) {2}.* {2}certified (\d+)\/(\d+)$/;

test('four hosts: --follow prints a run’s entries while it runs, each once and in order; -n 5 --json and the human form', async (t) => {
  const c = await startCluster(t, { names: ['lt-a', 'lt-b', 'lt-c', 'lt-d'], config: () => ({ epochTicks: 100 }) });
  await allUp(c);
  const on = (args: string[]): string[] => [...args, '--data', c.dataDir('lt-a'), '--admin-key', c.adminKey];
  // -n 1000: everything from the start, so it does not matter whether the run's first entries commit before or after the first page.
  const tail = follow(on(['ledger', 'tail', '--follow', '-n', '1000', '--interval', '100']));
  t.teardown(() => void tail.stop());

  const run = await c.cli('lt-a', ['run', 'phase13', '--pockets', '1024', '--ticks', '6000', '--coupling', '0.002', '--id', 'lt', '--backend', 'js']);
  t.is(run.code, 0, run.stderr);
  // The admin entry for the run command (recorded once it ran: `done`), then the run's ethics checks, as they commit.
  await tail.waitFor((l) => / {2}admin {2}done {2}run lt$/.test(l.replace(/ {2}certified.*/, '')), 'the admin entry of `run`');
  await tail.waitFor((l) => l.includes('  ethics_check  run lt  epoch 3  '), 'the ethics check of epoch 3');
  const runs = JSON.parse((await c.cli('lt-a', ['runs', '--json'])).stdout) as Array<{ run: string; tick: number; ticks: number; state: string }>;
  const lt = runs.find((r) => r.run === 'lt')!;
  t.true(lt.tick < lt.ticks, `the entries came while the run was still going (tick ${lt.tick} of ${lt.ticks}, ${lt.state})`);

  await c.hosts[0]!.waitFor((l) => l.msg === 'run finished' && l['run'] === 'lt', 'lt finished', 120_000);
  const status = JSON.parse((await c.cli('lt-a', ['status', '--json'])).stdout) as { governance: { heads: Record<string, number> } };
  const head = status.governance.heads['lt-a']!;
  await tail.waitFor((l) => l.startsWith(`lt-a#${head}  `), `the head lt-a#${head}`);
  t.is(await tail.stop(), 0, 'SIGINT ends --follow with exit 0');

  // Every lt-a entry from seq 1 to the head, once each, in seq order.
  const mine = tail.lines.map((l) => HUMAN.exec(l)).filter((m): m is RegExpExecArray => m !== null && m[1] === 'lt-a');
  t.is(mine.length, tail.lines.filter((l) => l.startsWith('lt-a#')).length, `every line has the documented form:\n${tail.lines.join('\n')}`);
  const seqs = mine.map((m) => Number(m[2]));
  t.deepEqual(seqs, Array.from({ length: head }, (_, i) => i + 1), 'seqs 1..head, no repeats or gaps');
  t.is(seqs.at(-1), head);
  t.true(mine.filter((m) => m[3] === 'ethics_check').length >= 60, '60 epochs, 60 ethics checks');
  for (const m of mine) {
    t.true(Number(m[4]) >= 3, `certified by a quorum: ${m[0]}`);
    t.is(m[5], '4');
  }

  // -n 5 --json: the five newest, as export lines.
  const json = await runCli(on(['ledger', 'tail', '-n', '5', '--json']));
  t.is(json.code, 0, json.stderr);
  const lines = json.stdout.trim().split('\n');
  t.is(lines.length, 5);
  const records = lines.map((l, i) => parseExportLine(l, i + 2));
  t.is(String(records.at(-1)!.entry.origin), 'lt-a');
  t.is(records.at(-1)!.entry.seq, head);
  t.like(records.at(-1)!.entry, { kind: 'ethics_check', run: 'lt', epoch: 60, tick: 6000 });
  for (let i = 1; i < records.length; i++) t.true(records[i]!.entry.timestamp >= records[i - 1]!.entry.timestamp, 'ordered by commit time');
  for (const r of records) t.true(r.certificate.votes.length >= 3);

  // The same five, human.
  const human = await runCli(on(['ledger', 'tail', '-n', '5']));
  t.is(human.code, 0, human.stderr);
  const hl = human.stdout.trim().split('\n');
  t.deepEqual(hl.map((l) => HUMAN.exec(l)?.slice(1, 3).join('#')), records.map((r) => `${r.entry.origin}#${r.entry.seq}`));
  t.regex(hl.at(-1)!, new RegExp(`^lt-a#${head} {2}\\S+ {2}ethics_check {2}run lt {2}epoch 60 {2}tick 6000 {2}(pass|fail) {2}E \\S+ entropy \\S+ lanes \\d/1 {2}threshold 2\\.9 {2}certified [34]/4$`));

  // A reading is not a governance action: tailing added nothing to the ledger.
  const again = JSON.parse((await c.cli('lt-a', ['status', '--json'])).stdout) as { governance: { heads: Record<string, number> } };
  t.is(again.governance.heads['lt-a'], head);
});

test('a host without a cluster keeps its own ledger (quorum 1 of 1): a failed command is recorded as refused with its code; -n out of range is bad usage', async (t) => {
  const dir = await tempDir(t);
  const keys = join(dir, 'keys');
  t.is((await runCli(['keys', 'gen', '--node-id', 'admin', '--out', keys])).code, 0);
  const config = await writeConfig(dir, { node: { id: 'solo' }, dataDir: 'data', compute: { threads: 1 }, admin: { authorizedKeys: [join(keys, 'admin.json')] } });
  const host = startHost(config);
  t.teardown(() => void host.child.kill('SIGKILL'));
  await host.waitFor((l) => l.msg === 'host started', 'host started');
  const target = ['--data', join(dir, 'data'), '--admin-key', join(keys, 'admin.secret.json')];
  // The ledger records what happened: the command failed, so its entry says refused and why.
  const pause = await runCli(['pause', 'no-such-run', ...target]);
  t.is(pause.code, 1, pause.stderr);
  t.regex(pause.stderr, /ACTOR_NOT_FOUND|no run no-such-run/);
  const tail = follow(['ledger', 'tail', '--follow', '--interval', '100', ...target]);
  t.teardown(() => void tail.stop());
  const line = await tail.waitFor((l) => l.startsWith('solo#1  '), 'the entry of the pause');
  t.regex(line, /^solo#1 {2}\S+ {2}admin {2}run no-such-run {2}epoch 0 {2}tick 0 {2}refused:ACTOR_NOT_FOUND {2}pause no-such-run {2}certified 1\/1$/);
  t.false(tail.lines.some((l) => / admin {2}(accepted|done) /.test(l)), 'no entry claims the failed command was accepted');
  await tail.stop();
  const bad = await runCli(['ledger', 'tail', '-n', '5000', ...target]);
  t.is(bad.code, 2, bad.stderr);
  t.regex(bad.stderr, /-n must be 0\.\.1000/);
});
