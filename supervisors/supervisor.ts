/**
 * An Erlang/OTP-style supervisor over actor cells and child supervisors.
 *
 * A child's failure is decided here, never by nact: the cell's nact
 * `onCrash` hands it over and waits. Decisions run one at a time, in the
 * order failures were reported (a per-supervisor queue), so counters and the
 * status tree never see two overlapping restarts:
 *
 *   1. stale reports are dropped (the child was restarted or stopped since,
 *      or this supervisor is itself suspended or stopped);
 *   2. the restart intensity admits the restart, or the supervisor escalates:
 *      it suspends all its children and reports itself failed to its parent,
 *      which decides about it as about any child (restarting a supervisor
 *      restarts all its children with fresh state and a fresh intensity
 *      window); at the root the tree is stopped and `onRootEscalation` fires;
 *   3. the strategy picks the children to restart; they are suspended in
 *      reverse start order (their messages queue), the backoff delay passes
 *      on the injected clock, and they restart in start order;
 *   4. the decision is logged (warn, with its counters) and kept as
 *      `lastDecision` in `status()`.
 *
 * With `onExhausted: 'stop-child'` step 2 counts each child's restarts on
 * its own, and a child over its intensity is stopped for good (decision
 * `stop`, event `child-given-up`) instead of the supervisor escalating.
 */
import type { Logger } from 'pino';
import { QallowError, errorMessage } from '../runtime/errors.js';
import { ADDRESS_SCHEME, actorName, childAddress, formatAddress, type ActorAddress, type ActorName } from '../runtime/actors/address.js';
import { ActorCell } from '../runtime/actors/cell.js';
import type { ActorRef, ActorSpec, Message } from '../runtime/actors/contract.js';
import type { NactAnchor, NactParent } from '../runtime/actors/nact.js';
import type { ActorRuntime } from '../runtime/actors/runtime.js';
import { validateActorSpec } from '../runtime/actors/spec.js';
import { backoffDelay } from './backoff.js';
import type {
  RestartDecision,
  SupervisedChild,
  Supervisor,
  SupervisorParent,
  SupervisorSpec,
  SupervisorState,
  SupervisorStatus,
} from './contract.js';
import { RestartIntensity } from './intensity.js';
import { resolveSupervisorOptions, type ResolvedSupervisorOptions } from './options.js';
import { selectForRestart } from './strategy.js';

export interface SupervisorDeps {
  readonly runtime: ActorRuntime;
  /** Where this supervisor's nact anchor (the parent of its children's nact actors) goes. */
  readonly nact: NactParent;
  /** Absent for the root. */
  readonly parent?: SupervisorParent;
  /** Root only: called once an escalation reached the root and the tree has stopped. */
  readonly onRootEscalation?: (error: QallowError) => void;
}

export class SupervisorImpl implements Supervisor, SupervisedChild, SupervisorParent {
  readonly kind = 'supervisor';
  readonly name: ActorName;
  readonly address: ActorAddress | undefined;
  readonly id: string;

  readonly #rt: ActorRuntime;
  readonly #parent: SupervisorParent | undefined;
  readonly #onRootEscalation: ((error: QallowError) => void) | undefined;
  readonly #options: ResolvedSupervisorOptions;
  readonly #intensity: RestartIntensity;
  /** `onExhausted: 'stop-child'`: each child's own restart window, by child. */
  readonly #childIntensity = new Map<SupervisedChild, RestartIntensity>();
  readonly #anchor: NactAnchor;
  readonly #log: Logger;

  #children: SupervisedChild[] = [];
  #state: SupervisorState = 'running';
  #incarnation = 0;
  #restarts = 0;
  #lastDecision: RestartDecision | null = null;
  #queue: Promise<void> = Promise.resolve();
  #stopping: Promise<void> | undefined;
  /** Ends the backoff in progress early (we were suspended or stopped: the restart it waits for is off). */
  #wake: (() => void) | undefined;

  constructor(name: ActorName, address: ActorAddress | undefined, options: ResolvedSupervisorOptions, deps: SupervisorDeps) {
    this.name = name;
    this.address = address;
    this.id = address ? formatAddress(address) : `${ADDRESS_SCHEME}${deps.runtime.node}`;
    this.#rt = deps.runtime;
    this.#parent = deps.parent;
    this.#onRootEscalation = deps.onRootEscalation;
    this.#options = options;
    this.#intensity = new RestartIntensity(options.intensity);
    this.#anchor = deps.nact.spawnAnchor(name);
    this.#log = deps.runtime.supervisorLog.child({ supervisor: this.id });
  }

  get incarnation(): number {
    return this.#incarnation;
  }

  get stopped(): boolean {
    return this.#state === 'stopped' || this.#state === 'failed';
  }

  // ---- building the tree --------------------------------------------------

