import test from 'ava';
import { QallowError } from '../runtime/errors.js';
import {
  actorName,
  childAddress,
  formatAddress,
  isActorName,
  isNodeId,
  nodeId,
  parseAddress,
  sameAddress,
  type ActorName,
  type NodeId,
} from '../runtime/actors/address.js';

test('parse and format round-trip an address with a nested path', (t) => {
  const text = 'qallow://node-a/runs/phase12-r1';
  const a = parseAddress(text);
  t.is(a.node as string, 'node-a');
  t.deepEqual([...a.path], ['runs', 'phase12-r1']);
  t.is(formatAddress(a), text);
  t.true(sameAddress(a, parseAddress(text)));
});

test('childAddress extends a path, or starts one under a node', (t) => {
  const n = nodeId('host.1');
  const runs = childAddress(n, actorName('runs'));
  t.is(formatAddress(runs), 'qallow://host.1/runs');
  t.is(formatAddress(childAddress(runs, actorName('Phase_13.x'))), 'qallow://host.1/runs/Phase_13.x');
  t.false(sameAddress(runs, childAddress(runs, actorName('a'))));
});

const badAddresses: ReadonlyArray<readonly [string, string]> = [
  ['http://node-a/runs', 'address.scheme'],
  ['node-a/runs', 'address.scheme'],
  ['qallow://', 'address.node'],
  ['qallow:///runs', 'address.node'],
  ['qallow://Node-A/runs', 'address.node'],
  ['qallow://node_a/runs', 'address.node'],
  ['qallow://-node/runs', 'address.node'],
  ['qallow://node../runs', 'address.node'],
  ['qallow://node-a', 'address.path'],
  ['qallow://node-a/', 'address.path'],
  ['qallow://node-a/runs/', 'address.path[1]'],
  ['qallow://node-a//x', 'address.path[0]'],
  ['qallow://node-a/runs/a b', 'address.path[1]'],
  ['qallow://node-a/runs/.hidden', 'address.path[1]'],
  ['qallow://node-a/runs?x=1', 'address.path[0]'],
  [`qallow://node-a/${'x'.repeat(65)}`, 'address.path[0]'],
];

for (const [text, field] of badAddresses) {
  test(`parseAddress rejects ${JSON.stringify(text.slice(0, 40))} naming ${field}`, (t) => {
    const e = t.throws(() => parseAddress(text), { instanceOf: QallowError });
    t.is(e?.code, 'BAD_PARAMETER');
    t.is(e?.details['field'], field);
    t.is(e?.details['address'], text);
  });
}

test('nodeId and actorName validate and name the field they came from', (t) => {
  t.true(isNodeId('a'));
  t.true(isNodeId('node-1.eu'));
  t.false(isNodeId(''));
  t.false(isNodeId('a'.repeat(64)));
  t.false(isNodeId('node-'));
  t.true(isActorName('_x'));
  t.false(isActorName('-x'));
  t.false(isActorName('a/b'));
  const e1 = t.throws(() => nodeId('Bad Node', 'config.nodeId'), { instanceOf: QallowError });
  t.is(e1?.code, 'BAD_PARAMETER');
  t.is(e1?.details['field'], 'config.nodeId');
  t.regex(e1?.message ?? '', /config\.nodeId must be .* \(got "Bad Node"\)/);
  const e2 = t.throws(() => actorName('a/b'), { instanceOf: QallowError });
  t.is(e2?.details['field'], 'name');
});

test('branded ids cannot be forged from plain strings', (t) => {
  // Compile-time checks: a plain string is not a NodeId or ActorName.
  const typecheck = (s: string): void => {
    // @ts-expect-error a plain string is not a NodeId
    const n: NodeId = s;
    // @ts-expect-error a plain string is not an ActorName
    const a: ActorName = s;
    void n;
    void a;
  };
  void typecheck;
  const n: NodeId = nodeId('ok');
  t.is(n as string, 'ok');
});
