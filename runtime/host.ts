/**
 * One host (SPEC §5): what `qallow start` runs. The actor tree, as
 * `qallow status` shows it:
 *
 *   root (one-for-one)
 *   ├── compute     the piscina pool (a named child for status; the pool itself is not an actor)
 *   ├── store       the LMDB environment (likewise)
 *   ├── telemetry   metrics lines to pino every telemetry.intervalMs
 *   ├── runs        one-for-one, one phase actor per run; a run over its own
 *   │               restart intensity is stopped and marked failed (stop-child)
 *   ├── validator   checks proposals, persists its vote, signs (runtime/governance)
 *   └── ledger      commits, fetch, heads; this host's origin rounds beside it
 *
 * Beside the tree, started and stopped by the host's one lifecycle rather
 * than supervised (a supervised tree of them is issue 12's item 3): the
 * metrics server (/metrics, /healthz, /readyz), the cluster service
 * (transport, membership, sync pulses, router; only with `config.cluster`),
 * the admin endpoint (CURVE ROUTER, signature/key/target/time/nonce checks,
 * nonces kept across restarts in DATA/admin-nonces.log). Every host keeps a
 * ledger: the cluster's members are its validators, and a host without a
 * cluster is its own only validator (quorum 1 of 1, identity in
 * DATA/identity/).
 *
 * Built by createHost (runtime/compose/create-host.ts), which hands in the
 * factories of the store, ledger store, pool and cluster transport
 * (runtime/compose/factories.ts: production, or the memory transport in
 * tests). Its parts are one ordered list (`parts()`, runtime/compose/
 * lifecycle.ts), started in order and stopped in reverse; a part that fails
 * to start stops, in reverse, the ones started before it.
 *
 * Start order: metrics → store → compute pool → actor system (service
 * actors, runs supervisor) → cluster → governance → runs (a place in the
 * order: it drains when stopped) → admin endpoint → boot runs (every
 * unfinished run found in the store, then boot runs from the config; with
 * `holdRuns` the unfinished ones come back paused) → timers (telemetry, the
 * quorum nudge). A run's spec is checked whole (actors/run-spec.ts) before
 * anything is spawned or recorded. Stop is the reverse: the timers end, the
 * admin endpoint answers what is in flight and closes, each phase actor
 * drains (it stops at its next slice boundary; a part-computed epoch is
 * recomputed at the next start), governance certifies what the runs
 * recorded while the cluster is still up, then the cluster, the actor
 * tree, the pool, the store and the metrics server close. An
 * escalation that reaches the root stops the tree and the host exits
 * non-zero rather than limp on.
 */
import { availableParallelism } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AdminCommand } from './admin/command.js';
import { AdminEndpoint } from './admin/endpoint.js';
import type { AdminResult, RunReport, ShutdownReply, StatusReply } from './admin/replies.js';
import { AdminVerifier } from './admin/verifier.js';
import { NonceLog } from './admin/nonce-log.js';
import { generateCurveKeyPair, type CurveKeyPair } from './identity/curve.js';
import { readAdminPublic, readNodeKeys } from './identity/files.js';
import type { NodeIdentity } from './identity/identity.js';
import { loadOrCreateLocalIdentity } from './identity/local-node.js';
import { ClusterService } from './cluster/service.js';
import { GovernanceService } from './governance/service.js';
import { adminEntry, supervisionEntry, type EntryDraft } from './governance/events.js';
import { ledgerTail } from './governance/tail.js';
import { ValidatorSet } from './ledger/validators.js';
import { nodeId as nodeIdOf } from './actors/address.js';
import type { LmdbStore } from './store/lmdb.js';
import type { LedgerStore } from './ledger/contract.js';
import { BatchCache } from './ledger/record.js';
import type { HostFactories } from './compose/factories.js';
import { Lifecycle } from './compose/lifecycle.js';
import { part, type Part } from './compose/startable.js';
import { MAX_PULSE_RUNS } from './transport/messages.js';
import { failedStatus, spawnPhaseActor, type AdminCommand as RunCommand, type PhaseMsg, type RunStatus } from '../actors/phase.js';
import type { RunSpec } from '../actors/run-engine.js';
import { validateRunSpec } from '../actors/run-spec.js';
import type { HostConfig } from '../config/schema.js';
import type { BackendId } from '../kernels/backend.js';
import { phase12Params, phase13Params, type PhaseParams } from '../kernels/params.js';
import type { ComputePool } from '../kernels/pool.js';
import { resolveBackend } from '../kernels/select.js';
import { createActorSystem, spawn, spawnSupervisor, type ActorRef, type ActorSystem } from './actors/index.js';
import type { Clock } from './actors/clock.js';
import { QallowError, isQallowError } from './errors.js';