  spawn<Msg extends Message, State>(spec: ActorSpec<Msg, State>): ActorRef<Msg> {
    this.#assertOpen();
    const name = validateActorSpec(this.id, spec);
    this.#makeRoom(name);
    const cell = new ActorCell<Msg, State>(this.#rt, this, this.#anchor, this.#childAddress(name), name, spec);
    this.#children.push(cell);
    this.#rt.registry.set(cell.id, cell);
    return cell.ref;
  }

  supervisor(spec: SupervisorSpec): Supervisor {
    this.#assertOpen();
    const name = actorName(String(spec.name), `supervisor name under ${this.id}`);
    const address = this.#childAddress(name);
    const options = resolveSupervisorOptions(`supervisor ${formatAddress(address)}`, spec);
    this.#makeRoom(name);
    const child = new SupervisorImpl(name, address, options, { runtime: this.#rt, nact: this.#anchor, parent: this });
    this.#children.push(child);
    return child;
  }

  async stopChild(name: string): Promise<void> {
    const child = this.#children.find((c) => c.name === name);
    if (!child) {
      throw new QallowError('ACTOR_NOT_FOUND', `${this.id} has no child named "${name}"`, { supervisor: this.id, name });
    }
    await child.stop();
  }

  #childAddress(name: ActorName): ActorAddress {
    return childAddress(this.address ?? this.#rt.node, name);
  }

  #assertOpen(): void {
    if (this.stopped) {
      throw new QallowError('ACTOR_STOPPED', `supervisor ${this.id} is ${this.#state}; it takes no new children`, { supervisor: this.id, state: this.#state });
    }
  }

  /** A name is free, or held by a child stopped for good (which is then replaced). */
  #makeRoom(name: ActorName): void {
    const existing = this.#children.find((c) => c.name === name);
    if (!existing) return;
    if (!existing.stopped) {
      throw new QallowError('BAD_PARAMETER', `${this.id} already has a running child named "${name}"; names are unique per supervisor`, {
        field: 'name',
        value: name,
        supervisor: this.id,
      });
    }
    this.#children = this.#children.filter((c) => c !== existing);
    this.#childIntensity.delete(existing);
  }

  // ---- failures -----------------------------------------------------------

  childFailed(child: SupervisedChild, error: unknown, incarnation: number): void {
    this.#run(() => this.#decide(child, error, incarnation)).catch(() => undefined);
  }

  /** Serialise supervision work; a failed task is logged and does not block the next. */
  #run(task: () => Promise<void>): Promise<void> {
    const done = this.#queue.then(task);
    this.#queue = done.catch((e: unknown) => {
      this.#log.error({ err: e }, 'supervision task failed');
    });
    return done;
  }

  async #decide(child: SupervisedChild, error: unknown, incarnation: number): Promise<void> {
    if (this.#state !== 'running') return;
    if (child.stopped || child.incarnation !== incarnation || !this.#children.includes(child)) return;
    const now = this.#rt.clock.now();
    const { strategy, intensity, backoff } = this.#options;
    const reason = errorMessage(error);
    const window = this.#windowOf(child);
    if (!window.admit(now)) {
      if (this.#options.onExhausted === 'stop-child') await this.#giveUp(child, error, now);
      else this.#escalate(child, error, now);
      return;
    }
    const attempt = window.count(now);
    const live = this.#children.filter((c) => !c.stopped);
    const targets = selectForRestart(strategy, live, child);
    const delayMs = backoffDelay(attempt, backoff, this.#rt.random);
    const decision: RestartDecision = {
      action: 'restart',
      at: now,
      child: child.name,
      strategy,
      restarting: targets.map((c) => c.name),
      attempt,
      maxRestarts: intensity.maxRestarts,
      periodMs: intensity.periodMs,
      delayMs,
      reason,
    };
    this.#lastDecision = decision;
    this.#log.warn({ ...decision }, `restarting ${decision.restarting.join(', ')} in ${Math.round(delayMs)} ms (${strategy}, restart ${attempt} of ${intensity.maxRestarts} in ${intensity.periodMs} ms)`);
    for (const c of [...targets].reverse()) c.suspend();
    this.#rt.events.emit({
      type: 'restart-scheduled',
      supervisor: this.id,
      child: child.id,
      restarting: targets.map((c) => c.id),
      attempt,
      delayMs,
    });
    await this.#backoff(delayMs);
    for (const c of targets) {
      // Our parent suspended (and will restart) or stopped us meanwhile: it owns these children now.
      if (this.#state !== 'running') return;
      if (c.stopped) continue;
      try {
        await c.restart(error);
      } catch (e) {
        this.#log.error({ err: e, child: c.id }, 'restart failed; deciding again');
        this.childFailed(c, e, c.incarnation);
      }
    }
  }

  /** The restart window that counts this child's failures: the supervisor's own, or the child's under stop-child. */
  #windowOf(child: SupervisedChild): RestartIntensity {
    if (this.#options.onExhausted !== 'stop-child') return this.#intensity;
    let w = this.#childIntensity.get(child);
    if (!w) this.#childIntensity.set(child, (w = new RestartIntensity(this.#options.intensity)));
    return w;
  }

  /** stop-child: the child is stopped for good; this supervisor and its other children carry on. */
  async #giveUp(child: SupervisedChild, error: unknown, now: number): Promise<void> {
    const { strategy, intensity } = this.#options;
    const decision: RestartDecision = {
      action: 'stop',
      at: now,
      child: child.name,
      strategy,
      restarting: [],
      attempt: this.#windowOf(child).count(now) + 1,
      maxRestarts: intensity.maxRestarts,
      periodMs: intensity.periodMs,
      delayMs: 0,
      reason: errorMessage(error),
    };
    this.#lastDecision = decision;
    this.#log.error(
      { ...decision },
      `${child.id} failed more than ${intensity.maxRestarts} times within ${intensity.periodMs} ms (last: ${decision.reason}); it is stopped for good, ${this.id} carries on`,
    );
    await child.stop();
    this.#rt.events.emit({ type: 'child-given-up', supervisor: this.id, child: child.id, error: decision.reason });
  }

