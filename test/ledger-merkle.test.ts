/**
 * Batch Merkle trees: every leaf's proof verifies for sizes 1..33, proofs
 * are bound to their position and tree size, and leaves are domain-separated
 * from inner nodes.
 */
import { createHash } from 'node:crypto';
import test from 'ava';
import { leafHash, merkleTree, nodeHash, rootFromProof, verifyInclusion } from '../runtime/ledger/merkle.js';

const hashes = (n: number): string[] => Array.from({ length: n }, (_, i) => createHash('sha256').update(`entry ${i}`).digest('hex'));

test('every leaf proves its inclusion, for every size from 1 to 33', (t) => {
  for (let n = 1; n <= 33; n++) {
    const hs = hashes(n);
    const tree = merkleTree(hs);
    for (let i = 0; i < n; i++) {
      t.true(verifyInclusion(hs[i]!, i, n, tree.proofs[i]!, tree.root), `n=${n} i=${i}`);
      t.true(tree.proofs[i]!.length <= Math.ceil(Math.log2(n)));
    }
  }
});

// The tree size is not bound by the proof alone (RFC 9162 paths coincide for some sizes);
// it comes from the signed batch header, like the first seq.
test('a proof is bound to its index and its leaf', (t) => {
  const hs = hashes(11);
  const tree = merkleTree(hs);
  for (let i = 0; i < 11; i++) {
    const p = tree.proofs[i]!;
    for (let j = 0; j < 11; j++) if (j !== i) t.false(verifyInclusion(hs[i]!, j, 11, p, tree.root), `leaf ${i} at index ${j}`);
    t.false(verifyInclusion(hs[(i + 1) % 11]!, i, 11, p, tree.root));
    t.false(verifyInclusion(hs[i]!, i, 11, p.slice(0, -1), tree.root), 'shortened proof');
    t.false(verifyInclusion(hs[i]!, i, 11, [...p, tree.root], tree.root), 'lengthened proof');
  }
  t.is(rootFromProof(hs[0]!, 11, 11, []), null, 'index outside the tree');
});

test('the shape: one leaf is leaf(h); two are node(leaf, leaf); three split 2 + 1', (t) => {
  const [a, b, c] = hashes(3) as [string, string, string];
  t.is(merkleTree([a]).root, leafHash(a));
  t.is(merkleTree([a, b]).root, nodeHash(leafHash(a), leafHash(b)));
  t.is(merkleTree([a, b, c]).root, nodeHash(nodeHash(leafHash(a), leafHash(b)), leafHash(c)));
  t.not(leafHash(a), createHash('sha256').update(Buffer.from(a, 'hex')).digest('hex'), 'leaves are domain-separated');
});

test('an inner node cannot be passed off as a leaf (second preimage)', (t) => {
  const hs = hashes(4);
  const tree = merkleTree(hs);
  const inner = nodeHash(leafHash(hs[0]!), leafHash(hs[1]!));
  // Claiming the inner node is an entry hash in a 2-leaf tree with the right sibling.
  const sibling = nodeHash(leafHash(hs[2]!), leafHash(hs[3]!));
  t.false(verifyInclusion(inner, 0, 2, [sibling], tree.root));
});
