/**
 * Governance on one host (SPEC §3, §5, §6): the `validator` and `ledger`
 * actors of the supervisor tree, the ledger store handed in (in the host's
 * LMDB environment), and the EpochGovernance the phase actors record through.
 *
 *   root
 *   ├── validator   proposals from any origin (this host's too) → checked, vote persisted, signed
 *   └── ledger      commits, fetches and heads from peers; the origin rounds run beside it
 *
 * Both actors take messages by address (`decode`), so a validator on
 * another host is asked with the same `system.ask` as the local one
 * (runtime/cluster/router.ts). The validator actor handles one proposal at
 * a time, which keeps "persist the vote, then sign" ordered per validator.
 *
 * The validator set is every configured cluster member (this host and its
 * peers), each with the Ed25519 key of its node.json; the quorum is
 * > 2/3 of it. `onQuorum` is told when the number of live validators
 * crosses the quorum, so the host can pause and resume runs (SPEC §3).
 */
import type { NodeId } from '../actors/address.js';
import { spawn, type ActorSystem, type ReplyTo } from '../actors/index.js';
import type { Supervisor } from '../../supervisors/index.js';
import { QallowError } from '../errors.js';
import type { Ed25519SecretKey } from '../identity/ed25519.js';
import type { Logger } from '../logger.js';
import type { EpochGovernance, GovernanceEvent } from '../../actors/governance-hook.js';
import type { LedgerStore } from '../ledger/contract.js';
import type { ValidatorSet } from '../ledger/validators.js';
import { BatchCache } from '../ledger/record.js';
import { LedgerService, type LedgerStats } from './ledger-service.js';
import { EthicsValidator, type ValidatorStats } from './validator.js';
import { decodeLedgerMsg, decodePropose, type LedgerMsg, type ProposeMsg } from './wire.js';
import type { EntryDraft } from './events.js';

type ValidatorActorMsg = { readonly type: 'propose'; readonly proposal: ProposeMsg; readonly replyTo: ReplyTo<unknown> };
type LedgerActorMsg = { readonly type: 'ledger'; readonly msg: LedgerMsg; readonly replyTo: ReplyTo<unknown> | undefined };

export interface GovernanceInit {
  readonly node: NodeId;
  readonly secretKey: Ed25519SecretKey;
  readonly validators: ValidatorSet;
  readonly ethics: { readonly threshold: number; readonly entropyMax: number };
  readonly adaptationFactor: number;
  readonly roundTimeoutMs?: number;
  /** Entries per batch (default MAX_BATCH_ENTRIES); the governance bench sets 1 for its unbatched baseline. */
  readonly maxBatchEntries?: number | undefined;
}

export interface GovernanceComponents {
  /**
   * The ledger store, made by the composition root (runtime/compose): in
   * the host's LMDB environment, with its vote log. Governance starts it
   * with itself and stops it after itself (nothing else uses it while
   * governance is down).
   */
  readonly ledgerStore: LedgerStore;
  /**
   * Batches already verified, shared with the ledger store it was made with
   * (the ledger service adds the ones it certifies, so its own appends are
   * not checked again). Without it, a cache of its own.
   */
  readonly verified?: BatchCache | undefined;
  readonly system: ActorSystem;
  readonly root: Supervisor;
  readonly logger: Logger;
  readonly peerUp: (node: NodeId) => boolean;
  /** Told when the quorum becomes (un)available. */
  readonly onQuorum?: ((available: boolean) => void) | undefined;
}

export interface GovernanceStatus {
  readonly validators: readonly string[];
  readonly quorum: number;
  readonly quorumAvailable: boolean;
  readonly heads: Record<string, number>;
  readonly ledger: LedgerStats;
  readonly validator: ValidatorStats;
}

export class GovernanceService implements EpochGovernance {
  readonly ledgerStore: LedgerStore;
  private ledger: LedgerService | undefined;
  private validator: EthicsValidator | undefined;
  private lastQuorum: boolean | undefined;
  private heads: Record<string, number> = {};
  private readonly verified: BatchCache;

  constructor(
    private readonly init: GovernanceInit,
    private readonly c: GovernanceComponents,
  ) {
    this.ledgerStore = c.ledgerStore;
    this.verified = c.verified ?? new BatchCache();
  }

