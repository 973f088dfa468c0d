/**
 * Actor addresses: `qallow://NODE/ACTOR`, where NODE is the host's node id and
 * ACTOR is the actor's path in that host's supervisor tree, one name per level
 * below the root supervisor (`qallow://node-a/runs/phase12-r1`).
 *
 * Node ids and actor names are branded strings: the only way to get one is to
 * validate a plain string here, so an unchecked string never reaches a place
 * that expects an id. Parsing an address is decoding untrusted input: a bad
 * one throws `BAD_PARAMETER` whose `details.field` names the part that is
 * wrong (`address.scheme`, `address.node`, `address.path`, `address.path[2]`).
 */
import { QallowError } from '../errors.js';

declare const nodeIdBrand: unique symbol;
declare const actorNameBrand: unique symbol;

/** A host's id: 1-63 of `a-z 0-9 - .`, starting and ending with a letter or digit. */
export type NodeId = string & { readonly [nodeIdBrand]: 'NodeId' };
/** One level of an actor path: 1-64 of `A-Z a-z 0-9 _ - .`, not starting with `-` or `.`. */
export type ActorName = string & { readonly [actorNameBrand]: 'ActorName' };

export interface ActorAddress {
  readonly node: NodeId;
  /** Names from the root supervisor's child down to the actor; never empty. */
  readonly path: readonly [ActorName, ...ActorName[]];
}

export const ADDRESS_SCHEME = 'qallow://';

const NODE_ID = /^[a-z0-9](?:[a-z0-9.-]{0,61}[a-z0-9])?$/;
const ACTOR_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
const NODE_RULE = 'must be 1-63 characters of a-z, 0-9, "-" or ".", starting and ending with a letter or digit';
const NAME_RULE = 'must be 1-64 characters of A-Z, a-z, 0-9, "_", "-" or ".", not starting with "-" or "."';

function bad(field: string, message: string, value: string, extra: Record<string, string> = {}): QallowError {
  return new QallowError('BAD_PARAMETER', `${field} ${message} (got ${JSON.stringify(value)})`, { field, value, ...extra });
}

export function isNodeId(value: string): value is NodeId {
  return NODE_ID.test(value) && !value.includes('..');
}

export function isActorName(value: string): value is ActorName {
  return ACTOR_NAME.test(value);
}

/** Validate a node id; `field` names where it came from in the error (e.g. `config.nodeId`). */
export function nodeId(value: string, field = 'nodeId'): NodeId {
  if (!isNodeId(value)) throw bad(field, NODE_RULE, value);
  return value;
}

/** Validate one actor name; `field` names where it came from in the error. */
export function actorName(value: string, field = 'name'): ActorName {
  if (!isActorName(value)) throw bad(field, NAME_RULE, value);
  return value;
}

/** Parse `qallow://NODE/NAME[/NAME...]`, or throw `BAD_PARAMETER` naming the bad part. */
export function parseAddress(text: string): ActorAddress {
  if (!text.startsWith(ADDRESS_SCHEME)) {
    throw bad('address.scheme', `must start with "${ADDRESS_SCHEME}"`, text, { address: text });
  }
  const rest = text.slice(ADDRESS_SCHEME.length);
  const slash = rest.indexOf('/');
  const node = slash < 0 ? rest : rest.slice(0, slash);
  if (!isNodeId(node)) throw bad('address.node', NODE_RULE, node, { address: text });
  if (slash < 0 || slash === rest.length - 1) {
    throw bad('address.path', 'must name an actor after the node ("qallow://NODE/ACTOR")', text, { address: text });
  }
  const parts = rest.slice(slash + 1).split('/');
  const path: ActorName[] = [];
  parts.forEach((part, i) => {
    if (!isActorName(part)) throw bad(`address.path[${i}]`, NAME_RULE, part, { address: text });
    path.push(part);
  });
  return { node, path: path as [ActorName, ...ActorName[]] };
}

export function formatAddress(address: ActorAddress): string {
  return `${ADDRESS_SCHEME}${address.node}/${address.path.join('/')}`;
}

/** The address of `name` under `parent` (or directly under the root when `parent` is a node id). */
export function childAddress(parent: ActorAddress | NodeId, name: ActorName): ActorAddress {
  if (typeof parent === 'string') return { node: parent, path: [name] };
  return { node: parent.node, path: [...parent.path, name] };
}

export function sameAddress(a: ActorAddress, b: ActorAddress): boolean {
  return a.node === b.node && a.path.length === b.path.length && a.path.every((p, i) => p === b.path[i]);
}
