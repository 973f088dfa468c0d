/**
 * The demo's one scenario, step by step, on a started DemoCluster:
 *
 *   a. a converging phase 13 run (one big ring) on host 1;
 *   b. a phase 13 sweep (thousands of rings, couplings across the stable range) on host 2;
 *   c. k = 0.01 on an even ring on host 3, diverging, rescued by the closed loop;
 *   e. host 1 killed with SIGKILL mid-run; while it is down
 *   d. a phase 12 batch starts on host 4 and its entries are certified by the
 *      three hosts left (3 of 4 is a quorum), so host 1 has something to catch up;
 *      host 1 restarts, resumes its run from its checkpoint and fetches what it missed;
 *   f. every run ends, the ledgers converge; the caller then stops the hosts,
 *      verifies every ledger and prints the summary.
 *
 * Every wait is on an event (a log line, a status that changed) with a
 * timeout, and every wait ends when `signal` aborts (Ctrl-C).
 */
import type { RunReport } from '../admin/replies.js';
import type { AdminCommand } from '../admin/command.js';
import { QallowError } from '../errors.js';
import { formatG } from '../format.js';
import type { DemoCluster } from './cluster.js';
import { membershipChange } from './cluster.js';
import type { HostProcess } from './host-process.js';
import type { LogLine } from './log-tail.js';
import { describe, retryStep, type DemoPlan, type RunStep } from './plan.js';
import type { Progress } from './progress.js';
import { describeEnded, resumeOutcome, type ResumeOutcome } from './resume.js';
import type { KillReport } from './summary.js';
import { RunTracker, type RunProgress } from './tracker.js';

export interface ScenarioComponents {
  readonly cluster: DemoCluster;
  readonly progress: Progress;
  readonly signal: AbortSignal;
}

export interface ScenarioResult {
  readonly tracker: RunTracker;
  /** Each run's final status as its host reported it. */
  /** Each run's entry in `runs` on the host that ran it, at the end. */
  readonly finalRuns: ReadonlyMap<string, RunReport & { readonly host: string }>;
  readonly kill: KillReport | null;
  readonly ledgersInSync: boolean;
}

type Heads = Record<string, number>;

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Poll `probe` until it returns a value (not undefined), or time out naming `what`. */
async function until<T>(what: string, timeoutMs: number, signal: AbortSignal, probe: () => Promise<T | undefined>, everyMs = 300): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch((e: unknown) => {
      if (signal.aborted) throw e;
      return undefined; // a host briefly unreachable: ask again
    });
    if (v !== undefined) return v;
    if (Date.now() > end) throw new QallowError('TIMEOUT', `${what} did not happen within ${Math.round(timeoutMs / 1000)} s`, { what });
    await delay(everyMs, signal);
  }
}

const epochLine = (run: string, atLeast: number) => (l: LogLine): boolean => l.msg === 'epoch' && l['run'] === run && Number(l['epoch']) >= atLeast;

export class Scenario {
  readonly tracker = new RunTracker();
  private readonly firstPass = new Set<string>();

  constructor(
    private readonly plan: DemoPlan,
    private readonly c: ScenarioComponents,
  ) {
    this.tracker.on((e) => {
      const r = e.run;
      switch (e.type) {
        case 'epoch':
          if (r.lastDecision === 'pass' && !this.firstPass.has(r.step.id)) {
            this.firstPass.add(r.step.id);
            this.c.progress.note(`${r.step.id}: first passing epoch ${r.epoch} at tick ${r.tick} (E = ${formatG(r.lastE ?? NaN, 5)})`);
          }
          return;
        case 'rollback':
          this.c.progress.alert(
            `${r.step.id}: diverging at epoch ${r.epoch - 1} (${e.reason}) → rollback to epoch ${e.toEpoch}, coupling ${e.from.map((k) => formatG(k, 4)).join(',')} → ${e.to.map((k) => formatG(k, 4)).join(',')}`,
          );
          return;
        case 'recovered':
          this.c.progress.note(
            e.tick < r.step.ticks
              ? `${r.step.id}: resumed on ${r.host} from checkpoint epoch ${e.epoch} (tick ${e.tick})`
              : `${r.step.id}: reopened on ${r.host} at its last checkpoint (epoch ${e.epoch}, tick ${e.tick}): every tick was computed before the kill`,
          );
          return;
        case 'finished':
          this.c.progress.note(`${r.step.id} on ${r.host}: done after ${r.epoch} epochs, last decision ${r.lastDecision ?? '-'} (E = ${formatG(r.lastE ?? NaN, 5)})${r.rollbacks ? `, ${r.rollbacks} rollback(s)` : ''}`);
          return;
        case 'halted':
          this.c.progress.alert(`${r.step.id} on ${r.host}: halted by the governor (${e.reason})`);
          return;
        case 'started':
          return;
      }
    });
  }

  private get cluster(): DemoCluster {
    return this.c.cluster;
  }

