/**
 * One host's supervisor tree (SPEC §5), for what exists so far:
 *
 *   root (one-for-one)
 *   ├── compute     the piscina pool (status/metrics)
 *   ├── store       the LMDB environment (status)
 *   ├── telemetry   metrics lines to pino every telemetry.intervalMs
 *   └── runs        one-for-one, one phase actor per run
 *
 * Start order: store → compute pool → actor system → service actors → runs
 * (boot runs from the config, then every unfinished run found in the
 * store). Stop is the reverse: each phase actor drains (the epoch in
 * progress finishes and is checkpointed), the actor tree stops, the pool
 * and then the store close. An escalation that reaches the root stops the
 * tree and the host exits non-zero rather than limp on.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { spawnPhaseActor, type AdminCommand, type PhaseMsg, type RunStatus } from '../actors/phase.js';
import type { RunSpec } from '../actors/run-engine.js';
import type { HostConfig } from '../config/schema.js';
import type { BackendId } from '../kernels/backend.js';
import { phase12Params, phase13Params, type PhaseParams } from '../kernels/params.js';
import { ComputePool } from '../kernels/pool.js';
import { resolveBackend } from '../kernels/select.js';
import { createActorSystem, spawn, spawnSupervisor, type ActorRef, type ActorSystem } from './actors/index.js';
import { QallowError } from './errors.js';
import type { Logger } from './logger.js';
import { createLmdbStore } from './store/lmdb.js';
import type { Store } from './store/contract.js';
import type { Supervisor } from '../supervisors/index.js';

export interface HostComponents {
  readonly logger: Logger;
  /** Called once when the host fails for good (root escalation). */
  readonly onFatal?: ((e: QallowError) => void) | undefined;
}

type ServiceMsg = { readonly type: 'tick' };

export class Host {
  private store: Store | undefined;
  private pool: ComputePool | undefined;
  private system: ActorSystem | undefined;
  private runsSupervisor: Supervisor | undefined;
  private telemetryTimer: NodeJS.Timeout | undefined;
  private readonly runs = new Map<string, ActorRef<PhaseMsg>>();
  private readonly latest = new Map<string, RunStatus>();
  private readonly finished = new Set<(s: RunStatus) => void>();

  constructor(
    readonly config: HostConfig,
    private readonly c: HostComponents,
  ) {}

  get dataDir(): string {
    return this.config.dataDir;
  }

  async start(): Promise<void> {
    const log = this.c.logger;
    const cfg = this.config;
    this.store = createLmdbStore({ dataDir: cfg.dataDir }, { logger: log.child({ component: 'store' }) });
    await this.store.start();
    this.pool = new ComputePool({ threads: cfg.compute.threads === 0 ? availableParallelism() : cfg.compute.threads });
    this.pool.start();
    this.system = createActorSystem(
      {
        nodeId: cfg.node.id,
        root: {
          strategy: 'one-for-one',
          intensity: { maxRestarts: cfg.supervision.maxRestarts, periodMs: cfg.supervision.withinSeconds * 1000 },
          backoff: { baseMs: cfg.supervision.backoff.initialMs, maxMs: cfg.supervision.backoff.maxMs, jitter: cfg.supervision.backoff.jitter },
        },
      },
      {
        logger: log,
        onRootEscalation: (e) => {
          log.fatal({ code: e.code, err: e.message }, 'supervision escalated to the root; the host stops');
          this.c.onFatal?.(e);
        },
      },
    );
    await this.system.start();
    const root = this.system.root;
    for (const name of ['compute', 'store']) {
      spawn<ServiceMsg, null>(root, { name, initialState: null, mailbox: { capacity: 16 }, handle: (s) => s });
    }
    const telemetry = spawn<ServiceMsg, null>(root, {
      name: 'telemetry',
      initialState: null,
      mailbox: { capacity: 4 },
      handle: (s) => {
        this.emitMetrics();
        return s;
      },
    });
    this.telemetryTimer = setInterval(() => void telemetry.tryTell({ type: 'tick' }), cfg.telemetry.intervalMs);
    this.telemetryTimer.unref();
    this.runsSupervisor = spawnSupervisor(root, {
      name: 'runs',
      strategy: 'one-for-one',
      intensity: { maxRestarts: cfg.supervision.maxRestarts, periodMs: cfg.supervision.withinSeconds * 1000 },
      backoff: { baseMs: cfg.supervision.backoff.initialMs, maxMs: cfg.supervision.backoff.maxMs, jitter: cfg.supervision.backoff.jitter },
    });
    log.info({ dataDir: cfg.dataDir, threads: this.pool.threads }, 'host started');
    // Unfinished runs in the store first (they resume), then boot runs not yet known.
    const known = new Set<string>();
    for (const run of await this.store.runs()) {
      known.add(run);
      const record = await this.store.getRun(run);
      if (record && (record.state === 'running' || record.state === 'paused')) {
        this.startRun({ run, params: record.params, backend: record.backend, epochTicks: record.epochTicks });
      }
    }
    for (const boot of cfg.runs) {
      if (known.has(boot.id)) continue;
      await this.submit(boot.id, this.bootParams(boot), boot.backend ?? cfg.compute.backend, boot.epochTicks ?? cfg.epochTicks);
    }
  }