import type { Logger } from './logger.js';
import { HostCollector, MetricsServer, Readiness, type LedgerMetricsSource } from './metrics/index.js';
import type { Supervisor } from '../supervisors/index.js';

export interface HostComponents {
  readonly logger: Logger;
  /** What the host's store, ledger store, pool and cluster transport are made by (runtime/compose/factories.ts). */
  readonly factories: HostFactories;
  /** Wall time for membership, pacing and the keys of supervision entries (default Date.now). */
  readonly now?: (() => number) | undefined;
  /** The actor system's clock: restart backoff, ask timeouts (default the system clock; a test hands in a ManualClock). */
  readonly clock?: Clock | undefined;
  /** Uniform in [0, 1): the supervisors' restart jitter (default Math.random). */
  readonly random?: (() => number) | undefined;
  /** Called once when the host fails for good (root escalation). */
  readonly onFatal?: ((e: QallowError) => void) | undefined;
  /** Called when an operator asks the host to shut down (admin `shutdown`). */
  readonly onShutdown?: (() => void) | undefined;
}

/** Where a running host can be reached; written to DATA/endpoint.json at start. */
export interface HostEndpoint {
  readonly node: string;
  readonly admin: string;
  readonly cluster: string | null;
  readonly curvePublicKey: string;
  readonly pid: number;
  /** http://HOST:PORT of /metrics, /healthz, /readyz (null when config.metrics.enabled is false). */
  readonly metrics: string | null;
}

type ServiceMsg = { readonly type: 'tick' };

export class Host {
  private store: LmdbStore | undefined;
  private pool: ComputePool | undefined;
  private system: ActorSystem | undefined;
  private runsSupervisor: Supervisor | undefined;
  private telemetry: ActorRef<ServiceMsg> | undefined;
  private timers: NodeJS.Timeout[] = [];
  private lifecycle: Lifecycle | undefined;
  /** With a cluster, its node CURVE key pair (read as the cluster starts); the admin endpoint uses it too, or an ephemeral one without a cluster. */
  private curve: CurveKeyPair | undefined;
  private readonly runs = new Map<string, ActorRef<PhaseMsg>>();
  private readonly latest = new Map<string, RunStatus>();
  /** The spec of every run this host has started in this life (for a run that fails without an engine). */
  private readonly specs = new Map<string, RunSpec>();
  /**
   * Ticks of the paced runs still going, for sync pulses. Seeded with 0 when
   * a run starts (an under-report only holds peers back, never lets them
   * run ahead), so peers are constrained from this run's first epoch.
   */
  private readonly pacedTicks = new Map<string, number>();
  /** Every published run status goes to these (whenStatus, whenFinished). */
  private readonly watchers = new Set<(s: RunStatus) => void>();
  private admin: AdminEndpoint | undefined;
  private nonceLog: NonceLog | undefined;
  private stopStep = '';
  endpoint: HostEndpoint | undefined;
  private runCounter = 0;
  private adminCounter = 0;
  private governance: GovernanceService | undefined;
  private cluster: ClusterService | undefined;
  private paceMark = { at: Date.now(), tick: 0, cycleMs: 0 };
  private metricsServer: MetricsServer | undefined;
  private readiness: Readiness | undefined;
  /** The governance ledger's figures for /metrics, when this host keeps a ledger. */
  ledgerMetrics: LedgerMetricsSource | undefined;

  /** Build one with createHost (runtime/compose/create-host.ts), which hands in the production factories. */
  constructor(
    readonly config: HostConfig,
    private readonly c: HostComponents,
  ) {}

  private get f(): HostFactories {
    return this.c.factories;
  }

  private now(): number {
    return (this.c.now ?? Date.now)();
  }

  get dataDir(): string {
    return this.config.dataDir;
  }

  /**
   * The host's parts in start order (the header's list); stop is the
   * reverse, and a failed start stops, in reverse, what it had started.
   * Three parts only mark a place in the order: `runs` drains every run
   * when stopped (after the admin endpoint, before governance), `boot`
   * resumes and submits runs once the admin endpoint is up, `timers` ticks
   * telemetry and the quorum nudge and is the first thing a stop ends.
   */
  private parts(): Part[] {
    const cfg = this.config;
    return [
      part('metrics server', () => this.startMetrics(), () => this.metricsServer?.stop()),
      part('store', () => this.startStore(), () => this.store?.stop()),
      part('compute pool', () => this.startPool(), () => this.pool?.stop()),
      part('actor system', () => this.startActors(), () => this.system?.stop()),
      ...(cfg.cluster ? [part('cluster transport', () => this.startCluster(cfg.cluster!), () => this.cluster?.stop())] : []),
      part('governance', () => this.startGovernance(), () => this.governance?.stop()),
      part('runs', undefined, () => this.drainRuns()),
      part('admin endpoint', () => this.startAdmin(), () => this.stopAdmin()),
      part('boot runs', () => this.bootRuns()),
      part('timers', () => this.startTimers(), () => this.stopTimers()),
    ];
  }

