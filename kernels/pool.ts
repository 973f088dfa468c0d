/**
 * The compute pool: a piscina worker-thread pool that runs kernel tasks.
 *
 * - Threads default to the available cores; every thread is started up front
 *   (min = max) so a task never waits for a worker to boot mid-epoch.
 * - A worker that dies mid-task fails that task with WORKER_CRASHED; piscina
 *   replaces the worker and the pool keeps serving. What happens to the run
 *   is the caller's (the phase actor's supervisor's) decision.
 * - Errors thrown inside a task come back as the same typed QallowError.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { QallowError } from '../runtime/errors.js';
import type { ComputeTask, TaskReply, TaskResult } from './backend.js';

export interface ComputePoolInit {
  /** Worker threads; defaults to the number of available cores. */
  readonly threads?: number | undefined;
}

export interface ComputePoolStats {
  readonly threads: number;
  readonly queued: number;
  readonly running: number;
  readonly completed: number;
  readonly failed: number;
  readonly crashed: number;
  /** Piscina's utilisation: share of the pool's capacity spent running tasks. */
  readonly utilization: number;
}

export class ComputePool {
  readonly threads: number;
  private piscina: Piscina | undefined;
  private running = 0;
  private completed = 0;
  private failed = 0;
  private crashed = 0;
  private gangTail: Promise<void> = Promise.resolve();

  constructor(init: ComputePoolInit = {}) {
    const threads = init.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
      throw new QallowError('BAD_PARAMETER', `threads must be an integer from 1 to 256 (got ${String(threads)})`, { param: 'threads' });
    }
    this.threads = threads;
  }

  start(): void {
    if (this.piscina) return;
    this.piscina = new Piscina({
      // A CommonJS entry that import()s worker.js: see worker-entry.cts for why.
      filename: new URL('./worker-entry.cjs', import.meta.url).href,
      minThreads: this.threads,
      maxThreads: this.threads,
      idleTimeout: Number.MAX_SAFE_INTEGER,
    });
  }

  async stop(): Promise<void> {
    const p = this.piscina;
    this.piscina = undefined;
    if (p) await p.destroy();
  }

  get started(): boolean {
    return this.piscina !== undefined;
  }

  async run<T extends ComputeTask>(task: T): Promise<TaskResult<T>> {
    const p = this.piscina;
    if (!p) throw new QallowError('POOL_CLOSED', 'the compute pool is not running; start it before submitting tasks', { task: task.type });
    this.running++;
    let reply: TaskReply<TaskResult<T>>;
    try {
      reply = (await p.run(task)) as TaskReply<TaskResult<T>>;
    } catch (e) {
      this.crashed++;
      throw new QallowError(
        'WORKER_CRASHED',
        `a compute worker died while running a ${task.type} task (${e instanceof Error ? e.message : String(e)}); it has been replaced`,
        { task: task.type },
        { cause: e },
      );
    } finally {
      this.running--;
    }
    if (!reply.ok) {
      this.failed++;
      throw QallowError.fromJSON(reply.error) ?? new QallowError('TASK_FAILED', 'malformed error reply from a compute worker', { task: task.type });
    }
    this.completed++;
    return reply.value;
  }

  /**
   * Run tasks that wait for each other (a gang: see gang.ts) all at once.
   * Gangs are serialised: two gangs sharing the threads could each hold some
   * and wait forever for the rest. Other tasks still interleave; they never
   * wait on anything, so a gang member queued behind one starts soon. When a
   * member fails, `abort` is called so the others stop waiting, and the
   * first failure is rethrown once every member has settled.
   */
  async runGang<T extends ComputeTask>(tasks: readonly T[], abort: () => void): Promise<Array<TaskResult<T>>> {
    if (tasks.length > this.threads) {
      throw new QallowError('INTERNAL', `a gang of ${tasks.length} tasks cannot run on ${this.threads} threads`, { tasks: tasks.length });
    }
    const previous = this.gangTail;
    let release!: () => void;
    this.gangTail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      const settled = await Promise.allSettled(
        tasks.map((t) =>
          this.run(t).catch((e: unknown) => {
            abort();
            throw e;
          }),
        ),
      );
      const failed = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed.length > 0) {
        // Prefer the member's own error over the "gang aborted" of the others.
        const own = failed.find((f) => !(f.reason instanceof QallowError && f.reason.message.startsWith('gang aborted')));
        throw (own ?? failed[0]!).reason;
      }
      return settled.map((r) => (r as PromiseFulfilledResult<TaskResult<T>>).value);
    } finally {
      release();
    }
  }

  stats(): ComputePoolStats {
    return {
      threads: this.threads,
      queued: this.piscina?.queueSize ?? 0,
      running: this.running,
      completed: this.completed,
      failed: this.failed,
      crashed: this.crashed,
      utilization: this.piscina?.utilization ?? 0,
    };
  }
}
