/**
 * `qallow demo` from start to end: make the directory, start the cluster,
 * play the scenario, stop the hosts (or keep them), verify every ledger,
 * summarise. One place owns the lifecycle: whatever happens in between
 * (a failure, Ctrl-C), the hosts are stopped gracefully before it returns,
 * so their runs are checkpointed and their ledgers verifiable.
 */
import { isLiveRun } from '../admin/replies.js';
import { QallowError, errorMessage } from '../errors.js';
import { DemoCluster } from './cluster.js';
import { prepareLayout, type DemoLayout } from './layout.js';
import { demoPlan, type DemoPlan } from './plan.js';
import { Progress } from './progress.js';
import { Scenario, type ScenarioResult } from './scenario.js';
import { exploreCommands, ledgersAgree, renderSummary, tallyLedger, verifyHostLedger, type DemoSummary, type LedgerTally, type RunSummary } from './summary.js';
import { RunTracker } from './tracker.js';

export interface DemoOptions {
  readonly nodes: number;
  readonly data: string;
  readonly quick: boolean;
  readonly json: boolean;
  readonly keep: boolean;
  /** The scenario's numbers: `demoPlan(quick)` when absent (a test hands in a smaller one). */
  readonly plan?: DemoPlan | undefined;
}

export interface DemoIO {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** Aborts the demo (Ctrl-C); a second abort of `force` kills the hosts outright. */
  readonly signal: AbortSignal;
  readonly force: AbortSignal;
}

function isTTY(s: NodeJS.WritableStream): boolean {
  return (s as NodeJS.WriteStream).isTTY === true;
}

function runSummaries(result: ScenarioResult, tally: LedgerTally | null): RunSummary[] {
  return [...result.tracker.runs.values()].map((p) => {
    const f = result.finalRuns.get(p.step.id);
    const live = f && isLiveRun(f) ? f : undefined;
    const d = live?.lastDecision;
    const t = tally?.runs[p.step.id] ?? { pass: 0, fail: 0, rollback: 0, adaptation: 0, halt: 0 };
    const couplings = live?.couplings ?? [...p.couplings];
    return {
      run: p.step.id,
      host: p.host,
      phase: p.step.phase,
      state: f?.state ?? p.state,
      epochs: f?.epoch ?? p.epoch,
      tick: f?.tick ?? p.tick,
      ticks: p.step.ticks,
      lastDecision: d ? { pass: d.pass, E: !Number.isFinite(d.minTotal) ? null : d.minTotal, passed: d.passed, lanes: d.lanes } : null,
      checks: { pass: t.pass, fail: t.fail },
      rollbacks: t.rollback,
      adaptations: t.adaptation,
      halts: t.halt,
      coupling: p.step.phase === 'phase13' && couplings.length === 1 ? couplings[0]! : null,
      updatesPerSecond: RunTracker.throughput(p),
      recovered: p.recoveredAt,
    };
  });
}

