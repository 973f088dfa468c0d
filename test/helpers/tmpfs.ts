/**
 * A small filesystem of its own for a test (tmpfs, mounted by this test as
 * root), to fill up and free again: the real ENOSPC of a full disk, not a
 * mock. `mount` must work (root, or CAP_SYS_ADMIN); if it does not, the test
 * fails and says so rather than passing without having tested anything.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ExecutionContext } from 'ava';

const run = promisify(execFile);

export interface SmallDisk {
  readonly dir: string;
  /** Write a filler file until the filesystem is full (its ENOSPC is expected). */
  fill(): Promise<void>;
  /** Delete the filler: space returns. */
  free(): Promise<void>;
  /** Unmount (after whatever uses it has stopped); also done at teardown if not before. */
  unmount(): Promise<void>;
}

export async function mountSmallDisk(t: ExecutionContext, dir: string, size = '8m'): Promise<SmallDisk> {
  await mkdir(dir, { recursive: true });
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  } catch (e) {
    throw new Error(`this test needs to mount a ${size} tmpfs at ${dir} (run it as root): ${e instanceof Error ? e.message : String(e)}`);
  }
  let mounted = true;
  const filler = join(dir, 'filler');
  const unmount = async (): Promise<void> => {
    if (!mounted) return;
    mounted = false;
    await run('umount', ['-l', dir]);
  };
  t.teardown(unmount);
  return {
    dir,
    async fill() {
      try {
        await writeFile(filler, Buffer.alloc(64 << 20));
      } catch (e) {
        if ((e as { code?: unknown }).code !== 'ENOSPC') throw e;
        return;
      }
      throw new Error(`${dir} did not fill up with a 64 MiB filler`);
    },
    free: () => rm(filler, { force: true }),
    unmount,
  };
}
