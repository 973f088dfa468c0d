/**
 * The one writer of a host's LMDB environment: every durable write — the
 * run store's (lmdb.ts) and the governance ledger's (runtime/ledger/
 * lmdb-store.ts) — goes through `LmdbWriter.write`, so there is one
 * durability policy and one place where a failed commit is handled.
 *
 * Durability: a write is one `transaction()` whose promise is awaited. The
 * environment is opened without overlappingSync (LMDB_ENV_OPTIONS), and then
 * lmdb-js resolves a transaction only once its commit has synced to disk, so
 * that is durable already; `flushed` is awaited as well only when the
 * environment runs with overlappingSync after all (lmdb-js shares one native
 * environment per path and the first opener's sync flags win). Awaiting
 * `flushed` regardless would also wait for whatever commit another component
 * queued next.
 *
 * A failed commit (a full disk, EIO): lmdb-js rejects the transaction with
 * "Commit failed (see commitError for details)" and rejects a second promise,
 * `error.commitError`, with the real cause (errno and message). Both are
 * handled here: the write rejects with IO_ERROR naming the environment, the
 * action and the cause, `commitError` is always caught, and the failure is
 * logged. lmdb-js's event-turn batching leaves a third promise nobody can
 * reach (the batch start's) that also rejects, as an unhandled rejection that
 * kills the process; the environment is therefore opened with
 * `eventTurnBatching: false` (LMDB_ENV_OPTIONS), which makes every commit's
 * promise one that a caller awaits. LMDB aborts a failed transaction as a
 * whole, so stored data stays as it was and the same write can be retried
 * once space returns (test/store-full-disk.test.ts).
 *
 * lmdb-js does not roll back a `transaction()` whose callback throws after
 * writing, so every `apply` makes all its checks before its first write.
 */
import { QallowError, errorMessage } from '../errors.js';

/** What the writer needs of an lmdb-js root database. */
export interface WritableEnv {
  transaction<T>(action: () => T): Promise<T>;
  readonly flushed: PromiseLike<unknown>;
}

export interface LmdbWriterInit {
  /** The environment's directory, for messages. */
  readonly path: string;
}

export interface LmdbWriterComponents {
  readonly logger?: { warn(obj: object, msg: string): void } | undefined;
}

/** The lmdb-js error of a failed commit, if `e` is one (its cause is a promise). */
function commitErrorOf(e: unknown): PromiseLike<unknown> | undefined {
  const c = typeof e === 'object' && e !== null ? (e as { commitError?: unknown }).commitError : undefined;
  return typeof c === 'object' && c !== null && typeof (c as PromiseLike<unknown>).then === 'function' ? (c as PromiseLike<unknown>) : undefined;
}

/**
 * The real cause of a failed commit. lmdb-js rejects `commitError` in the same
 * callback as the transaction (or never, when the write thread reported no
 * error code), so one macrotask is enough to see it; it is caught either way.
 */
async function causeOf(e: unknown): Promise<unknown> {
  const c = commitErrorOf(e);
  if (!c) return e;
  const settled = Promise.resolve(c).then(
    () => e,
    (real: unknown) => real,
  );
  return Promise.race([settled, new Promise<unknown>((resolve) => setImmediate(() => resolve(e)))]);
}

export class LmdbWriter {
  readonly path: string;
  private readonly inflight = new Set<Promise<unknown>>();
  /** Whether a resolved transaction is already synced (no overlappingSync, no noSync), so `flushed` adds nothing. */
  private readonly syncedOnCommit: boolean;

  constructor(
    private readonly env: WritableEnv,
    init: LmdbWriterInit,
    private readonly components: LmdbWriterComponents = {},
  ) {
    this.path = init.path;
    // lmdb-js reports the environment's actual flags (a later opener cannot change them).
    const flags = env as unknown as { overlappingSync?: unknown; noSync?: unknown };
    this.syncedOnCommit = flags.overlappingSync === false && flags.noSync !== true;
  }

  /**
   * One durable write: `prepare` runs first (validation, encoding; outside the
   * write lock), then `apply` inside one LMDB transaction, whose commit is
   * awaited. Typed errors from either pass through; anything else — a failed
   * commit above all — is IO_ERROR. The returned promise is the only one left
   * to the caller: every promise lmdb-js makes for this write is handled here.
   */
  write<P, R>(action: string, prepare: () => P, apply: (prepared: P) => R): Promise<R> {
    let p: Promise<R>;
    try {
      const prepared = prepare();
      p = this.env
        .transaction(() => apply(prepared))
        .then(async (result) => {
          if (!this.syncedOnCommit) await this.env.flushed;
          return result;
        })
        .catch(async (e: unknown) => {
          if (e instanceof QallowError) throw e;
          throw await this.ioError(action, e);
        });
    } catch (e) {
      return Promise.reject(e);
    }
    this.inflight.add(p);
    const done = (): void => void this.inflight.delete(p);
    p.then(done, done);
    return p;
  }

  /** Writes not yet settled. */
  get pending(): number {
    return this.inflight.size;
  }

  /** Resolves once every write made so far has settled (either way). */
  async settled(): Promise<void> {
    if (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  private async ioError(action: string, e: unknown): Promise<QallowError> {
    const cause = await causeOf(e);
    const errno = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
    const err = new QallowError(
      'IO_ERROR',
      `LMDB environment ${this.path}: could not ${action}: ${errorMessage(cause)}. Nothing of this write was stored; free space on (or repair) the data directory's filesystem, then retry`,
      { path: this.path, action, errno: typeof errno === 'number' || typeof errno === 'string' ? errno : null },
      { cause },
    );
    this.components.logger?.warn({ path: this.path, action, errno: err.details['errno'] ?? null, err: errorMessage(cause) }, 'LMDB write failed');
    return err;
  }
}

/** Node's codes for a filesystem that cannot take a write now (full, quota, failing, read-only). */
const STORAGE_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS', 'EFBIG']);

/**
 * A failed write as IO_ERROR, or undefined when `e` is not one: IO_ERROR
 * itself, or a Node filesystem error such as ENOSPC from a file beside the
 * store (a run's CSV, its governance record). What a run pauses on.
 */
export function storageFault(e: unknown, what: string): QallowError | undefined {
  if (e instanceof QallowError) return e.code === 'IO_ERROR' ? e : undefined;
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  if (typeof code !== 'string' || !STORAGE_ERRNOS.has(code)) return undefined;
  const path = (e as { path?: unknown }).path;
  return new QallowError('IO_ERROR', `${what}: ${errorMessage(e)}; free space on (or repair) the data directory's filesystem`, { errno: code, path: typeof path === 'string' ? path : null }, { cause: e });
}
