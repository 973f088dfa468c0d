/**
 * One error type for the whole runtime. Every failure a user, a test or a
 * remote host may act on carries a stable `code`; the message says what was
 * wrong and what to do; `details` holds the facts. `toJSON`/`fromJSON` let an
 * error cross a worker thread or a network hop with its code intact.
 */
export const ErrorCodes = [
  'BAD_PARAMETER',
  'BAD_USAGE',
  'BACKEND_UNAVAILABLE',
  'WORKER_CRASHED',
  'POOL_CLOSED',
  'TASK_FAILED',
  'IO_ERROR',
  'INTERNAL',
  // actors and supervision
  'ACTOR_NOT_FOUND',
  'ACTOR_STOPPED',
  'MAILBOX_FULL',
  'TIMEOUT',
  'SUPERVISION_ESCALATED',
  // persistence
  'STORE_CLOSED',
  'STORE_CORRUPT',
  'CHECKPOINT_NOT_FOUND',
  'CHECKPOINT_CORRUPT',
  'REPLAY_MISMATCH',
  'BAD_ENCODING',
  'ACTOR_CRASHED',
  'BAD_ADDRESS',
  'CHECKPOINT_CONFLICT',
  // configuration
  'CONFIG_INVALID',
  // governance closed loop: the validator quorum cannot be reached (actors/governance-hook.ts)
  'QUORUM_UNAVAILABLE',
  // cluster and admin
  'BAD_FRAME',
  'PEER_DOWN',
  'PEER_UNKNOWN',
  'BACKPRESSURE',
  'UNAUTHORIZED',
  'BAD_SIGNATURE',
  'STALE_COMMAND',
  'REPLAYED_COMMAND',
  'KEY_INVALID',
  /** The host is stopping: an admin command arrived or was still running then. */
  'HOST_STOPPING',
  // governance ledger (runtime/ledger)
  'LEDGER_BAD_ENTRY',
  'LEDGER_BAD_SIGNATURE',
  'LEDGER_BAD_CHAIN',
  'LEDGER_BAD_PROOF',
  'LEDGER_BAD_CERTIFICATE',
  'LEDGER_NO_QUORUM',
  'LEDGER_CONFLICT',
  /** The operator interrupted a command (Ctrl-C); it stopped cleanly. Exit 130. */
  'INTERRUPTED',
] as const;

export type ErrorCode = (typeof ErrorCodes)[number];

export type ErrorDetails = Record<string, string | number | boolean | null>;

export interface SerializedError {
  readonly name: 'QallowError';
  readonly code: ErrorCode;
  readonly message: string;
  readonly details: ErrorDetails;
}

export class QallowError extends Error {
  override readonly name = 'QallowError';
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }

  toJSON(): SerializedError {
    return { name: 'QallowError', code: this.code, message: this.message, details: this.details };
  }

  static fromJSON(value: unknown): QallowError | undefined {
    if (typeof value !== 'object' || value === null) return undefined;
    const v = value as Record<string, unknown>;
    if (v['name'] !== 'QallowError' || typeof v['message'] !== 'string') return undefined;
    const code = v['code'];
    if (typeof code !== 'string' || !(ErrorCodes as readonly string[]).includes(code)) return undefined;
    const details = typeof v['details'] === 'object' && v['details'] !== null ? (v['details'] as ErrorDetails) : {};
    return new QallowError(code as ErrorCode, v['message'], details);
  }
}

export function isQallowError(e: unknown, code?: ErrorCode): e is QallowError {
  return e instanceof QallowError && (code === undefined || e.code === code);
}

/** Message of any thrown value, for logs and one-line CLI errors. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
