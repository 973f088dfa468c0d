/**
 * The Merkle tree over a batch of entry hashes (SHA-256, domain-separated,
 * the tree shape of RFC 9162 §2.1: a tree of n > 1 leaves splits at the
 * largest power of two below n). With P = u32 22 ‖ "qallow/ledger-batch/v1":
 *
 *   leaf(h)    = SHA-256(P ‖ 0x00 ‖ h)          h = an entry hash (32 bytes)
 *   node(l, r) = SHA-256(P ‖ 0x01 ‖ l ‖ r)
 *
 * The 0x00/0x01 split means a leaf can never pass for an inner node (no
 * second-preimage games), and P keeps these hashes apart from every other
 * SHA-256 qallow computes. An inclusion proof is the list of sibling hashes
 * from the leaf up; its verification is RFC 9162 §2.1.3.2 and needs the
 * leaf's index and the tree size, which the signed batch header fixes.
 */
import { createHash } from 'node:crypto';
import { signedBytes } from '../identity/signing.js';

export const BATCH_PURPOSE = 'qallow/ledger-batch/v1' as const;
const P = signedBytes(BATCH_PURPOSE, new Uint8Array(0));
const LEAF = Uint8Array.of(0);
const NODE = Uint8Array.of(1);

function h(...parts: Uint8Array[]): Uint8Array {
  const s = createHash('sha256').update(P);
  for (const p of parts) s.update(p);
  return new Uint8Array(s.digest());
}

function fromHex(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function leafHash(entryHash: string): string {
  return toHex(h(LEAF, fromHex(entryHash)));
}

export function nodeHash(left: string, right: string): string {
  return toHex(h(NODE, fromHex(left), fromHex(right)));
}

/** Largest power of two strictly below n (n ≥ 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

export interface MerkleTree {
  readonly root: string;
  /** proofs[i]: sibling hashes for leaf i, leaf level first. */
  readonly proofs: readonly (readonly string[])[];
}

/** Root and every leaf's inclusion proof for `entryHashes` (at least one), in O(n log n). */
export function merkleTree(entryHashes: readonly string[]): MerkleTree {
  if (entryHashes.length === 0) throw new RangeError('a Merkle tree needs at least one leaf');
  const proofs: string[][] = entryHashes.map(() => []);
  const build = (lo: number, hi: number): Uint8Array => {
    if (hi - lo === 1) return h(LEAF, fromHex(entryHashes[lo]!));
    const mid = lo + split(hi - lo);
    const left = build(lo, mid);
    const right = build(mid, hi);
    const l = toHex(left);
    const r = toHex(right);
    for (let i = lo; i < mid; i++) proofs[i]!.push(r);
    for (let i = mid; i < hi; i++) proofs[i]!.push(l);
    return h(NODE, left, right);
  };
  return { root: toHex(build(0, entryHashes.length)), proofs };
}

/** The root a proof leads to from `entryHash` at `index` of `size`, or null when the proof cannot fit that position. */
export function rootFromProof(entryHash: string, index: number, size: number, proof: readonly string[]): string | null {
  if (!Number.isInteger(index) || !Number.isInteger(size) || index < 0 || index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let r = h(LEAF, fromHex(entryHash));
  for (const p of proof) {
    if (sn === 0) return null;
    const pb = fromHex(p);
    if (fn % 2 === 1 || fn === sn) {
      r = h(NODE, pb, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = h(NODE, r, pb);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? toHex(r) : null;
}

/** Whether `proof` shows `entryHash` at `index` in the tree of `size` leaves with `root`. */
export function verifyInclusion(entryHash: string, index: number, size: number, proof: readonly string[], root: string): boolean {
  return rootFromProof(entryHash, index, size, proof) === root;
}
