/**
 * `qallow demo` as a user runs it (a real process starting four real host
 * processes): the quick scenario ends with every check passing and a summary
 * that says so; Ctrl-C (SIGINT) mid-scenario stops every host gracefully,
 * exits 130, and leaves data that `qallow checkpoint list` and `qallow
 * ledger verify` accept on every host.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import test from 'ava';
import type { DemoSummary } from '../runtime/demo/summary.js';
import { CLI_PATH, runCli, tempDir } from './helpers/cli.js';
import { track } from './helpers/children.js';

const HOSTS = ['host-1', 'host-2', 'host-3', 'host-4'];

interface Demo {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly stdout: string[];
  readonly stderr: string[];
  /** Resolves with the first stderr line (seen or to come) matching; rejects if the demo exits first or after the timeout. */
  line(pattern: RegExp, timeoutMs?: number): Promise<string>;
  readonly closed: Promise<number | null>;
}

function startDemo(args: string[]): Demo {
  const child = track(spawn(process.execPath, [CLI_PATH, 'demo', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } }));
  const stdout: string[] = [];
  const stderr: string[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout }).on('line', (l) => stdout.push(l));
  createInterface({ input: child.stderr }).on('line', (l) => {
    stderr.push(l);
    for (const w of [...waiters]) w();
  });
  let done = false;
  const closed = once(child, 'close').then(([code]) => {
    done = true;
    for (const w of [...waiters]) w();
    return code as number | null;
  });
  return {
    child,
    stdout,
    stderr,
    closed,
    line(pattern, timeoutMs = 90_000) {
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => finish(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; stderr:\n${stderr.join('\n')}`))), timeoutMs);
        const check = (): void => {
          const hit = stderr.find((l) => pattern.test(l));
          if (hit !== undefined) finish(() => resolve(hit));
          else if (done) finish(() => reject(new Error(`the demo exited before a line matching ${pattern}; stderr:\n${stderr.join('\n')}`)));
        };
        const finish = (settle: () => void): void => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
  };
}

test.serial('demo --quick: four hosts, every run done, the rescue rolled back and passing, a killed host resumed, four equal verified ledgers', async (t) => {
  const dir = join(await tempDir(t), 'demo');
  const demo = startDemo(['--quick', '--data', dir, '--json']);
  t.teardown(() => void demo.child.kill('SIGKILL'));
  const code = await demo.closed;
  t.is(code, 0, demo.stderr.join('\n'));
  const summary = JSON.parse(demo.stdout.at(-1) ?? '{}') as DemoSummary;
  t.true(summary.ok);
  t.is(summary.nodes, 4);
  t.is(summary.dataDir, dir);
  t.deepEqual(summary.ledgers.map((l) => l.host), HOSTS);
  // Every run finished, each on its own host.
  t.deepEqual(
    summary.runs.map((r) => [r.phase, r.state]),
    [
      ['phase13', 'done'],
      ['phase13', 'done'],
      ['phase13', 'done'],
      ['phase12', 'done'],
    ],
  );
  t.deepEqual(new Set(summary.runs.map((r) => r.host)).size, 4);
  // The diverging run: rolled back with an adaptation (k halved), certified, ending on a passing decision.
  const rescue = summary.runs.find((r) => r.run === 'rescue')!;
  t.true(rescue.rollbacks >= 1);
  t.is(rescue.adaptations, rescue.rollbacks);
  t.is(rescue.coupling, Math.fround(0.005), 'k = 0.01 halved, as float32');
  t.is(rescue.lastDecision?.pass, true);
  t.true(rescue.checks.fail >= 1, 'it failed before it was rescued');
  t.true(summary.rollbacks >= 1);
  // The converging run passes at its end.
  const ring = summary.runs.find((r) => r.host === 'host-1')!;
  t.is(ring.lastDecision?.pass, true);
  t.true(ring.updatesPerSecond !== null && ring.updatesPerSecond > 0);
  // The killed host came back from a checkpoint mid-run and caught up.
  t.is(summary.kill?.host, 'host-1');
  t.truthy(summary.kill && summary.kill.resumedFromEpoch !== null && summary.kill.resumedFromEpoch > 0);
  t.is(ring.recovered?.epoch, summary.kill?.resumedFromEpoch ?? undefined);
  t.true((summary.kill?.caughtUpEntries ?? 0) > 0);
  // Four ledgers, each verified, all with the same heads; decisions counted from them.
  t.true(summary.ledgersAgree);
  for (const l of summary.ledgers) t.true(l.verified, `${l.host}: ${l.problem}`);
  const heads = summary.ledgers.map((l) => JSON.stringify(l.heads));
  t.is(new Set(heads).size, 1);
  t.is(new Set(summary.ledgers.map((l) => l.entries)).size, 1);
  t.is(summary.decisions.pass + summary.decisions.fail, summary.runs.reduce((n, r) => n + r.checks.pass + r.checks.fail, 0));
  t.true(summary.decisions.pass > 0 && summary.decisions.fail > 0);
  // The same data verifies with the CLI too.
  const v = await runCli(['ledger', 'verify', '--data', join(dir, 'host-2', 'data')]);
  t.is(v.code, 0, v.stdout + v.stderr);
  // The story went to stderr, in order.
  t.true(demo.stderr.some((l) => /all 4 hosts up/.test(l)));
  t.true(demo.stderr.some((l) => /rollback to epoch/.test(l)));
});

test.serial('Ctrl-C: the demo stops every host gracefully, exits 130, and every host’s checkpoints and ledger verify', async (t) => {
  const dir = join(await tempDir(t), 'demo');
  const demo = startDemo(['--quick', '--data', dir, '--json']);
  t.teardown(() => void demo.child.kill('SIGKILL'));
  await demo.line(/all 4 hosts up/);
  // Every host has a run by now, and host-1's (resumed after its kill) is still going.
  await demo.line(/host-1 is back/);
  demo.child.kill('SIGINT');
  const code = await demo.closed;
  t.is(code, 130, demo.stderr.join('\n'));
  t.true(demo.stderr.some((l) => /stopping every host gracefully/.test(l)));
  t.is(demo.stdout.length, 0, 'no summary after an interruption');
  for (const h of HOSTS) {
    const data = join(dir, h, 'data');
    const list = await runCli(['checkpoint', 'list', '--data', data]);
    t.is(list.code, 0, `${h}: ${list.stdout}${list.stderr}`);
    const verify = await runCli(['ledger', 'verify', '--data', data]);
    t.is(verify.code, 0, `${h}: ${verify.stdout}${verify.stderr}`);
  }
  // host-1 had its big run going: it is checkpointed.
  const ring = await runCli(['checkpoint', 'list', '--data', join(dir, 'host-1', 'data'), '--json']);
  t.regex(ring.stdout, /ring-256k/);
});
