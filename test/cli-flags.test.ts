/**
 * Numbers from the command line (issue 11 item 16): `--timeout` is
 * validated like every other number flag — `1e12` crashed the CLI (SIGSEGV
 * in ZeroMQ) and `NaN` timed out at once — and so are the other timer flags.
 * Exit 2 (bad usage) with the flag named, before anything is sent.
 */
import test from 'ava';
import { parsePositiveInteger } from '../runtime/cli/args.js';
import { isQallowError } from '../runtime/errors.js';
import { runCli, tempDir } from './helpers/cli.js';

test('parsePositiveInteger: whole numbers from 1 to 2^31 − 1 only, naming the flag', (t) => {
  const p = parsePositiveInteger('--timeout');
  t.is(p('1'), 1);
  t.is(p('30000'), 30_000);
  t.is(p('2147483647'), 2_147_483_647);
  for (const bad of ['1e12', 'NaN', 'nan', 'Infinity', '0', '-5', '1.5', 'abc', '', '0x10', '2147483648']) {
    const e = t.throws(() => p(bad), undefined, bad);
    t.true(isQallowError(e, 'BAD_USAGE'), bad);
    if (isQallowError(e)) t.is(e.details['flag'], '--timeout');
  }
});

test('status/runs/top/ledger tail refuse a --timeout or --interval that is not a usable number, exit 2', async (t) => {
  const dir = await tempDir(t);
  t.is((await runCli(['keys', 'gen', '--node-id', 'admin', '--out', dir])).code, 0);
  const key = `${dir}/admin.secret.json`;
  const cases: Array<[string[], string]> = [
    [['status', '--timeout', '1e12'], '--timeout'],
    [['status', '--timeout', 'NaN'], '--timeout'],
    [['runs', '--timeout', '0'], '--timeout'],
    [['status', '--timeout', '-1'], '--timeout'],
    [['top', '--interval', '1e12'], '--interval'],
    [['ledger', 'tail', '--interval', '99999999999'], '--interval'],
  ];
  for (const [args, flag] of cases) {
    const r = await runCli([...args, '--data', dir, '--admin-key', key]);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.true(r.stderr.includes(flag), r.stderr);
  }
});
