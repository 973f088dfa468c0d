/**
 * The only file that touches nact. nact gives us, per actor, a serial
 * mailbox and scheduler, the actor tree and its paths, `onCrash` and
 * `afterStop` hooks and a logging hook; its typings are loose
 * (`ActorFunc<any, any>`), so everything here is turned into the narrow
 * interfaces below before the rest of the runtime sees it.
 *
 * How the facade uses nact's supervision: every worker is spawned with an
 * `onCrash` that hands the crash to our supervisor, keeps nact's actor busy
 * (so later messages queue in nact's mailbox, in order) until the
 * supervisor's decision has run, and then always answers `resume`. nact's
 * own default (`stop`, with a console.log) therefore never applies, and
 * nact's `escalate` path (which stops top-level actors) is never taken.
 */
import { randomUUID } from 'node:crypto';
import { dispatch as nactDispatch, spawn as nactSpawn, spawnStateless, start, stop as nactStop, type ActorSystem, type Ref } from 'nact';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { Envelope } from './envelope.js';

/** A place in nact's tree that can have children (the system or a supervisor's anchor). */
export interface NactParent {
  readonly path: string;
  spawnAnchor(name: string): NactAnchor;
  spawnWorker(name: string, hooks: WorkerHooks): NactWorker;
}

export interface NactAnchor extends NactParent {
  /** Stops the anchor and, in nact, anything still under it. */
  stop(): void;
}

export interface NactWorker {
  readonly path: string;
  dispatch(envelope: Envelope): void;
  stop(): void;
}

export interface WorkerHooks {
  /** Handle one envelope; a rejection is a crash and goes to `onCrash`. */
  process(envelope: Envelope): Promise<void>;
  /** Resolves when the actor may take its next message (after the restart, or once stopped). Must not reject. */
  onCrash(envelope: Envelope | undefined, error: unknown): Promise<void>;
  /**
   * nact has stopped the actor. (Its own mailbox snapshot is not used: it
   * misses the message whose `setImmediate` nact cleared on stop, so the
   * cell keeps its own list of messages not yet started.)
   */
  afterStop(): void;
}

export interface NactSystem extends NactParent {
  stop(): void;
}

/** nact's actor-facing logger shape (ActorContext.log), routed to pino. */
export interface NactLogger {
  trace(message: string): void;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  critical(message: string): void;
  error(message: string): void;
  event(name: string, properties: unknown): void;
  exception(exception: Error): void;
  metric(name: string, values: unknown): void;
}

function refPath(ref: Ref<unknown>): string {
  const path = (ref as unknown as { path?: { toString(): string } }).path;
  return path ? path.toString() : 'unknown';
}

/** What nact's per-actor logger (`ctx.log`) writes, as pino lines under `logger` tagged with the nact path. */
export function pinoNactLogger(logger: Logger, nactPath: string): NactLogger {
  const log = logger.child({ nactActor: nactPath });
  return {
    trace: (m) => log.trace(m),
    debug: (m) => log.debug(m),
    info: (m) => log.info(m),
    warn: (m) => log.warn(m),
    error: (m) => log.error(m),
    critical: (m) => log.fatal(m),
    event: (name, properties) => log.info({ event: name, properties }, 'event'),
    exception: (e) => log.error({ err: e }, errorMessage(e)),
    metric: (name, values) => log.info({ metric: name, values }, 'metric'),
  };
}

/** nact's logging hook: a plugin that replaces its per-actor logger factory (what `configureLogging` would set). */
function pinoLogging(logger: Logger): (system: ActorSystem) => void {
  return (system) => {
    const createLogger = (ref: Ref<unknown>): NactLogger => pinoNactLogger(logger, refPath(ref));
    (system as unknown as { createLogger: typeof createLogger }).createLogger = createLogger;
  };
}

function parentAt(ref: Ref<unknown>): NactParent {
  return {
    path: refPath(ref),
    spawnAnchor(name: string): NactAnchor {
      const anchor = spawnStateless(ref, (_msg: unknown) => undefined, name);
      return { ...parentAt(anchor), stop: () => nactStop(anchor) };
    },
    spawnWorker(name: string, hooks: WorkerHooks): NactWorker {
      const worker = nactSpawn(
        ref,
        async (_state: undefined, envelope: Envelope): Promise<undefined> => {
          await hooks.process(envelope);
          return undefined;
        },
        name,
        {
          initialState: undefined,
          onCrash: async (envelope: Envelope | undefined, error: Error | undefined, ctx) => {
            await hooks.onCrash(envelope instanceof Envelope ? envelope : undefined, error);
            // State lives in the facade and the restart has already run: carry on with the queue.
            return ctx.resume;
          },
          afterStop: () => hooks.afterStop(),
        },
      );
      return {
        path: refPath(worker),
        dispatch: (envelope) => nactDispatch(worker, envelope),
        stop: () => nactStop(worker),
      };
    },
  };
}

/** Start a nact system whose logging goes to `logger`. The name is unique per process (nact keeps a global map). */
export function startNact(nodeId: string, logger: Logger): NactSystem {
  // nact reads the system name from an object first argument, which its typings do not allow.
  const named = { name: `${nodeId}.${randomUUID()}` } as unknown as string;
  const system = start(named, pinoLogging(logger));
  return { ...parentAt(system), stop: () => nactStop(system) };
}
