/**
 * One refresh of `qallow top`: the host's status and, in parallel, the
 * status of every peer named with --peer-data (each signed with the same
 * admin key, so that key must be authorised there too). A peer that cannot
 * be read is shown as unreachable with the error code; the host itself must
 * answer, or the refresh fails.
 */
import { isQallowError } from '../../errors.js';
import type { TopSample } from './frame.js';
import type { StatusReply } from '../../admin/replies.js';
import { hostView, type HostView } from './status.js';

/** Asks one host for its status (through the admin client, which validates the reply). */
export type StatusCall = (peerDataDir: string | undefined) => Promise<StatusReply>;

export interface SamplerComponents {
  readonly call: StatusCall;
  /** A peer's node id from its data directory (its endpoint.json), to name it when its status cannot be read. */
  readonly nodeOf: (peerDataDir: string) => Promise<string>;
  readonly clock: () => number;
}

export function createSampler(peerDataDirs: readonly string[], c: SamplerComponents): () => Promise<TopSample> {
  return async () => {
    const [host, peers] = await Promise.all([
      c.call(undefined).then(hostView),
      Promise.all(
        peerDataDirs.map((dir) =>
          c.call(dir).then(
            (v): HostView | { node: string; error: string } => hostView(v),
            async (e: unknown) => ({ node: await c.nodeOf(dir), error: isQallowError(e) ? e.code : e instanceof Error ? e.message : String(e) }),
          ),
        ),
      ),
    ]);
    const byNode = new Map<string, HostView | { readonly error: string }>();
    for (const p of peers) byNode.set(p.node, 'error' in p ? { error: p.error } : p);
    return { at: c.clock(), host, peers: byNode };
  };
}
