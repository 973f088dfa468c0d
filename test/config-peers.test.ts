/**
 * Peer addresses (issue 11 item 16): a config whose peers repeat an address,
 * or name this host's own address, is refused at start-up with the field
 * named — one rule per test.
 */
import test, { type ExecutionContext } from 'ava';
import { parseHostConfig } from '../config/schema.js';
import { isQallowError } from '../runtime/errors.js';

const peer = (id: string, address: string): Record<string, string> => ({ id, address, identityFile: `${id}.json` });
const config = (bind: string, peers: Record<string, string>[], adminBind?: string): unknown => ({
  node: { id: 'host-a' },
  dataDir: '/tmp/qallow-x',
  cluster: { bind, identityDir: 'keys', peers },
  ...(adminBind ? { admin: { bind: adminBind } } : {}),
});

function refused(t: ExecutionContext, raw: unknown, field: string, local: string[] = []): void {
  const e = t.throws(() => parseHostConfig(raw, 'test.json', local));
  t.true(isQallowError(e, 'CONFIG_INVALID'), String(e));
  if (isQallowError(e)) {
    t.is(e.details['field'], field);
    t.true(e.message.includes(field), e.message);
  }
}

test('two peers at one address are refused, naming the second', (t) => {
  refused(t, config('tcp://0.0.0.0:7400', [peer('host-b', 'tcp://10.0.0.2:7400'), peer('host-c', 'tcp://10.0.0.3:7400'), peer('host-d', 'tcp://10.0.0.2:7400')]), 'config.cluster.peers[2].address');
  // Spelled differently, the same address.
  refused(t, config('tcp://0.0.0.0:7400', [peer('host-b', 'tcp://Node-B.example:7400'), peer('host-c', 'tcp://node-b.example:7400')]), 'config.cluster.peers[1].address');
  refused(t, config('tcp://0.0.0.0:7400', [peer('host-b', 'tcp://localhost:7401'), peer('host-c', 'tcp://localhost:7401')]), 'config.cluster.peers[1].address');
});

test("a peer at this host's own cluster address is refused", (t) => {
  refused(t, config('tcp://10.0.0.1:7400', [peer('host-b', 'tcp://10.0.0.1:7400')]), 'config.cluster.peers[0].address');
  refused(t, config('tcp://127.0.0.1:7400', [peer('host-b', 'tcp://localhost:7400')]), 'config.cluster.peers[0].address');
  refused(t, config('tcp://0.0.0.0:7400', [peer('host-b', 'tcp://127.0.0.1:7400')]), 'config.cluster.peers[0].address');
  // Behind a wildcard bind, one of this machine's interface addresses is this host.
  refused(t, config('tcp://0.0.0.0:7400', [peer('host-b', 'tcp://10.0.0.2:7400'), peer('host-c', 'tcp://192.168.1.9:7400')]), 'config.cluster.peers[1].address', ['127.0.0.1', '192.168.1.9']);
});

test("a peer at this host's admin address is refused", (t) => {
  refused(t, config('tcp://127.0.0.1:7400', [peer('host-b', 'tcp://127.0.0.1:7500')], 'tcp://127.0.0.1:7500'), 'config.cluster.peers[0].address');
});

test('distinct peers on other hosts or ports, and any-port binds, are accepted', (t) => {
  t.notThrows(() => parseHostConfig(config('tcp://0.0.0.0:7400', [peer('host-b', 'tcp://10.0.0.2:7400'), peer('host-c', 'tcp://10.0.0.3:7400')]), 'test.json', ['10.0.0.1']));
  t.notThrows(() => parseHostConfig(config('tcp://127.0.0.1:7400', [peer('host-b', 'tcp://127.0.0.1:7401'), peer('host-c', 'tcp://127.0.0.1:7402')])));
  t.notThrows(() => parseHostConfig(config('tcp://127.0.0.1:0', [peer('host-b', 'tcp://127.0.0.1:7401')])));
});
