/**
 * `qallow demo` as a user runs it (a real process starting four real host
 * processes): the quick scenario ends with every check passing and a summary
 * that says so, its killed host resumed mid-run with the numbers its host
 * reported; a ring that ends before its kill (a fast machine, forced here
 * with a small plan in-process) is reported as ended and the kill repeated on
 * a longer ring; Ctrl-C (SIGINT) mid-scenario stops every host gracefully,
 * exits 130, and leaves data that `qallow checkpoint list` and `qallow
 * ledger verify` accept on every host.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once, setMaxListeners } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PassThrough, type Readable } from 'node:stream';
import test from 'ava';
import { demoPlan, evenCouplings, retryStep, type DemoPlan } from '../runtime/demo/plan.js';
import { runDemo } from '../runtime/demo/run.js';
import type { DemoSummary } from '../runtime/demo/summary.js';
import { CLI_PATH, runCli, tempDir } from './helpers/cli.js';
import { childEnv, track } from './helpers/children.js';

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
  const child = track(spawn(process.execPath, [CLI_PATH, 'demo', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv({ NO_COLOR: '1' }) }));
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
  // Every run finished, each on its own host (host-1 may have had a longer ring after one that ended before its kill).
  t.true(summary.runs.every((r) => r.state === 'done'), JSON.stringify(summary.runs.map((r) => [r.run, r.state])));
  t.deepEqual(
    summary.runs.filter((r) => r.host !== 'host-1').map((r) => [r.host, r.phase]),
    [
      ['host-2', 'phase13'],
      ['host-3', 'phase13'],
      ['host-4', 'phase12'],
    ],
  );
  t.deepEqual(summary.runs.filter((r) => r.host === 'host-1').map((r) => r.run), [...summary.kill!.endedBeforeKill.filter((r) => r !== summary.kill!.run), summary.kill!.run]);
  // The diverging run: rolled back with an adaptation (k halved), certified, ending on a passing decision.
  const rescue = summary.runs.find((r) => r.run === 'rescue')!;
  t.true(rescue.rollbacks >= 1);
  t.is(rescue.adaptations, rescue.rollbacks);
  t.is(rescue.coupling, Math.fround(0.005), 'k = 0.01 halved, as float32');
  t.is(rescue.lastDecision?.pass, true);
  t.true(rescue.checks.fail >= 1, 'it failed before it was rescued');
  t.true(summary.rollbacks >= 1);
  // The killed host came back from a checkpoint mid-run (real numbers, as the host reported them) and caught up.
  const kill = summary.kill!;
  t.is(kill.host, 'host-1');
  t.true(kill.resumedFromEpoch !== null && kill.resumedFromEpoch > 0, JSON.stringify(kill));
  t.true(kill.resumedFromTick !== null && kill.resumedFromTick > 0 && kill.resumedFromTick < kill.ticks, JSON.stringify(kill));
  t.false(kill.endedBeforeKill.includes(kill.run));
  t.true(kill.caughtUpEntries > 0);
  // The converging run that was resumed passes at its end.
  const ring = summary.runs.find((r) => r.run === kill.run)!;
  t.is(ring.host, 'host-1');
  t.is(ring.lastDecision?.pass, true);
  t.true(ring.updatesPerSecond !== null && ring.updatesPerSecond > 0);
  t.deepEqual(ring.recovered, { epoch: kill.resumedFromEpoch, tick: kill.resumedFromTick });
  // The story says so with the same numbers, and never with a placeholder.
  t.true(demo.stderr.some((l) => l.includes(`${kill.run}: resumed on host-1 from checkpoint epoch ${kill.resumedFromEpoch} (tick ${kill.resumedFromTick})`)), demo.stderr.join('\n'));
  t.false(demo.stderr.some((l) => l.includes('?')));
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

test.serial('a ring that ended before its kill is reported as ended, and the kill is repeated on a longer ring, which resumes mid-way', async (t) => {
  const dir = join(await tempDir(t), 'demo');
  const base = demoPlan(true);
  // Killed only once its last epoch is logged (its last checkpoint written), the first ring can
  // never be resumed mid-way, however fast or slow this machine: the path a fast machine takes.
  const plan: DemoPlan = {
    ...base,
    converge: { ...base.converge, id: 'ring-small', pockets: 16_384, ticks: 800, epochTicks: 200 },
    sweep: { ...base.sweep, rings: 16, couplings: evenCouplings(16, 0.005), ticks: 200, epochTicks: 100 },
    batch: { ...base.batch, eps: [0, 0.01], ticks: 400, epochTicks: 100 },
    killAtEpoch: 4,
  };
  const out = new PassThrough();
  const text: string[] = [];
  out.on('data', (b: Buffer) => text.push(b.toString('utf8')));
  const stop = new AbortController();
  setMaxListeners(1000, stop.signal); // every wait of the scenario listens to it, as in the CLI
  t.teardown(() => stop.abort(new Error('test over')));
  const summary = await runDemo({ nodes: 4, data: dir, quick: true, json: false, keep: false, plan }, { stdout: out, stderr: out, signal: stop.signal, force: new AbortController().signal });
  const story = text.join('');
  const kill = summary.kill!;
  t.true(summary.ok, story);
  t.is(kill.endedBeforeKill[0], 'ring-small', story);
  t.false(kill.endedBeforeKill.includes(kill.run));
  t.regex(kill.run, /^ring-small-\d$/);
  t.true(kill.resumedFromEpoch !== null && kill.resumedFromEpoch >= 1, story);
  t.true(kill.resumedFromTick !== null && kill.resumedFromTick < kill.ticks, story);
  t.is(kill.ticks, retryStep(plan.converge, kill.endedBeforeKill.length + 1).ticks);
  // What it saw, said as such: the first ring ended, nothing resumed; then the real resume, with its numbers.
  t.regex(story, /ring-small had (ended before the kill \(done at tick 800\)|computed all 800 ticks before the kill)/);
  t.regex(story, /Crash: host-1 was killed \(SIGKILL\), but ring-small had ended before the kill landed: nothing to resume; the demo ran ring-small-2, a longer run, and killed host-1 again/);
  t.true(story.includes(`resumed ${kill.run} from checkpoint epoch ${kill.resumedFromEpoch} (tick ${kill.resumedFromTick} of ${kill.ticks})`), story);
  t.false(story.includes('?'), story);
  // The first ring: never recovered, or recovered with every tick already computed.
  const first = summary.runs.find((r) => r.run === 'ring-small')!;
  t.true(first.recovered === null || first.recovered.tick === 800, JSON.stringify(first.recovered));
  t.false(story.includes('ring-small: resumed'), story);
  t.true(summary.runs.every((r) => r.state === 'done'));
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