  /** Starts every part in order (a failed start stops, in reverse, what it had started, then throws). */
  async start(): Promise<void> {
    this.lifecycle = new Lifecycle(this.parts(), {
      onStopping: (name) => {
        if (name !== 'runs' && name !== 'admin endpoint') this.stopStep = name;
      },
      onStopError: (name, e) => this.c.logger.error({ part: name, code: isQallowError(e) ? e.code : 'INTERNAL', err: e instanceof Error ? e.message : String(e) }, 'a part of the host did not stop cleanly'),
    });
    await this.lifecycle.start();
  }

  private async startStore(): Promise<void> {
    this.store = this.f.store({ dataDir: this.config.dataDir }, { logger: this.c.logger.child({ component: 'store' }) });
    await this.store.start();
    this.readiness?.up('store');
  }

  private async startPool(): Promise<void> {
    const cfg = this.config;
    this.pool = this.f.pool({ threads: cfg.compute.threads === 0 ? availableParallelism() : cfg.compute.threads });
    this.pool.start();
    this.readiness?.up('pool');
  }

  private async startActors(): Promise<void> {
    const log = this.c.logger;
    const cfg = this.config;
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
        clock: this.c.clock,
        random: this.c.random,
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
    this.telemetry = spawn<ServiceMsg, null>(root, {
      name: 'telemetry',
      initialState: null,
      mailbox: { capacity: 4 },
      handle: (s) => {
        this.emitMetrics();
        return s;
      },
    });
    // Runs are independent: each has its own restart intensity, and a run over it (one that cannot
    // start, or keeps crashing) is stopped and marked failed; it never escalates to the root, so one
    // bad run cannot stop the host, its validator or the other runs (supervisors/README.md).
    this.runsSupervisor = spawnSupervisor(root, {
      name: 'runs',
      strategy: 'one-for-one',
      onExhausted: 'stop-child',
      intensity: { maxRestarts: cfg.supervision.maxRestarts, periodMs: cfg.supervision.withinSeconds * 1000 },
      backoff: { baseMs: cfg.supervision.backoff.initialMs, maxMs: cfg.supervision.backoff.maxMs, jitter: cfg.supervision.backoff.jitter },
    });
    const runsPrefix = `${this.runsSupervisor.id}/`;
    this.system.events.on((e) => {
      if (e.type === 'child-given-up' && e.supervisor === this.runsSupervisor?.id && e.child.startsWith(runsPrefix)) {
        const run = e.child.slice(runsPrefix.length);
        void this.runFailed(run, e.error);
        // Giving up on a run is a supervision decision like a restart: a ledger entry.
        this.recordAction(supervisionEntry(e.child, 'stop', cfg.supervision.maxRestarts, cfg.supervision.withinSeconds * 1000, `supervision/${e.child}/child-given-up/${this.now()}`));
      }
    });
    this.readiness?.up('actors');
  }

  /** The cluster service on the transport the factory makes (ZeroMQ, or memory in tests). */
  private async startCluster(cluster: NonNullable<HostConfig['cluster']>): Promise<void> {
    // One CURVE identity for the admin endpoint and the cluster transport.
    this.curve = (await readNodeKeys(cluster.identityDir)).curve;
    this.cluster = new ClusterService(cluster, this.config.node.id, this.curve, {
      logger: this.c.logger,
      transport: this.f.transport,
      pace: () => this.pace(),
      system: this.system,
      onMembership: (peer, to) => this.governance?.membershipChanged(peer, to),
      now: this.c.now,
    });
    await this.cluster.start();
    this.readiness?.up('cluster');
  }

  /** Unfinished runs in the store first (they resume), then boot runs not yet known. */
  private async bootRuns(): Promise<void> {
    const cfg = this.config;
    const store = this.store!;
    this.c.logger.info({ dataDir: cfg.dataDir, threads: this.pool!.threads, admin: this.endpoint?.admin }, 'host started');
    const known = new Set<string>();
    for (const run of await store.runs()) {
      known.add(run);
      const record = await store.getRun(run);
      if (record && (record.state === 'running' || record.state === 'paused')) {
        const stored: RunSpec = { run, params: record.params, backend: record.backend, epochTicks: record.epochTicks, paced: record.paced === true };
        let spec: RunSpec;
        try {
          spec = this.validate(stored);
        } catch (e) {
          // A stored run this host cannot run (a limit lowered since, or an older version's record): it fails alone.
          await this.runFailed(run, isQallowError(e) ? e.message : String(e), stored);
          continue;
        }
        this.startRun(spec, { hold: cfg.holdRuns });
      }
    }
    for (const boot of cfg.runs) {
      if (known.has(boot.id)) continue;
      await this.submit(boot.id, this.bootParams(boot), boot.backend ?? cfg.compute.backend, boot.epochTicks ?? cfg.epochTicks);
    }
  }

