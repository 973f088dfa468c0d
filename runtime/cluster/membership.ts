/**
 * Membership of the configured peers: heartbeats feed one phi-accrual
 * detector per peer (phi.ts); `evaluate(now)` moves a peer
 *
 *   up ──phi ≥ suspectPhi──▶ suspect ──phi ≥ downPhi──▶ down
 *    ▲                          │                         │
 *    └──── any heartbeat ◀──────┴─────────────────────────┘
 *
 * With heartbeats every 200 ms and the defaults (acceptable pause 300 ms,
 * suspect at phi 3, down at phi 8) a silent peer is suspect ≈0.66 s and down
 * ≈0.77 s after its last heartbeat on a steady link (tests pin these). A peer
 * that returns is up again at once. Its detector starts afresh when it
 * returns with a new incarnation (it restarted) or from `down` (it was
 * frozen or cut off: the gap says nothing of its rhythm, and a history that
 * kept it would be slow to notice the next freeze); a gap that only made it
 * suspect stays in the history, clamped (phi.ts). So after any pause the
 * next silence is again down within ≈0.8 s. Every transition is emitted as
 * an event.
 */
import { EventEmitter } from 'node:events';
import { DEFAULT_PHI, PhiAccrualDetector, type PhiOptions } from './phi.js';

export type PeerStatus = 'up' | 'suspect' | 'down';

export interface MembershipOptions {
  readonly suspectPhi: number;
  readonly downPhi: number;
  readonly phi: PhiOptions;
}

export const DEFAULT_MEMBERSHIP: MembershipOptions = { suspectPhi: 3, downPhi: 8, phi: DEFAULT_PHI };

export interface PeerView {
  readonly node: string;
  readonly status: PeerStatus;
  readonly phi: number;
  readonly incarnation: number | null;
  /** Milliseconds since the last heartbeat, null before the first. */
  readonly silentMs: number | null;
  readonly since: number;
}

export interface MembershipChange {
  readonly node: string;
  readonly from: PeerStatus;
  readonly to: PeerStatus;
  readonly phi: number;
  readonly at: number;
}

interface Peer {
  status: PeerStatus;
  detector: PhiAccrualDetector;
  incarnation: number | null;
  since: number;
}

export class Membership extends EventEmitter<{ change: [MembershipChange] }> {
  private readonly peers = new Map<string, Peer>();

  /** Peers start `down` until their first heartbeat: nothing is known of them yet. */
  constructor(
    peers: readonly string[],
    private readonly o: MembershipOptions = DEFAULT_MEMBERSHIP,
    start = 0,
  ) {
    super();
    for (const p of peers) this.peers.set(p, { status: 'down', detector: new PhiAccrualDetector(o.phi), incarnation: null, since: start });
  }

  private move(node: string, p: Peer, to: PeerStatus, now: number, phi: number): void {
    if (p.status === to) return;
    const change: MembershipChange = { node, from: p.status, to, phi, at: now };
    p.status = to;
    p.since = now;
    this.emit('change', change);
  }

  /** A heartbeat from `node`; unknown nodes are ignored (the transport refuses them first). */
  heartbeat(node: string, incarnation: number, now: number): boolean {
    const p = this.peers.get(node);
    if (!p) return false;
    if ((p.incarnation !== null && incarnation !== p.incarnation) || (p.status === 'down' && p.detector.lastHeartbeat !== undefined)) {
      // The peer restarted, or comes back from down: its old inter-arrival history says nothing now.
      p.detector = new PhiAccrualDetector(this.o.phi);
    }
    p.incarnation = incarnation;
    p.detector.heartbeat(now);
    this.move(node, p, 'up', now, 0);
    return true;
  }

  /** Re-assess every peer at `now`; call it on a timer (e.g. every heartbeat interval). */
  evaluate(now: number): void {
    for (const [node, p] of this.peers) {
      if (p.detector.lastHeartbeat === undefined) continue;
      const phi = p.detector.phi(now);
      if (phi >= this.o.downPhi) this.move(node, p, 'down', now, phi);
      else if (phi >= this.o.suspectPhi && p.status === 'up') this.move(node, p, 'suspect', now, phi);
    }
  }

  status(node: string): PeerStatus | undefined {
    return this.peers.get(node)?.status;
  }

  view(now: number): PeerView[] {
    return [...this.peers].map(([node, p]) => ({
      node,
      status: p.status,
      phi: p.detector.phi(now),
      incarnation: p.incarnation,
      silentMs: p.detector.lastHeartbeat === undefined ? null : now - p.detector.lastHeartbeat,
      since: p.since,
    }));
  }
}