  /** Feed a host process's log lines (those already read, then new ones) to the tracker. */
  follow(p: HostProcess): void {
    for (const l of p.tail.lines) this.tracker.line(p.host.id, l);
    p.tail.onLine((l) => this.tracker.line(p.host.id, l));
  }

  private async startRun(i: number, step: RunStep): Promise<RunProgress> {
    const progress = this.tracker.expect(step, this.cluster.hostLayout(i).id);
    const params: Extract<AdminCommand, { type: 'run' }>['params'] =
      step.phase === 'phase12'
        ? { phase: 'phase12', ticks: step.ticks, eps: [...step.eps] }
        : { phase: 'phase13', ticks: step.ticks, pockets: step.pockets, couplings: [...step.couplings], rings: step.rings };
    await this.cluster.send(i, { type: 'run', params, id: step.id, epochTicks: step.epochTicks });
    return progress;
  }

  private heads(i: number): Promise<Heads> {
    return this.cluster.send(i, { type: 'status' }, 10_000).then((s) => ({ ...s.governance?.heads }));
  }

  private killedAt = 0;

  /** Wait until host 1's `step` has logged epoch `killAtEpoch`, then SIGKILL host 1; the last epoch it logged. */
  private async killVictim(step: RunStep, timeoutMs: number): Promise<number> {
    const { progress, signal } = this.c;
    const victim = this.cluster.host(0);
    const id = victim.host.id;
    await victim.tail.waitFor(epochLine(step.id, this.plan.killAtEpoch), `${step.id} epoch ${this.plan.killAtEpoch}`, timeoutMs, signal);
    const at = this.tracker.runs.get(step.id)!.epoch;
    progress.step('e.', `kill -9 ${id} (pid ${victim.pid}): ${step.id} has logged epoch ${at} of ${Math.ceil(step.ticks / step.epochTicks)}`);
    this.killedAt = Date.now();
    await this.cluster.kill(0);
    await victim.tail.stop(`${id} was killed`);
    const epoch = this.tracker.runs.get(step.id)!.epoch;
    this.tracker.hostDown(id);
    progress.note(`${id} is gone; the last epoch it logged for ${step.id} was ${epoch}`);
    return epoch;
  }

  /**
   * Start host 1 again and find out from it whether it resumed `step` from a
   * checkpoint mid-way (resume.ts); when it did, its recovery line is awaited
   * too, so the tracker (and the live panel) show it.
   */
  private async restartVictim(step: RunStep): Promise<ResumeOutcome> {
    const { signal } = this.c;
    const reborn = await this.cluster.restart(0);
    this.follow(reborn);
    const outcome = await until(`${reborn.host.id} reporting how it reopened ${step.id}`, 60_000, signal, async () => {
      const runs = await this.cluster.send(0, { type: 'runs' }, 10_000);
      const o = resumeOutcome(runs.find((r) => r.run === step.id), step);
      return o.kind === 'pending' ? undefined : o;
    });
    if (outcome.kind === 'resumed') {
      await reborn.tail.waitFor((l) => l.msg === 'run recovered from checkpoint' && l['run'] === step.id, `${step.id} recovered`, 60_000, signal);
    } else {
      const r = this.tracker.runs.get(step.id)!;
      if (outcome.state === 'done' || outcome.state === 'halted') r.state = outcome.state;
    }
    return outcome;
  }

