/**
 * Every configuration default, in one place (SPEC §9). A host's JSON config
 * overrides these, environment variables override the file, and flags
 * override both (config/load.ts).
 */
export const DEFAULTS = {
  /** Ticks per epoch: one kernel call, one checkpoint, one ethics decision (SPEC §3). */
  epochTicks: 1000,
  compute: {
    /** 0 = one worker thread per available core. */
    threads: 0,
    backend: 'auto',
    maxPockets: 2 ** 24,
    /** Most work (pocket-ticks: pockets × rings × ticks; phase 12 strands × ticks) in one epoch; a run over it is refused. */
    maxEpochCost: 2 ** 33,
    /** Most work in one pool slice: a run can be paused, cancelled or drained between two slices. */
    sliceCost: 2 ** 24,
  },
  /** Start with every unfinished run held paused (`qallow start --hold-runs`), for the operator to resume or cancel. */
  holdRuns: false,
  ethics: {
    threshold: 2.9,
    entropyMax: 0.001,
  },
  /** The closed loop of SPEC §3 (actors/governor.ts). */
  governance: {
    /** false: no rollback, adaptation or halt; epochs are still checked and recorded. */
    enabled: true,
    /** Halt after this many consecutive failing epochs. */
    maxFailingEpochs: 50,
    /** Halt when a run diverges again after this many adaptations. */
    maxAdaptations: 5,
    /** A diverging ring's coupling is multiplied by this (halved by default). */
    adaptationFactor: 0.5,
    /** What a run does at an epoch boundary when the validator quorum is unreachable. */
    onQuorumLoss: 'pause',
  },
  supervision: {
    /** Restart intensity: at most this many restarts ... */
    maxRestarts: 3,
    /** ... within this many seconds, else escalate to the parent. */
    withinSeconds: 5,
    backoff: { initialMs: 100, maxMs: 10_000, jitter: 0.2 },
  },
  telemetry: {
    intervalMs: 5000,
    logLevel: 'info',
  },
  cluster: {
    heartbeatMs: 200,
    suspectPhi: 3,
    downPhi: 8,
    maxFrameBytes: 1 << 20,
    sendQueueLimit: 10_000,
    /** Cluster pacing: how far (ticks) a paced run may lead the slowest peer running it. */
    maxLeadTicks: 2000,
  },
  admin: {
    /** Loopback only unless configured: the admin endpoint steers the host. */
    bind: 'tcp://127.0.0.1:0',
    maxSkewMs: 30_000,
  },
  metrics: {
    /** HTTP /metrics, /healthz, /readyz; loopback and any free port unless configured. */
    enabled: true,
    bind: '127.0.0.1:0',
  },
} as const;