export async function runDemo(o: DemoOptions, io: DemoIO): Promise<DemoSummary> {
  const started = Date.now();
  // With --json the summary owns stdout; the story goes to stderr.
  const out = o.json ? io.stderr : io.stdout;
  const tty = isTTY(out);
  const progress = new Progress({ out, tty, color: tty && process.env['NO_COLOR'] === undefined });
  const plan = o.plan ?? demoPlan(o.quick);
  progress.print([
    `qallow demo: ${o.nodes} hosts on this machine (loopback), each a real \`qallow start\` process with its own keys, LMDB store and worker pool.`,
    `They form one cluster: ethics decisions are certified by a quorum of validators into a replicated, signed ledger.`,
    `Scenario: a converging 1-ring run, a ${plan.sweep.rings}-ring sweep, a diverging run rescued by the governor, a phase 12 batch,`,
    `and a host killed with kill -9 mid-run that resumes from its checkpoint. ${o.quick ? 'Quick mode: well under a minute.' : 'Takes a few minutes (--quick for a short one).'}`,
    `Data and logs: ${o.data}   Ctrl-C stops every host cleanly.`,
    '',
  ]);

  progress.step('setup', `keys, configs and free loopback ports for ${o.nodes} hosts in ${o.data}`);
  const { layout, reused } = await prepareLayout({ root: o.data, nodes: o.nodes, epochTicks: 200 });
  if (reused) progress.note(`replaced the previous demo in ${layout.root}`);
  progress.note(`admin key ${layout.adminKey} (signs every command); host keys in ${layout.root}/keys/`);

  const cluster = new DemoCluster({ layout, startTimeoutMs: 90_000 }, { signal: io.signal });
  // A second Ctrl-C: no more waiting for the hosts to drain.
  const onForce = (): void => void cluster.killAll();
  io.force.addEventListener('abort', onForce, { once: true });
  // If this process ends unexpectedly, the detached hosts must not outlive it (unless kept).
  let kept = false;
  const onExit = (): void => {
    if (!kept) for (const h of cluster.hosts) if (h.running) h.child.kill('SIGTERM');
  };
  process.on('exit', onExit);

  const scenario = new Scenario(plan, { cluster, progress, signal: io.signal });
  let result: ScenarioResult | undefined;
  let failure: unknown;
  try {
    progress.step('start', `${o.nodes} hosts: qallow start --config ${layout.root}/host-N/config.json`);
    await cluster.start();
    for (const h of cluster.hosts) progress.note(`${h.host.id} pid ${h.pid}, cluster ${h.host.bind}, log ${h.host.log}`);
    progress.note(`all ${o.nodes} hosts up: every host sees every other (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    result = await scenario.play();
  } catch (e) {
    failure = e;
  }

  const interrupted = io.signal.aborted;
  if (interrupted) progress.alert('Ctrl-C: stopping every host gracefully (the epoch in flight is checkpointed; Ctrl-C again kills them)');
  if (o.keep && !failure && !interrupted) {
    kept = true;
    cluster.detach();
  } else if (cluster.hosts.length > 0) {
    if (!interrupted) progress.step('stop', 'SIGTERM to every host: runs drain and checkpoint, LMDB closes');
    const stops = await cluster.stop();
    for (const s of stops) {
      if (s.forced) progress.alert(`${s.host} did not stop in time and was killed`);
      else if (s.exit.code !== 0 && !(s.exit.signal === 'SIGKILL')) progress.alert(`${s.host} exited with code ${s.exit.code ?? s.exit.signal}`);
    }
    if (!interrupted) progress.note('every host stopped');
  }
  process.removeListener('exit', onExit);
  io.force.removeEventListener('abort', onForce);

  if (interrupted) {
    progress.print([
      '',
      `Stopped. Runs are checkpointed and the ledgers verifiable; the data is in ${layout.root}:`,
      ...layout.hosts.map((h) => {
        // A host that had no run yet has no checkpoints to list.
        const hasRuns = [...scenario.tracker.runs.values()].some((r) => r.host === h.id && r.state !== 'waiting');
        return `  ${hasRuns ? `npx qallow checkpoint list --data ${h.dataDir} && ` : ''}npx qallow ledger verify --data ${h.dataDir}`;
      }),
    ]);
    throw new QallowError('INTERRUPTED', `demo interrupted; hosts stopped, data in ${layout.root}`, { dataDir: layout.root });
  }
  if (failure || !result) {
    progress.stop();
    throw new QallowError('TASK_FAILED', `demo failed: ${errorMessage(failure)} (host logs: ${layout.root}/host-N/host.log)`, { dataDir: layout.root });
  }
  return summarise(o, layout, result, started, kept ? cluster.hosts.map((h) => h.pid) : [], progress);
}

async function summarise(o: DemoOptions, layout: DemoLayout, result: ScenarioResult, started: number, kept: number[], progress: Progress): Promise<DemoSummary> {
  progress.step('verify', `qallow ledger verify on every host's data (offline)`);
  const ledgers = await Promise.all(layout.hosts.map((h) => verifyHostLedger(h)));
  for (const l of ledgers) progress.note(`${l.host}: ${l.verified ? `ledger ok, ${l.entries} entries` : `ledger FAILED: ${l.problem}`}`);
  const tally = ledgers[0]?.verified ? await tallyLedger(layout.hosts[0]!.dataDir).catch(() => null) : null;
  const runs = runSummaries(result, tally);
  const agree = ledgersAgree(ledgers) && result.ledgersInSync;
  const rescue = runs.find((r) => r.run === 'rescue');
  // The crash step counts only if the restarted host resumed its run from a checkpoint.
  const resumed = result.kill !== null && result.kill.resumedFromEpoch !== null;
  const ok = agree && resumed && runs.every((r) => r.state === 'done') && rescue?.lastDecision?.pass === true && (rescue?.rollbacks ?? 0) > 0;
  const summary: DemoSummary = {
    ok,
    quick: o.quick,
    nodes: layout.hosts.length,
    seconds: (Date.now() - started) / 1000,
    dataDir: layout.root,
    adminKey: layout.adminKey,
    runs,
    decisions: { pass: runs.reduce((n, r) => n + r.checks.pass, 0), fail: runs.reduce((n, r) => n + r.checks.fail, 0) },
    rollbacks: runs.reduce((n, r) => n + r.rollbacks, 0),
    adaptations: runs.reduce((n, r) => n + r.adaptations, 0),
    ledgers,
    ledgersAgree: agree,
    kill: result.kill,
    kept,
    explore: exploreCommands(layout, runs, kept.length > 0),
  };
  if (!o.json) progress.print(renderSummary(summary));
  else progress.stop();
  return summary;
}