  /**
   * Telemetry lines every telemetry.intervalMs, and the quorum safety net
   * beside the membership trigger: a run can pause for the quorum while it
   * is in fact there (its round took longer than the round timeout, e.g.
   * under load), and then no membership change would come to wake it. Once
   * a second, runs paused for the quorum are told it is back. One nudge at a
   * time per run: a run still recording after the last one (its round waits
   * for votes) is not sent another, so nudges never pile up in its mailbox
   * ahead of status or drain.
   */
  private async startTimers(): Promise<void> {
    const telemetry = this.telemetry!;
    const tick = setInterval(() => void telemetry.tryTell({ type: 'tick' }), this.config.telemetry.intervalMs);
    const nudged = new Map<string, RunStatus>();
    const quorum = setInterval(() => {
      if (!this.governance?.quorumAvailable()) return;
      for (const [run, s] of this.latest) {
        if (s.pauseReason !== 'quorum' || nudged.get(run) === s) continue;
        if (this.runs.get(run)?.tryTell({ type: 'quorum', available: true }).ok) nudged.set(run, s);
      }
    }, 1000);
    for (const t of [tick, quorum]) t.unref();
    this.timers = [tick, quorum];
  }

  private async stopTimers(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  /** /metrics, /healthz, /readyz (runtime/metrics): up first, so a booting host is alive but not ready; down last. */
  private async startMetrics(): Promise<void> {
    const cfg = this.config;
    this.readiness = new Readiness(cfg.cluster ? ['store', 'pool', 'actors', 'cluster'] : ['store', 'pool', 'actors']);
    if (!cfg.metrics.enabled) return;
    const source = {
      node: cfg.node.id,
      actors: () => this.system?.metrics() ?? null,
      pool: () => this.pool?.stats() ?? null,
      runs: () => [...this.latest.values()],
      cluster: () => this.cluster?.status() ?? null,
      ledger: () => this.ledgerMetrics,
    };
    const readiness = this.readiness;
    this.metricsServer = new MetricsServer(
      { bind: cfg.metrics.bind },
      { collector: new HostCollector({}, { source }), readiness: () => readiness.report(), logger: this.c.logger.child({ component: 'metrics' }) },
    );
    await this.metricsServer.start();
  }

  /**
   * The validator and ledger actors (runtime/governance): every cluster
   * member (this host and its configured peers) is a validator; phase actors
   * record their governance events through the ledger; a lost quorum pauses
   * runs at their next epoch boundary and its return resumes them (SPEC §3).
   * A host without a cluster keeps its own ledger with itself as the only
   * validator (quorum 1 of 1), signed with an identity kept in its data dir
   * (runtime/identity/local-node.ts).
   */
  private async startGovernance(): Promise<void> {
    const cfg = this.config;
    const cluster = this.cluster;
    const own = cfg.cluster ? await readNodeKeys(cfg.cluster.identityDir) : await this.localIdentity();
    const validators = ValidatorSet.of([{ nodeId: nodeIdOf(cfg.node.id), publicKey: own.ed25519.publicKey }, ...(cluster?.members ?? [])]);
    const verified = new BatchCache();
    const ledgerStore = this.f.ledgerStore({ validators, verified }, { store: this.store!, logger: this.c.logger.child({ component: 'ledger-store' }) });
    this.governance = new GovernanceService(
      { node: nodeIdOf(cfg.node.id), secretKey: own.ed25519.secretKey, validators, ethics: cfg.ethics, adaptationFactor: cfg.governance.adaptationFactor },
      {
        ledgerStore,
        verified,
        system: this.system!,
        root: this.system!.root,
        logger: this.c.logger,
        peerUp: (n) => cluster?.peerStatus(n) === 'up',
        onQuorum: (available) => {
          for (const ref of this.runs.values()) ref.tryTell({ type: 'quorum', available });
        },
      },
    );
    await this.governance.start();
    this.ledgerMetrics = {
      heights: () => this.governance?.lastHeads() ?? {},
      commitLatencyMs: () => this.governance?.ledgerStats()?.commitLatencyMs ?? undefined,
    };
    // Supervision decisions are governance actions too (SPEC §6 entry kinds).
    this.system!.events.on((e) => {
      if (e.type !== 'actor-restarted' && e.type !== 'escalated') return;
      const actor = e.type === 'actor-restarted' ? e.actor : e.child;
      const restarts = e.type === 'actor-restarted' ? e.incarnation : 0;
      const action = e.type === 'actor-restarted' ? 'restart' : 'escalate';
      this.recordAction(supervisionEntry(actor, action, restarts, cfg.supervision.withinSeconds * 1000, `supervision/${actor}/${e.type}/${restarts}/${this.now()}`));
    });
  }

  /** A host without a cluster: its identity from its data dir, created on the first start. */
  private async localIdentity(): Promise<NodeIdentity> {
    const local = await loadOrCreateLocalIdentity(this.config.dataDir, this.config.node.id);
    if (local.created) this.c.logger.info({ component: 'governance', dir: local.dir, publicKey: local.identity.ed25519.publicKey.hex }, 'created this host\'s identity for its own ledger (no cluster: it is the only validator)');
    return local.identity;
  }

  /** Record an admin or supervision action in the ledger without holding up the caller (it stays queued without a quorum). */
  private recordAction(draft: EntryDraft): void {
    this.governance?.record(draft).catch((e: unknown) => {
      this.c.logger.info({ component: 'governance', kind: draft.kind, code: isQallowError(e) ? e.code : 'INTERNAL' }, 'action not yet in the ledger (it stays queued)');
    });
  }

  private async startAdmin(): Promise<void> {
    const cfg = this.config;
    // One CURVE identity for the admin endpoint and the cluster transport;
    // a host without a cluster gets an ephemeral one (published in endpoint.json).
    const curve = this.curve ?? generateCurveKeyPair();
    const adminKeys = await Promise.all(cfg.admin.authorizedKeys.map((f) => readAdminPublic(f)));
    const verifier = new AdminVerifier({ node: cfg.node.id, adminKeys, maxSkewMs: cfg.admin.maxSkewMs });
    // Accepted nonces survive a restart (runtime/admin/nonce-log.ts): a replay stays refused.
    await mkdir(cfg.dataDir, { recursive: true });
    const nonces = (this.nonceLog = await NonceLog.open({ path: join(cfg.dataDir, 'admin-nonces.log'), windowMs: verifier.maxSkewMs }));
    try {
      for (const r of nonces.live) verifier.remember(r.nonce, r.timestamp);
      this.admin = new AdminEndpoint(
        { bind: cfg.admin.bind, curveSecretKey: curve.secretKey },
        { verifier, accept: (v) => nonces.append(v.nonce, v.timestamp), handle: (cmd) => this.handleAdmin(cmd), logger: this.c.logger.child({ component: 'admin' }) },
      );
      await this.admin.start();
      this.endpoint = { node: cfg.node.id, admin: this.admin.endpoint, cluster: this.cluster?.endpoint ?? null, curvePublicKey: curve.publicKey, pid: process.pid, metrics: this.metricsServer?.url ?? null };
      await writeFile(join(cfg.dataDir, 'endpoint.json'), JSON.stringify(this.endpoint, null, 2) + '\n');
    } catch (e) {
      // This part did not start, so its stop will not run: close what it opened.
      await this.admin?.stop();
      await nonces.close();
      throw e;
    }
    if (adminKeys.length === 0) {
      this.c.logger.warn({}, 'no admin keys are authorised (config.admin.authorizedKeys): every admin command will be refused');
    }
  }

  /** The admin endpoint answers what is in flight and closes, then the nonce log. */
  private async stopAdmin(): Promise<void> {
    this.stopStep = `admin commands being answered (${this.admin?.pending ?? 0})`;
    await this.admin?.stop();
    await this.nonceLog?.close();
  }

  /** Each phase actor drains (it stops at its next slice boundary), while governance and the cluster are still up. */
  private async drainRuns(): Promise<void> {
    const draining = new Set(this.runs.keys());
    const step = (): void => {
      this.stopStep = `runs draining: ${[...draining].join(', ') || 'none'}`;
    };
    step();
    await Promise.allSettled(
      [...this.runs].map(([run, r]) =>
        r.ask<RunStatus>((replyTo) => ({ type: 'drain', replyTo }), 10 * 60_000).finally(() => {
          draining.delete(run);
          step();
        }),
      ),
    );
  }

  /**
   * Every verified admin command lands here. State-changing commands are
   * ledger entries of what happened, recorded once the command has run:
   * `done`, or `refused:CODE` with the QallowError code it failed with
   * (runtime/governance/events.ts). Status queries are not governance actions.
   */
  private async handleAdmin(cmd: AdminCommand): Promise<AdminResult> {
    // `shutdown` records its own entry, certified before the host stops (shutdownCommand).
    if (cmd.type === 'status' || cmd.type === 'runs' || cmd.type === 'ledger.tail' || cmd.type === 'shutdown') return this.carryOutAdmin(cmd);
    // The run a command is about, and its target (a new run: its id, which carryOutAdmin may choose).
    const run = 'run' in cmd ? cmd.run : '';
    let newRun = cmd.type === 'run' ? (cmd.id ?? '') : '';
    const target = (): string => ('actor' in cmd ? cmd.actor : 'run' in cmd ? cmd.run : cmd.type === 'run' ? newRun : this.config.node.id);
    const key = `admin/${cmd.type}/${Date.now()}/${this.adminCounter++}`;
    let out: AdminResult;
    try {
      out = await this.carryOutAdmin(cmd);
    } catch (e) {
      this.recordAction(adminEntry(cmd.type, run, target(), `refused:${isQallowError(e) ? e.code : 'INTERNAL'}`, key));
      throw e;
    }
    if (cmd.type === 'run') newRun = (out as RunStatus).run;
    this.recordAction(adminEntry(cmd.type, run, target(), 'done', key));
    return out;
  }

  /**
   * `shutdown`: its entry is certified before the host stops, while the
   * quorum is still there (after the stop its round could only commit at the
   * next start). Without a quorum the host stops anyway and says so.
   */
  private async shutdownCommand(entry: EntryDraft): Promise<ShutdownReply> {
    const node = this.config.node.id;
    let ledger: string;
    try {
      if (!this.governance) throw new QallowError('QUORUM_UNAVAILABLE', 'governance has not started', {});
      await this.governance.record(entry);
      ledger = 'certified';
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      ledger = `not certified before the stop: ${why}`;
      this.c.logger.warn({ component: 'governance', kind: 'admin', command: 'shutdown', code: isQallowError(e) ? e.code : 'INTERNAL', err: why }, "the shutdown's ledger entry could not be certified before the stop; its round, if it began, is proposed again at the next start");
    }
    setImmediate(() => this.c.onShutdown?.());
    return { node, action: 'shutting down: runs drain, then the host stops', ledger };
  }

  /** Carry out a verified admin command (handleAdmin records the state-changing ones). */
  private async carryOutAdmin(cmd: AdminCommand): Promise<AdminResult> {
    switch (cmd.type) {
      case 'status':
        return this.hostStatus();
      case 'runs':
        return this.allRuns();
      case 'run': {
        const id = cmd.id ?? `${cmd.params.phase}-${Date.now().toString(36)}-${(this.runCounter++).toString(36)}`;
        const params =
          cmd.params.phase === 'phase12'
            ? phase12Params(cmd.params)
            : phase13Params({ ...cmd.params, maxPockets: this.config.compute.maxPockets });
        await this.submit(id, params, cmd.backend ?? this.config.compute.backend, cmd.epochTicks ?? this.config.epochTicks, { paced: cmd.paced === true });
        const started = await this.status(id);
        if (started.state === 'failed') throw new QallowError('TASK_FAILED', `run ${id} could not start: ${started.failure ?? 'see the host log'}`, { run: id });
        return started;
      }
      case 'pause':
      case 'resume':
      case 'cancel':
        return this.command(cmd.run, cmd.type);
      case 'checkpoint.take':
        return this.ref(cmd.run).ask<{ epoch: number; tick: number; stateHash: string }>((replyTo) => ({ type: 'checkpoint', replyTo }), 10 * 60_000);
      case 'actor.restart':
      case 'actor.stop': {
        const name = this.runOfActor(cmd.actor);
        if (cmd.type === 'actor.restart') {
          this.injectFault(name);
          return { actor: cmd.actor, action: 'restart requested: the actor fails its next message and its supervisor restarts it' };
        }
        await this.runsSupervisor!.stopChild(name);
        this.runs.delete(name);
        return { actor: cmd.actor, action: 'stopped' };
      }
      case 'ledger.tail':
        if (!this.governance) throw new QallowError('BAD_USAGE', `${this.config.node.id} has no ledger yet: governance has not started`, {});
        return ledgerTail(this.governance.ledgerStore, cmd);
      case 'shutdown':
        return this.shutdownCommand(adminEntry(cmd.type, '', this.config.node.id, 'done', `admin/shutdown/${Date.now()}/${this.adminCounter++}`));
    }
  }

  private runOfActor(address: string): string {
    const prefix = `qallow://${this.config.node.id}/runs/`;
    if (!address.startsWith(prefix) || address.length === prefix.length) {
      throw new QallowError('ACTOR_NOT_FOUND', `${address} is not a run actor on ${this.config.node.id} (expected ${prefix}RUN)`, { actor: address });
    }
    const run = address.slice(prefix.length);
    this.ref(run);
    return run;
  }

  /** Own tick cycle time for sync pulses: wall ms per tick since the last pulse (0 when idle). */
  private pace(): { cycleMs: number; tick: number; runs: Record<string, number> } {
    let tick = 0;
    const runs: Record<string, number> = {};
    for (const s of this.latest.values()) tick += s.tick;
    let n = 0;
    for (const [run, t] of this.pacedTicks) {
      if (n++ >= MAX_PULSE_RUNS) break;
      runs[run] = t;
    }
    const now = this.now();
    const dt = now - this.paceMark.at;
    if (dt >= 500) {
      const dTicks = tick - this.paceMark.tick;
      this.paceMark = { at: now, tick, cycleMs: dTicks > 0 ? dt / dTicks : 0 };
    }
    return { cycleMs: this.paceMark.cycleMs, tick, runs };
  }

  async hostStatus(): Promise<StatusReply> {
    return {
      node: this.config.node.id,
      uptimeMs: Math.round(process.uptime() * 1000),
      cluster: this.cluster?.status() ?? null,
      governance: this.governance?.status() ?? null,
      pid: process.pid,
      admin: this.endpoint?.admin ?? null,
      pool: this.pool?.stats() ?? null,
      tree: this.system?.status() ?? null,
      actors: this.system?.metrics().actors ?? [],
      runs: await this.allRuns(),
    };
  }

  /**
   * Every run: those driven now (their last reported status, kept as they
   * report it) and those only in the store. Never asks a phase actor: one
   * busy recording its governance events (a round waiting for votes) must
   * not hold up `status` or `runs`.
   */
  async allRuns(): Promise<RunReport[]> {
    const out: RunReport[] = [];
    for (const run of await this.store!.runs()) {
      const latest = this.latest.get(run);
      const live = this.runs.has(run) ? (latest ?? null) : latest?.state === 'failed' ? latest : null;
      if (live) {
        out.push({ ...live });
        continue;
      }
      const rec = await this.store!.getRun(run);
      const last = (await this.store!.listCheckpoints(run)).at(-1);
      out.push({ run, phase: rec?.params.phase ?? null, state: rec?.state ?? 'unknown', tick: last?.tick ?? 0, ticks: rec?.params.ticks ?? null, epoch: last?.epoch ?? 0, stateHash: last?.stateHash ?? null, backend: rec?.backend ?? null });
    }
    return out;
  }

  private bootParams(boot: HostConfig['runs'][number]): PhaseParams {
    return boot.phase === 'phase12'
      ? phase12Params({ ticks: boot.ticks, eps: boot.eps })
      : phase13Params({ ticks: boot.ticks, pockets: boot.pockets, couplings: boot.couplings, rings: boot.rings, maxPockets: this.config.compute.maxPockets });
  }

  /** The whole check of a run's spec (actors/run-spec.ts), with this host's limits. */
  private validate(spec: RunSpec): RunSpec {
    return validateRunSpec(spec, { maxPockets: this.config.compute.maxPockets, maxEpochCost: this.config.compute.maxEpochCost });
  }

  /**
   * A run that could not start or kept crashing (its supervisor gave up), or
   * a stored run this host refuses: `failed` in the store, so it does not
   * come back at the next start, and in `runs`/`status` with the reason.
   */
  private async runFailed(run: string, reason: string, stored?: RunSpec): Promise<void> {
    const spec = stored ?? this.specs.get(run);
    this.runs.delete(run);
    this.pacedTicks.delete(run);
    this.c.logger.error({ component: 'run', run, reason }, 'run failed: it is stopped and marked failed; the host carries on');
    if (spec) {
      const s = failedStatus(spec, reason, this.latest.get(run));
      this.latest.set(run, s);
      for (const f of [...this.watchers]) f(s);
      await this.store
        ?.putRun({ run, params: spec.params, backend: spec.backend, epochTicks: spec.epochTicks, state: 'failed', ...(spec.paced ? { paced: true } : {}) })
        .catch((e: unknown) => this.c.logger.error({ component: 'run', run, err: isQallowError(e) ? e.message : String(e) }, 'could not mark the run failed in the store'));
    }
  }

  /** Start a new run: resolves `auto` to a concrete backend, which the run keeps for life (replay needs it). */
  async submit(run: string, params: PhaseParams, backend: BackendId | 'auto', epochTicks: number, opts: { readonly paced?: boolean } = {}): Promise<void> {
    if (this.runs.has(run)) throw new QallowError('BAD_USAGE', `run ${run} already exists on this host`, { run });
    // Everything is checked before anything is spawned, journaled or recorded.
    ({ params } = this.validate({ run, params, backend: 'js', epochTicks }));
    const paced = opts.paced === true;
    if (paced) {
      const lead = this.config.cluster?.maxLeadTicks;
      if (lead === undefined) throw new QallowError('BAD_USAGE', `run ${run} asks for cluster pacing but this host has no cluster configured`, { run });
      // A paced epoch starts only if it ends within the lead bound; longer epochs could never start.
      if (epochTicks > lead) {
        throw new QallowError('BAD_PARAMETER', `a paced run's epoch (${epochTicks} ticks) must not exceed cluster.maxLeadTicks (${lead}); use --epoch-ticks ≤ ${lead}`, { param: 'epochTicks', run });
      }
    }
    const workload = params.phase === 'phase12' ? { phase: 'phase12' as const, pockets: 1, lanes: params.eps.length } : { phase: 'phase13' as const, pockets: params.pockets, lanes: params.rings };
    const choice = await resolveBackend(this.pool!, backend, workload);
    if (choice.fallback) this.c.logger.warn({ run, from: choice.fallback.from, to: choice.backend, reason: choice.fallback.reason }, 'backend fallback');
    this.startRun({ run, params, backend: choice.backend, epochTicks, paced });
  }

  private startRun(spec: RunSpec, opts: { readonly hold?: boolean } = {}): void {
    if (spec.paced) this.pacedTicks.set(spec.run, 0);
    this.specs.set(spec.run, spec);
    this.latest.delete(spec.run);
    const ref = spawnPhaseActor(
      this.runsSupervisor!,
      {
        spec,
        pacer: this.cluster,
        hold: opts.hold,
        onStatus: (s) => {
          if (s.paced) {
            if (s.state === 'done' || s.state === 'cancelled') this.pacedTicks.delete(s.run);
            else this.pacedTicks.set(s.run, s.tick);
          }
          this.latest.set(s.run, s);
          for (const f of [...this.watchers]) f(s);
        },
      },
      {
        pool: this.pool!,
        sliceCost: this.config.compute.sliceCost,
        store: this.store!,
        logger: this.c.logger.child({ component: 'run' }),
        csvPath: join(this.config.dataDir, 'runs', `${spec.run}.csv`),
        ethics: this.config.ethics,
        governanceRule: this.config.governance,
        governance: this.governance,
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

  /**
   * A run's status as its actor last published it (once open, after every
   * slice and command): answered at once, never queued behind an epoch in
   * its mailbox or the pool. Before the first publication (the run is still
   * opening) it waits for that, up to `timeoutMs`.
   */
  status(run: string, timeoutMs = 60_000): Promise<RunStatus> {
    const s = this.latest.get(run);
    if (s && (this.runs.has(run) || s.state === 'failed')) return Promise.resolve(s);
    this.ref(run);
    return new Promise<RunStatus>((resolve, reject) => {
      const f = (st: RunStatus): void => {
        if (st.run !== run) return;
        this.watchers.delete(f);
        clearTimeout(timer);
        resolve(st);
      };
      const timer = setTimeout(() => {
        this.watchers.delete(f);
        reject(new QallowError('TIMEOUT', `run ${run} did not open within ${timeoutMs} ms; see the host's log`, { run, timeoutMs }));
      }, timeoutMs);
      timer.unref();
      this.watchers.add(f);
    });
  }

  command(run: string, command: RunCommand, timeoutMs = 60_000): Promise<RunStatus> {
    return this.ref(run).ask<RunStatus>((replyTo) => ({ type: 'command', command, replyTo }), timeoutMs);
  }

  /** Operator fault injection: the run's actor crashes on its next message and its supervisor decides. */
  injectFault(run: string): void {
    this.ref(run).tell({ type: 'fault' });
  }

  /** This host's ledger store once governance has started (tests compare the ledgers of in-process hosts). */
  get ledger(): LedgerStore | undefined {
    return this.governance?.ledgerStore;
  }

  /** The actor tree with restart counters (for `qallow status`). */
  tree(): ReturnType<ActorSystem['status']> | null {
    return this.system?.status() ?? null;
  }

  /** Resolves when the run's last epoch is checkpointed, or it is cancelled, halted or failed. */
  whenFinished(run: string): Promise<RunStatus> {
    return this.whenStatus(run, (s) => s.state === 'done' || s.state === 'cancelled' || s.state === 'halted' || s.state === 'failed');
  }

  /** The run's latest status if it satisfies `pred`, else the first one published that does. */
  whenStatus(run: string, pred: (s: RunStatus) => boolean): Promise<RunStatus> {
    const s = this.latest.get(run);
    if (s && pred(s)) return Promise.resolve(s);
    return new Promise((resolve) => {
      const f = (st: RunStatus): void => {
        if (st.run !== run || !pred(st)) return;
        this.watchers.delete(f);
        resolve(st);
      };
      this.watchers.add(f);
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

  /** Graceful stop: every started part in reverse order (the admin endpoint, the runs drain, governance, ... the store, the metrics server). */
  async stop(): Promise<void> {
    this.readiness?.stopping();
    await this.lifecycle?.stop();
    this.stopStep = 'stopped';
    this.c.logger.info({}, 'host stopped');
  }

  /** What `stop()` is waiting for now ('' before it was called; for a shutdown deadline's log line). */
  get stopping(): string {
    return this.stopStep;
  }
}
