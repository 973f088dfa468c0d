/**
 * The nonces of accepted admin commands, remembered for as long as a replay
 * of them could still pass the timestamp check, and no longer.
 *
 * A command stamped t is inside the window while now ≤ t + maxSkew, so its
 * nonce is kept until then. The cache is bounded: when it is full the entry
 * with the oldest timestamp is dropped early and `floor` rises to that
 * timestamp; the verifier then refuses every command stamped at or before
 * `floor`, since a replay of a forgotten one could no longer be recognised.
 * Being full never lets a replay through; at worst a command must be re-sent.
 *
 * Entries sit in a binary min-heap on timestamp (expiry order), so both
 * expiry and eviction take O(log n).
 */

interface Entry {
  readonly nonce: string;
  readonly timestamp: number;
}

export class NonceCache {
  readonly #max: number;
  readonly #retainMs: number;
  readonly #heap: Entry[] = [];
  readonly #seen = new Map<string, number>();
  #floor = -Infinity;

  /**
   * @param maxEntries most nonces held at once (≥ 1)
   * @param retainMs how long after its timestamp a nonce must be remembered (the skew window)
   */
  constructor(maxEntries: number, retainMs: number) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries must be an integer ≥ 1 (got ${maxEntries})`);
    if (!(retainMs >= 0) || !Number.isFinite(retainMs)) throw new RangeError(`retainMs must be a finite number ≥ 0 (got ${retainMs})`);
    this.#max = maxEntries;
    this.#retainMs = retainMs;
  }

  get size(): number {
    return this.#seen.size;
  }

  get maxEntries(): number {
    return this.#max;
  }

  /** Commands stamped at or before this were forgotten early; refuse them. */
  get floor(): number {
    return this.#floor;
  }

  /** Timestamp of the command that used `nonce`, if it is remembered. */
  seen(nonce: string, now: number): number | undefined {
    this.expire(now);
    return this.#seen.get(nonce);
  }

  /** Remember `nonce` (of a command stamped `timestamp`), evicting the oldest entry when full. */
  add(nonce: string, timestamp: number, now: number): void {
    this.expire(now);
    if (this.#seen.has(nonce)) return;
    while (this.#seen.size >= this.#max) {
      const old = this.pop();
      this.#floor = Math.max(this.#floor, old.timestamp);
    }
    this.#seen.set(nonce, timestamp);
    this.push({ nonce, timestamp });
  }

  /** Drop nonces whose commands can no longer pass the timestamp check. */
  expire(now: number): void {
    while (this.#heap.length > 0 && this.#heap[0]!.timestamp + this.#retainMs < now) this.pop();
  }

  private push(e: Entry): void {
    const h = this.#heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]!.timestamp <= e.timestamp) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = e;
  }

  private pop(): Entry {
    const h = this.#heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && h[r]!.timestamp < h[l]!.timestamp ? r : l;
        if (h[c]!.timestamp >= last.timestamp) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    this.#seen.delete(top.nonce);
    return top;
  }
}
