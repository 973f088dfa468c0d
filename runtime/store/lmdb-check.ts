/**
 * Check an LMDB data file before it is mapped. lmdb-js maps `data.mdb` into
 * memory and reads pages through the mapping, so a file cut short dies of
 * SIGBUS (exit 135) at the first page past its end, and zeroed meta pages of
 * SIGSEGV (139), with no message and no chance to catch anything. This reads
 * the two meta pages with plain file reads first and refuses a file that
 * LMDB could not map safely, with STORE_CORRUPT naming the file and what to
 * do. (A page overwritten in the middle of a tree is caught by LMDB itself:
 * lmdb-js throws MDB_CORRUPTED, which the store reports as IO_ERROR.)
 *
 * What exists to check. lmdb-js 3.x bundles LMDB's 0.9/1.0 line (data format
 * version 2). Its meta pages carry no checksum: LMDB's page checksums
 * (`mdb_env_set_checksum`) are an option lmdb-js never turns on, and the
 * meta layout has no field for one. So this validates what is there, on
 * both meta pages (page 0 and page 1; each is a 24-byte page header, flags
 * P_META, then MDB_meta):
 *
 *   page header   u64 pgno (must be 0 or 1) · u64 txnid · u16 pad · u16 flags (P_META = 0x08)
 *   MDB_meta @24  u32 magic 0xBEEFC0DE · u32 version (low 16 bits 2) · u64 address · u64 mapsize
 *                 · MDB_db free @48 (u32 pad = page size, …, u64 root @88)
 *                 · MDB_db main @96 (…, u64 root @136) · u64 last_pg @144 · u64 txnid @152
 *
 * LMDB uses the meta page with the higher txnid; for it, the file must hold
 * every page up to last_pg ((last_pg + 1) × page size bytes) and both tree
 * roots must lie within it. Both pages must be valid meta pages with the same
 * page size: LMDB writes both when it creates a file and never leaves one
 * invalid, and it compares txnids without checking the second page's magic,
 * so garbage there with a high txnid would be mapped too. Layout as read
 * from node_modules/lmdb/dependencies/lmdb/libraries/liblmdb/mdb.c
 * (MDB_page_header, MDB_meta, mdb_env_read_header) for 64-bit builds;
 * test/store-damaged.test.ts damages real files.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { QallowError, errorMessage } from '../errors.js';

export const LMDB_DATA_FILE = 'data.mdb';
const MDB_MAGIC = 0xbeefc0de;
const MDB_DATA_VERSION = 2;
const P_META = 0x08;
const PAGE_HEADER = 24;
const META_BYTES = PAGE_HEADER + 144;
const P_INVALID = 0xffffffffffffffffn;

export interface LmdbMeta {
  readonly page: 0 | 1;
  readonly pageSize: number;
  readonly lastPage: bigint;
  readonly txnid: bigint;
  readonly roots: readonly [bigint, bigint];
}

export interface LmdbFileReport {
  readonly file: string;
  readonly size: number;
  /** The meta page LMDB would use (the higher txnid). */
  readonly meta: LmdbMeta;
}

function corrupt(file: string, problem: string): QallowError {
  return new QallowError(
    'STORE_CORRUPT',
    `${file} is damaged: ${problem}. qallow does not open it (mapping it would crash the process). Restore the data directory from a backup, or move it aside and start this host with an empty one so that it catches up from its peers`,
    { path: file, problem },
  );
}

/** Decode one meta page (the first META_BYTES of it), or say what is wrong with it. */
export function decodeMeta(b: Buffer, page: 0 | 1): LmdbMeta | string {
  if (b.byteLength < META_BYTES) return `meta page ${page} is cut short (${b.byteLength} of ${META_BYTES} bytes)`;
  const pgno = b.readBigUInt64LE(0);
  const flags = b.readUInt16LE(18);
  if (pgno !== BigInt(page) || (flags & P_META) === 0) return `page ${page} is not a meta page (page number ${pgno}, flags 0x${flags.toString(16)})`;
  const magic = b.readUInt32LE(PAGE_HEADER);
  if (magic !== MDB_MAGIC) return `meta page ${page} has magic 0x${magic.toString(16)}, not 0x${MDB_MAGIC.toString(16)}`;
  const version = b.readUInt32LE(PAGE_HEADER + 4) & 0xffff;
  if (version !== MDB_DATA_VERSION) return `meta page ${page} has data format version ${version}, not ${MDB_DATA_VERSION}`;
  const pageSize = b.readUInt32LE(PAGE_HEADER + 24);
  if (pageSize < 256 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) return `meta page ${page} gives page size ${pageSize}`;
  const roots: [bigint, bigint] = [b.readBigUInt64LE(PAGE_HEADER + 64), b.readBigUInt64LE(PAGE_HEADER + 112)];
  return { page, pageSize, roots, lastPage: b.readBigUInt64LE(PAGE_HEADER + 120), txnid: b.readBigUInt64LE(PAGE_HEADER + 128) };
}

/**
 * Validate `<dir>/data.mdb` (absent: fine, LMDB creates it). STORE_CORRUPT
 * names the file and what is wrong; IO_ERROR when it cannot be read.
 */
export async function checkLmdbEnvironment(dir: string): Promise<LmdbFileReport | undefined> {
  const file = join(dir, LMDB_DATA_FILE);
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return undefined;
    throw new QallowError('IO_ERROR', `cannot read ${file}: ${errorMessage(e)}`, { path: file }, { cause: e });
  }
  try {
    const read = async (at: number): Promise<Buffer> => {
      const b = Buffer.alloc(META_BYTES);
      const { bytesRead } = await fh.read(b, 0, META_BYTES, at);
      return b.subarray(0, bytesRead);
    };
    const first = decodeMeta(await read(0), 0);
    if (typeof first === 'string') throw corrupt(file, first);
    const second = decodeMeta(await read(first.pageSize), 1);
    if (typeof second === 'string') throw corrupt(file, second);
    if (second.pageSize !== first.pageSize) throw corrupt(file, `the meta pages disagree on the page size (${first.pageSize}, ${second.pageSize})`);
    const meta = second.txnid > first.txnid ? second : first;
    // The size after the metas: a writer in another process only grows the file before it writes a meta page.
    const size = (await fh.stat()).size;
    const need = (meta.lastPage + 1n) * BigInt(meta.pageSize);
    if (BigInt(size) < need) {
      throw corrupt(file, `it is ${size} bytes but its newest meta page (page ${meta.page}, transaction ${meta.txnid}) uses pages up to ${meta.lastPage}, ${need} bytes: the file was cut short`);
    }
    for (const [i, root] of meta.roots.entries()) {
      if (root !== P_INVALID && (root < 2n || root > meta.lastPage)) throw corrupt(file, `meta page ${meta.page} puts the ${i === 0 ? 'free-page' : 'main'} tree's root at page ${root}, outside pages 2..${meta.lastPage}`);
    }
    return { file, size, meta };
  } catch (e) {
    if (e instanceof QallowError) throw e;
    throw new QallowError('IO_ERROR', `cannot read ${file}: ${errorMessage(e)}`, { path: file }, { cause: e });
  } finally {
    await fh.close();
  }
}
