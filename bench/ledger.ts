/**
 * Ledger signing and certification throughput (issue 5).
 *
 *   npm run bench -- ledger [--seconds S] [--batch N] [--json]
 *
 * 1. Ed25519 signs/s and verifies/s, node:crypto (the one rule,
 *    runtime/identity/ed25519.ts) against @noble/ed25519 (sync, SHA-512 from
 *    node:crypto), same messages, same run: the ratio is what counts.
 * 2. Entries certified per second with 4 validators (quorum 3), everything
 *    one cluster does for an entry, on one core: the origin encodes, hashes
 *    and signs; each of the 4 validators verifies the origin's signature and
 *    signs its vote; the origin verifies votes until the quorum; a receiving
 *    host verifies the record (checkRecord). Once with one signature per entry
 *    (batches of one), once with batches of N (default 64); the ratio is the
 *    gain from batching.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import * as ed from '@noble/ed25519';
import { Ed25519SecretKey } from '../runtime/identity/ed25519.js';
import { nodeId, type NodeId } from '../runtime/actors/address.js';
import { buildBatch, verifyBatchSignature } from '../runtime/ledger/batch.js';
import { CertificateBuilder } from '../runtime/ledger/certificate.js';
import { ZERO_HASH, entryHash, type LedgerEntry } from '../runtime/ledger/entry.js';
import { BatchCache, batchRecords, checkRecord } from '../runtime/ledger/record.js';
import { ValidatorSet } from '../runtime/ledger/validators.js';
import { signVote } from '../runtime/ledger/vote.js';

ed.hashes.sha512 = (m) => new Uint8Array(createHash('sha512').update(m).digest());

function arg(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : fallback;
}

/** Operations per second of `op`, run for about `seconds`. */
function rate(seconds: number, op: (i: number) => number): number {
  let done = 0;
  const t0 = performance.now();
  let i = 0;
  while (performance.now() - t0 < seconds * 1000) done += op(i++);
  return done / ((performance.now() - t0) / 1000);
}

function entry(origin: NodeId, seq: number, prevHash: string): LedgerEntry {
  return {
    origin,
    seq,
    prevHash,
    kind: 'ethics_check',
    run: 'ring-1m',
    epoch: seq,
    tick: seq * 1000,
    stateHash: 'ab'.repeat(32),
    figures: { minTotal: 2.95, maxEntropy: 0.0004, passed: 1, lanes: 1 },
    decision: 'pass',
    detail: { threshold: 2.9, entropyMax: 0.001 },
    timestamp: Date.now(),
  };
}

export async function ledgerBench(args: string[]): Promise<void> {
  const seconds = arg(args, '--seconds', 1);
  const batchSize = arg(args, '--batch', 64);
  const json = args.includes('--json');

  // 1. Raw Ed25519.
  const secret = Ed25519SecretKey.generate();
  const seed = new Uint8Array(Buffer.from(secret.toHex(), 'hex'));
  const pub = secret.publicKey;
  const pubBytes = pub.bytes;
  const msgs = Array.from({ length: 256 }, (_, i) => new Uint8Array(createHash('sha256').update(`m${i}`).digest()));
  const sigs = msgs.map((m) => secret.sign(m));
  const nodeSign = rate(seconds, (i) => (secret.sign(msgs[i % 256]!), 1));
  const nobleSign = rate(seconds, (i) => (ed.sign(msgs[i % 256]!, seed), 1));
  const nodeVerify = rate(seconds, (i) => (pub.verify(msgs[i % 256]!, sigs[i % 256]!) ? 1 : 0));
  const nobleVerify = rate(seconds, (i) => (ed.verify(sigs[i % 256]!, msgs[i % 256]!, pubBytes) ? 1 : 0));

  // 2. Certification.
  const ids = [0, 1, 2, 3].map((i) => nodeId(`node-${i}`));
  const secrets = new Map(ids.map((id) => [id, Ed25519SecretKey.generate()] as const));
  const set = ValidatorSet.of(ids.map((id) => ({ nodeId: id, publicKey: secrets.get(id)!.publicKey })));
  const origin = ids[0]!;
  const certifyRate = (size: number): number => {
    let seq = 1;
    let prev = ZERO_HASH;
    return rate(seconds, () => {
      const entries: LedgerEntry[] = [];
      for (let i = 0; i < size; i++) {
        const e = entry(origin, seq++, prev);
        prev = entryHash(e);
        entries.push(e);
      }
      const batch = buildBatch(entries, secrets.get(origin)!);
      const builder = new CertificateBuilder(batch.header, set);
      const votes = ids.map((id) => {
        if (!verifyBatchSignature(batch.header, batch.originSignature, set.origins.get(origin)!)) throw new Error('origin signature');
        return signVote(batch.header, id, secrets.get(id)!);
      });
      for (const v of votes) {
        if (builder.complete) break;
        builder.add(v);
      }
      const cache = new BatchCache();
      for (const r of batchRecords(batch, builder.certificate())) checkRecord(r, set, cache);
      return size;
    });
  };
  const single = certifyRate(1);
  const batched = certifyRate(batchSize);

  const result = {
    ed25519: {
      signPerSec: { node: Math.round(nodeSign), noble: Math.round(nobleSign), ratio: nodeSign / nobleSign },
      verifyPerSec: { node: Math.round(nodeVerify), noble: Math.round(nobleVerify), ratio: nodeVerify / nobleVerify },
    },
    certifiedPerSec: { perEntry: Math.round(single), batched: Math.round(batched), batchSize, ratio: batched / single, validators: 4, quorum: set.quorum },
  };
  if (json) {
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }
  const f = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
  process.stdout.write(
    [
      `ledger: Ed25519 sign   node:crypto ${f(nodeSign)}/s  noble ${f(nobleSign)}/s  = ${result.ed25519.signPerSec.ratio.toFixed(1)}×`,
      `ledger: Ed25519 verify node:crypto ${f(nodeVerify)}/s  noble ${f(nobleVerify)}/s  = ${result.ed25519.verifyPerSec.ratio.toFixed(1)}× (ours includes the strict pre-checks)`,
      `ledger: certified entries (4 validators, quorum 3, one core)  one signature per entry ${f(single)}/s  batches of ${batchSize} ${f(batched)}/s  = ${result.certifiedPerSec.ratio.toFixed(1)}×`,
      '',
    ].join('\n'),
  );
}
