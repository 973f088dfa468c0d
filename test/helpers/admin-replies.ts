/**
 * One well-formed reply per admin command type, typed over every type: a
 * command added without a reply type, or a reply type whose fields change,
 * does not compile until its fixture follows (STYLE "Round-trip tests per
 * message type").
 */
import type { AdminCommandType } from '../../runtime/admin/command.js';
import type { AdminReplies, LiveRunReport, StatusReply, StoredRunReport } from '../../runtime/admin/replies.js';

export const LIVE_RUN: LiveRunReport = {
  run: 'r1',
  phase: 'phase13',
  state: 'running',
  tick: 400,
  ticks: 1000,
  paced: false,
  epoch: 4,
  stateHash: 'ab'.repeat(32),
  backend: 'wasm',
  executor: 'pool',
  lastDecision: { epoch: 4, tick: 400, passed: 0, lanes: 2, pass: false, minTotal: 2.5, maxEntropy: 0.125 },
  lastAction: { type: 'rollback', toEpoch: 3, toTick: 300, reason: 'ring 0: clamped', adaptation: { rings: [0], fromCouplings: [0.5], toCouplings: [0.25] } },
  pauseReason: null,
  storageFault: null,
  adaptations: 1,
  couplings: [0.25, 0.5],
  recovered: { epoch: 2, tick: 200, skipped: [{ epoch: 3, reason: 'CHECKPOINT_CORRUPT' }] },
  incarnation: 1,
  failure: null,
};

export const STORED_RUN: StoredRunReport = { run: 'old', phase: null, state: 'done', tick: 90, ticks: null, epoch: 9, stateHash: null, backend: null };

export const STATUS: StatusReply = {
  node: 'n-a',
  uptimeMs: 3_723_000,
  cluster: {
    node: 'n-a',
    endpoint: 'tcp://127.0.0.1:7001',
    incarnation: 1_760_000_000_000,
    members: [
      { node: 'n-b', status: 'suspect', phi: 3.5, incarnation: 1_760_000_000_001, silentMs: 700, since: 1_760_000_000_500 },
      { node: 'n-c', status: 'up', phi: 0.1, incarnation: null, silentMs: 90, since: 1_760_000_000_600 },
    ],
    harmonicMeanCycleMs: 1.5,
    slowdownFactor: 1,
    paced: [{ node: 'n-b', runs: { r1: 380 }, ageMs: 120 }],
  },
  governance: {
    validators: ['n-a', 'n-b', 'n-c'],
    quorum: 3,
    quorumAvailable: false,
    heads: { 'n-a': 7, 'n-b': 4 },
    ledger: { committed: 7, rounds: 7, queued: 0, inFlight: 1, commitLatencyMs: { p50: 12, p99: 80.25, last: 15, samples: 9 } },
    validator: { votes: 11, refused: 1, refusedBy: { 'n-c': 1 } },
  },
  pid: 4242,
  admin: 'tcp://127.0.0.1:7002',
  pool: { threads: 2, queued: 0, running: 1, completed: 30, failed: 0, crashed: 0, utilization: 0.5 },
  tree: {
    kind: 'supervisor',
    name: 'root',
    id: 'qallow://n-a',
    strategy: 'one-for-one',
    onExhausted: 'escalate',
    state: 'running',
    incarnation: 0,
    restarts: 0,
    restartsInWindow: 0,
    children: [{ kind: 'actor', name: 'telemetry', id: 'qallow://n-a/telemetry', state: 'running', incarnation: 0, restarts: 0, mailboxDepth: 0, lastError: null }],
  },
  actors: [
    {
      actor: 'qallow://n-a/runs/r1',
      state: 'running',
      incarnation: 1,
      processed: 100,
      mailboxDepth: 2,
      mailboxCapacity: 64,
      processingP50Ms: 1.25,
      processingP99Ms: 9,
      processingSamples: 100,
      restarts: 1,
      crashes: 1,
      deadLetters: 0,
      mailboxFull: 0,
    },
  ],
  runs: [LIVE_RUN, STORED_RUN],
};

export const REPLY_FIXTURES: { readonly [K in AdminCommandType]: AdminReplies[K] } = {
  status: STATUS,
  runs: [LIVE_RUN, STORED_RUN],
  run: { ...LIVE_RUN, state: 'running', tick: 0, epoch: 0, stateHash: '', lastDecision: null, lastAction: null, recovered: null },
  pause: { ...LIVE_RUN, state: 'paused', pauseReason: 'admin' },
  resume: LIVE_RUN,
  cancel: { ...LIVE_RUN, state: 'cancelled' },
  'actor.restart': { actor: 'qallow://n-a/runs/r1', action: 'restart requested: the actor fails its next message and its supervisor restarts it' },
  'actor.stop': { actor: 'qallow://n-a/runs/r1', action: 'stopped' },
  'checkpoint.take': { epoch: 4, tick: 400, stateHash: 'cd'.repeat(32) },
  shutdown: { node: 'n-a', action: 'shutting down: runs drain, then the host stops', ledger: 'certified' },
  'ledger.tail': { heads: { 'n-a': 7 }, records: ['{"entry":{}}'], more: false, validators: 3, quorum: 3 },
};