  async start(): Promise<void> {
    const log = this.c.logger.child({ component: 'governance' });
    await this.ledgerStore.start();
    this.validator = new EthicsValidator(
      { node: this.init.node, secretKey: this.init.secretKey, validators: this.init.validators, ethics: this.init.ethics, adaptationFactor: this.init.adaptationFactor },
      { store: this.ledgerStore, logger: log, behind: (origin) => this.behind(origin) },
    );
    const validator = this.validator;
    this.ledger = new LedgerService(
      { node: this.init.node, secretKey: this.init.secretKey, validators: this.init.validators, ethics: this.init.ethics, roundTimeoutMs: this.init.roundTimeoutMs, maxBatchEntries: this.init.maxBatchEntries },
      { store: this.ledgerStore, system: this.c.system, logger: log, peerUp: this.c.peerUp, verified: this.verified, ownVote: (b) => validator.voteOwn(b) },
    );
    const ledger = this.ledger;
    spawn<ValidatorActorMsg, null>(this.c.root, {
      name: 'validator',
      initialState: null,
      mailbox: { capacity: 1024 },
      decode: (raw, replyTo) => {
        if (!replyTo) throw new QallowError('BAD_FRAME', 'a proposal must be asked (it is answered with a vote)', { field: 'type' });
        return { type: 'propose', proposal: decodePropose(raw), replyTo };
      },
      async handle(state, msg) {
        try {
          msg.replyTo.reply(await validator.vote(msg.proposal));
        } catch (e) {
          msg.replyTo.fail(e instanceof QallowError ? e : new QallowError('INTERNAL', String(e), {}));
        }
        return state;
      },
    });
    spawn<LedgerActorMsg, null>(this.c.root, {
      name: 'ledger',
      initialState: null,
      mailbox: { capacity: 4096 },
      decode: (raw, replyTo) => ({ type: 'ledger', msg: decodeLedgerMsg(raw), replyTo }),
      async handle(state, msg) {
        // Commits are applied in arrival order (one at a time); fetch and heads answer from the store.
        try {
          const out = await ledger.handle(undefined, msg.msg);
          msg.replyTo?.reply(out);
        } catch (e) {
          msg.replyTo?.fail(e instanceof QallowError ? e : new QallowError('INTERNAL', String(e), {}));
        }
        return state;
      },
    });
    await ledger.start();
    // Heights kept current for /metrics: from the store at start, then from every durable append.
    const raise = (origin: string, seq: number): void => {
      if ((this.heads[origin] ?? 0) < seq) this.heads[origin] = seq;
    };
    // Subscribe before reading, so an append in between is not missed.
    this.ledgerStore.subscribe((r) => raise(r.entry.origin, r.entry.seq));
    for (const [origin, seq] of Object.entries(await ledger.heads())) raise(origin, seq);
    // Peers that came up before the ledger existed: compare heads with them now.
    for (const v of this.init.validators.origins.keys()) if (v !== this.init.node && this.c.peerUp(v)) ledger.peerUp(v);
    this.lastQuorum = ledger.quorumAvailable();
    log.info({ validators: [...this.init.validators.validators.keys()], quorum: this.init.validators.quorum, quorumAvailable: this.lastQuorum }, 'governance started');
  }

  async stop(): Promise<void> {
    await this.ledger?.stop();
    await this.ledgerStore.stop();
  }

  record(event: GovernanceEvent | EntryDraft): Promise<void> {
    if (!this.ledger) return Promise.reject(new QallowError('QUORUM_UNAVAILABLE', 'governance has not started', {}));
    return this.ledger.record(event);
  }

  /** Membership changed: a peer that came up is asked for votes and compared with; the quorum view is re-evaluated. */
  membershipChanged(peer: NodeId, to: string): void {
    if (!this.ledger) return;
    if (to === 'up') this.ledger.peerUp(peer);
    const now = this.ledger.quorumAvailable();
    if (now !== this.lastQuorum) {
      this.lastQuorum = now;
      // Records waiting for votes that cannot come answer now, not at their round timeout.
      if (!now) this.ledger.quorumLost();
      this.c.logger.info({ component: 'governance', quorumAvailable: now }, now ? 'validator quorum available' : 'validator quorum lost');
      this.c.onQuorum?.(now);
    }
  }

  quorumAvailable(): boolean {
    return this.ledger?.quorumAvailable() ?? false;
  }

  private behind(origin: NodeId): void {
    // Fetch what this host missed of `origin`, from the origin itself.
    if (this.ledger && origin !== this.init.node && this.c.peerUp(origin)) void this.ledger.catchUp(origin, origin);
  }

  /** Answered from kept state (no store read, no actor): status queries never wait on governance. */
  status(): GovernanceStatus {
    return {
      validators: [...this.init.validators.validators.keys()],
      quorum: this.init.validators.quorum,
      quorumAvailable: this.quorumAvailable(),
      heads: { ...this.heads },
      ledger: this.ledger?.stats() ?? ({} as LedgerStats),
      validator: this.validator?.stats() ?? { votes: 0, refused: 0, refusedBy: {} },
    };
  }

  /** Heights by origin, kept current by the store's append notifications (cheap, for metrics). */
  lastHeads(): Record<string, number> {
    return this.heads;
  }

  ledgerStats(): LedgerStats | undefined {
    return this.ledger?.stats();
  }
}
