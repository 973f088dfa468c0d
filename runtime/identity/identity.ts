/**
 * A host's identity (SPEC §6): its node id, an Ed25519 pair for signatures
 * (ledger entries, votes) and a CURVE pair for the transport. The admin key
 * is a separate Ed25519 pair held by operators: hosts know only its public
 * half (config), the admin CLI holds the secret one and signs commands.
 */
import { nodeId as checkNodeId, type NodeId } from '../actors/address.js';
import { Ed25519SecretKey, type Ed25519PublicKey } from './ed25519.js';
import { generateCurveKeyPair, type CurveKeyPair } from './curve.js';

export interface Ed25519KeyPair {
  readonly publicKey: Ed25519PublicKey;
  readonly secretKey: Ed25519SecretKey;
}

export interface NodeIdentity {
  readonly nodeId: NodeId;
  readonly ed25519: Ed25519KeyPair;
  readonly curve: CurveKeyPair;
}

/** What other hosts may know about a host (node.json). */
export interface NodePublicIdentity {
  readonly nodeId: NodeId;
  readonly ed25519: { readonly publicKey: Ed25519PublicKey };
  readonly curve: { readonly publicKey: string };
}

export type AdminKeyPair = Ed25519KeyPair;

function ed25519Pair(secretKey: Ed25519SecretKey): Ed25519KeyPair {
  return { publicKey: secretKey.publicKey, secretKey };
}

/** A fresh identity for `nodeId` (validated: BAD_PARAMETER naming `nodeId` when it is not a node id). */
export function generateIdentity(nodeId: string): NodeIdentity {
  return { nodeId: checkNodeId(nodeId, 'nodeId'), ed25519: ed25519Pair(Ed25519SecretKey.generate()), curve: generateCurveKeyPair() };
}

export function generateAdminKey(): AdminKeyPair {
  return ed25519Pair(Ed25519SecretKey.generate());
}

export function publicIdentity(identity: NodeIdentity): NodePublicIdentity {
  return { nodeId: identity.nodeId, ed25519: { publicKey: identity.ed25519.publicKey }, curve: { publicKey: identity.curve.publicKey } };
}