  private bootParams(boot: HostConfig['runs'][number]): PhaseParams {
    return boot.phase === 'phase12'
      ? phase12Params({ ticks: boot.ticks, eps: boot.eps })
      : phase13Params({ ticks: boot.ticks, pockets: boot.pockets, couplings: boot.couplings, rings: boot.rings, maxPockets: this.config.compute.maxPockets });
  }

  /** Start a new run: resolves `auto` to a concrete backend, which the run keeps for life (replay needs it). */
  async submit(run: string, params: PhaseParams, backend: BackendId | 'auto', epochTicks: number): Promise<void> {
    if (this.runs.has(run)) throw new QallowError('BAD_USAGE', `run ${run} already exists on this host`, { run });
    const workload = params.phase === 'phase12' ? { phase: 'phase12' as const, pockets: 1, lanes: params.eps.length } : { phase: 'phase13' as const, pockets: params.pockets, lanes: params.rings };
    const choice = await resolveBackend(this.pool!, backend, workload);
    if (choice.fallback) this.c.logger.warn({ run, from: choice.fallback.from, to: choice.backend, reason: choice.fallback.reason }, 'backend fallback');
    this.startRun({ run, params, backend: choice.backend, epochTicks });
  }

  private startRun(spec: RunSpec): void {
    const ref = spawnPhaseActor(
      this.runsSupervisor!,
      {
        spec,
        onStatus: (s) => {
          this.latest.set(s.run, s);
          if (s.state === 'done' || s.state === 'cancelled') for (const f of [...this.finished]) f(s);
        },
      },
      {
        pool: this.pool!,
        store: this.store!,
        logger: this.c.logger.child({ component: 'run' }),
        csvPath: join(this.config.dataDir, 'runs', `${spec.run}.csv`),
        ethics: this.config.ethics,
      },
    );
    this.runs.set(spec.run, ref);
  }

  /** Runs this host is driving. */
  async runIds(): Promise<string[]> {
    return [...this.runs.keys()];
  }

  private ref(run: string): ActorRef<PhaseMsg> {
    const r = this.runs.get(run);
    if (!r) throw new QallowError('ACTOR_NOT_FOUND', `no run ${run} on this host`, { run });
    return r;
  }

  status(run: string, timeoutMs = 60_000): Promise<RunStatus> {
    return this.ref(run).ask<RunStatus>((replyTo) => ({ type: 'status', replyTo }), timeoutMs);
  }

  command(run: string, command: AdminCommand, timeoutMs = 60_000): Promise<RunStatus> {
    return this.ref(run).ask<RunStatus>((replyTo) => ({ type: 'command', command, replyTo }), timeoutMs);
  }

  /** Operator fault injection: the run's actor crashes on its next message and its supervisor decides. */
  injectFault(run: string): void {
    this.ref(run).tell({ type: 'fault' });
  }

  /** The actor tree with restart counters (for `qallow status`). */
  tree(): ReturnType<ActorSystem['status']> | null {
    return this.system?.status() ?? null;
  }

  /** Resolves when the run's last epoch is checkpointed, or it is cancelled. */
  whenFinished(run: string): Promise<RunStatus> {
    const s = this.latest.get(run);
    if (s?.state === 'done' || s?.state === 'cancelled') return Promise.resolve(s);
    return new Promise((resolve) => {
      const f = (st: RunStatus): void => {
        if (st.run !== run) return;
        this.finished.delete(f);
        resolve(st);
      };
      this.finished.add(f);
    });
  }

  private emitMetrics(): void {
    if (!this.system || !this.pool) return;
    const m = this.system.metrics();
    const log = this.c.logger.child({ component: 'telemetry' });
    for (const a of m.actors) log.info({ metric: 'actor', ...a }, 'metrics');
    log.info({ metric: 'pool', ...this.pool.stats() }, 'metrics');
    for (const s of this.latest.values()) {
      log.info({ metric: 'run', run: s.run, state: s.state, tick: s.tick, epoch: s.epoch, E: s.lastDecision?.minTotal ?? null, decision: s.lastDecision ? (s.lastDecision.pass ? 'pass' : 'fail') : null }, 'metrics');
    }
  }

  /** Graceful stop: drain every run (the epoch in progress completes and is checkpointed), then close in reverse. */
  async stop(): Promise<void> {
    const log = this.c.logger;
    if (this.telemetryTimer) clearInterval(this.telemetryTimer);
    await Promise.allSettled(
      [...this.runs.values()].map((r) => r.ask<RunStatus>((replyTo) => ({ type: 'drain', replyTo }), 10 * 60_000)),
    );
    await this.system?.stop();
    await this.pool?.stop();
    await this.store?.stop();
    log.info({}, 'host stopped');
  }
}
