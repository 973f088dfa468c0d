/**
 * Build step (run by `npm run build`): assemble kernels/wasm/*.wat into
 * dist/kernels/wasm/*.wasm with wabt. The text format is the source of truth;
 * the binary is a build output, never committed.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

const here = dirname(fileURLToPath(import.meta.url)); // dist/kernels/wasm
let root = here;
while (!existsSync(join(root, 'package.json'))) root = dirname(root);

const wabt = await wabtInit();
for (const name of ['phase13']) {
  const source = join(root, 'kernels', 'wasm', `${name}.wat`);
  const mod = wabt.parseWat(source, readFileSync(source, 'utf8'), { simd: true, threads: true });
  const { buffer } = mod.toBinary({});
  mod.destroy();
  await WebAssembly.compile(buffer); // validate now, not at first use
  writeFileSync(join(here, `${name}.wasm`), buffer);
}