  async play(): Promise<ScenarioResult> {
    const { plan } = this;
    const { progress, signal } = this.c;
    const cluster = this.cluster;
    const runTimeout = plan.quick ? 180_000 : 900_000;
    const ids = cluster.layout.hosts.map((h) => h.id);
    for (const h of cluster.hosts) this.follow(h);
    progress.showRuns(() => [...this.tracker.runs.values()]);

    // The three runs start together, on three hosts.
    progress.step('a.', `${ids[0]}: ${describe(plan.converge)}`);
    progress.step('b.', `${ids[1]}: ${describe(plan.sweep)}`);
    progress.step('c.', `${ids[2]}: ${describe(plan.rescue)} — diverges unless governed`);
    await Promise.all([this.startRun(0, plan.converge), this.startRun(1, plan.sweep), this.startRun(2, plan.rescue)]);

    // e. The crash: once the big run has checkpointed a few epochs, and still
    // has most of them to go. Whether the restarted host really resumed it
    // mid-way is read from the host afterwards; if the run had ended before
    // the kill landed (a fast machine), the kill is repeated on a longer run.
    let step = plan.converge;
    let killedAfterEpoch = await this.killVictim(step, runTimeout);
    await cluster.host(1).tail.waitFor(membershipChange(ids[0]!, 'down', this.killedAt), `${ids[0]} down in ${ids[1]}'s view`, 30_000, signal);
    progress.note(`${ids[1]} sees ${ids[0]} down (phi-accrual failure detector); ${ids.length - 1} of ${ids.length} validators remain, still a quorum`);

    // d. Work that host 1 will have to catch up on.
    // Host 4 (index 3): hosts beyond the fourth only validate.
    const last = 3;
    progress.step('d.', `${ids[last]}: ${describe(plan.batch)} — while ${ids[0]} is down`);
    const before = (await this.heads(last))[ids[last]!] ?? 0;
    await this.startRun(last, plan.batch);
    const certified = await until(`entries from ${ids[last]} certified without ${ids[0]}`, 60_000, signal, async () => {
      const h = (await this.heads(1))[ids[last]!] ?? 0;
      return h >= before + 2 ? h : undefined;
    });
    progress.note(`${ids[last]}'s ledger is at entry ${certified}, certified by ${ids.length - 1} validators without ${ids[0]}`);

    progress.step('e.', `restart ${ids[0]}: it resumes from its newest checkpoint and fetches the ledger entries it missed`);
    let outcome = await this.restartVictim(step);
    const reborn = cluster.host(0);
    progress.note(`${ids[0]} is back: it sees all ${ids.length - 1} peers up`);
    await until(`${ids[0]} catching up ${ids[last]}'s entries`, 60_000, signal, async () => {
      const h = (await this.heads(0))[ids[last]!] ?? 0;
      return h >= certified ? h : undefined;
    });
    // Its log says what it fetched (the line may land a moment after the heads show it).
    await reborn.tail.waitFor((l) => l.msg === 'caught up ledger entries', `${ids[0]}'s catch-up log line`, 10_000, signal).catch((e: unknown) => {
      if (signal.aborted) throw e;
    });
    const caughtUp = reborn.tail.lines.filter((l) => l.msg === 'caught up ledger entries').reduce((n, l) => n + Number(l['count'] ?? 0), 0);
    progress.note(`${ids[0]} ${caughtUp > 0 ? `fetched ${caughtUp} ledger entries from its peers, verified them and appended them` : `holds ${ids[last]}'s entries up to ${certified}, as its peers do`}`);

    // The run had ended before the kill: say so, and kill again on a longer run.
    const endedBeforeKill: string[] = [];
    for (let attempt = 2; outcome.kind === 'ended'; attempt++) {
      endedBeforeKill.push(step.id);
      progress.alert(describeEnded(step.id, outcome, step.ticks));
      if (attempt > plan.killAttempts) break;
      step = retryStep(plan.converge, attempt);
      progress.step('e.', `again, on a run ${step.ticks / plan.converge.ticks}× as long — ${ids[0]}: ${describe(step)}`);
      await this.startRun(0, step);
      killedAfterEpoch = await this.killVictim(step, runTimeout);
      progress.step('e.', `restart ${ids[0]}`);
      outcome = await this.restartVictim(step);
    }

    // f. Every run to its end, then the ledgers to one state.
    progress.step('f.', 'waiting for every run to finish');
    // A run that ended already is not waited for: when it ended on the host that was killed, its
    // end is in the log of the process before the restart, which the new tail does not read.
    const steps = [step, plan.sweep, plan.rescue, plan.batch].filter((s) => {
      if (endedBeforeKill.includes(s.id)) return false;
      const state = this.tracker.runs.get(s.id)!.state;
      return state !== 'done' && state !== 'halted';
    });
    await Promise.all(
      steps.map((s) => {
        const host = this.tracker.runs.get(s.id)!.host;
        const i = ids.indexOf(host);
        return cluster.host(i).tail.waitFor((l) => (l.msg === 'run finished' || l.msg === 'run halted') && l['run'] === s.id, `${s.id} to finish`, runTimeout, signal);
      }),
    );
    progress.note('all runs ended; waiting for the ledgers to agree');
    let ledgersInSync = true;
    try {
      await until('every host holding the same ledger heads', 60_000, signal, async () => {
        const all = await Promise.all(ids.map((_, i) => this.heads(i)));
        const key = (h: Heads): string => JSON.stringify(Object.entries(h).sort(([a], [b]) => a.localeCompare(b)));
        return all.every((h) => key(h) === key(all[0]!)) ? all[0] : undefined;
      });
      progress.note('every host holds the same ledger');
    } catch (e) {
      if (signal.aborted) throw e;
      ledgersInSync = false;
      progress.alert('the ledgers did not converge in time (the summary shows each one)');
    }
    const finalRuns = new Map<string, RunReport & { readonly host: string }>();
    for (let i = 0; i < ids.length; i++) {
      for (const r of await cluster.send(i, { type: 'runs' })) finalRuns.set(r.run, { ...r, host: ids[i]! });
    }
    return {
      tracker: this.tracker,
      finalRuns,
      kill: {
        host: ids[0]!,
        run: step.id,
        ticks: step.ticks,
        killedAfterEpoch,
        resumedFromEpoch: outcome.kind === 'resumed' ? outcome.epoch : null,
        resumedFromTick: outcome.kind === 'resumed' ? outcome.tick : null,
        endedBeforeKill,
        caughtUpEntries: caughtUp,
      },
      ledgersInSync,
    };
  }
}