  #backoff(delayMs: number): Promise<void> {
    if (delayMs <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = this.#rt.clock.setTimer(delayMs, () => {
        this.#wake = undefined;
        resolve();
      });
      this.#wake = () => {
        this.#wake = undefined;
        timer.cancel();
        resolve();
      };
    });
  }

  #escalate(child: SupervisedChild, error: unknown, now: number): void {
    const { strategy, intensity } = this.#options;
    const to = this.#parent ? 'its parent supervisor' : 'the host (this is the root supervisor)';
    const escalation = new QallowError(
      'SUPERVISION_ESCALATED',
      `supervisor ${this.id} gave up: more than ${intensity.maxRestarts} restarts within ${intensity.periodMs} ms (last: "${child.name}": ${errorMessage(error)}); escalated to ${to}`,
      { supervisor: this.id, child: child.id, maxRestarts: intensity.maxRestarts, periodMs: intensity.periodMs },
      { cause: error },
    );
    const decision: RestartDecision = {
      action: 'escalate',
      at: now,
      child: child.name,
      strategy,
      restarting: [],
      attempt: this.#intensity.count(now) + 1,
      maxRestarts: intensity.maxRestarts,
      periodMs: intensity.periodMs,
      delayMs: 0,
      reason: errorMessage(error),
    };
    this.#lastDecision = decision;
    this.#log.error({ ...decision }, escalation.message);
    this.#rt.events.emit({ type: 'escalated', supervisor: this.id, child: child.id, error: escalation.message });
    this.suspend();
    if (this.#parent) {
      this.#parent.childFailed(this, escalation, this.#incarnation);
    } else {
      void this.#failRoot(escalation);
    }
  }

  async #failRoot(escalation: QallowError): Promise<void> {
    this.#state = 'failed';
    await this.#stopChildren();
    this.#anchor.stop();
    this.#log.fatal({ err: escalation }, 'root supervisor failed; the supervision tree is stopped');
    this.#rt.events.emit({ type: 'root-escalation', error: escalation });
    try {
      this.#onRootEscalation?.(escalation);
    } catch (e) {
      this.#log.error({ err: e }, 'onRootEscalation threw');
    }
  }

  // ---- as a child of another supervisor -----------------------------------

  suspend(): void {
    if (this.#state === 'running') this.#state = 'suspended';
    for (const c of [...this.#children].reverse()) c.suspend();
    this.#wake?.();
  }

  /** Fresh start of the whole subtree, run in this supervisor's queue after any decision in progress. */
  restart(reason: unknown): Promise<void> {
    return this.#run(async () => {
      if (this.stopped) return;
      this.suspend();
      this.#incarnation++;
      this.#restarts++;
      this.#intensity.reset();
      this.#childIntensity.clear();
      // Running again before the children restart, so a child failing to restart is decided here, after this task.
      this.#state = 'running';
      for (const c of this.#children) {
        if (c.stopped) continue;
        try {
          await c.restart(reason);
        } catch (e) {
          this.#log.error({ err: e, child: c.id }, 'restart failed; deciding again');
          this.childFailed(c, e, c.incarnation);
        }
      }
      this.#log.warn({ incarnation: this.#incarnation, restarts: this.#restarts, reason: errorMessage(reason) }, 'supervisor restarted');
      this.#rt.events.emit({ type: 'supervisor-restarted', supervisor: this.id, incarnation: this.#incarnation });
    });
  }

  stop(): Promise<void> {
    if (!this.#stopping) {
      if (this.#state !== 'failed') this.#state = 'stopped';
      this.#wake?.();
      this.#stopping = this.#stopChildren().then(() => this.#anchor.stop());
    }
    return this.#stopping;
  }

  /** Reverse start order, one at a time (OTP shutdown order). */
  async #stopChildren(): Promise<void> {
    for (const c of [...this.#children].reverse()) await c.stop();
  }

  // ---- observation --------------------------------------------------------

  status(): SupervisorStatus {
    const now = this.#rt.clock.now();
    return {
      kind: 'supervisor',
      name: this.name,
      id: this.id,
      strategy: this.#options.strategy,
      onExhausted: this.#options.onExhausted,
      state: this.#state,
      incarnation: this.#incarnation,
      restarts: this.#restarts,
      restartsInWindow: this.#intensity.count(now),
      intensity: this.#options.intensity,
      backoff: this.#options.backoff,
      lastDecision: this.#lastDecision,
      children: this.#children.map((c) => c.status()),
    };
  }
}
