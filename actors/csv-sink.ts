/**
 * A run's telemetry CSV (SPEC §2 columns), appended epoch by epoch. After a
 * restart the file is cut back to the recovered checkpoint's tick, so rows
 * of the epoch that was lost with the crash are written once, not twice.
 */
import { createReadStream } from 'node:fs';
import { appendFile, mkdir, stat, truncate, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { RowBlock } from '../kernels/rows.js';
import { csvHeader, csvRows } from '../runtime/csv.js';

export class CsvSink {
  constructor(
    readonly path: string,
    private readonly phase: 'phase12' | 'phase13',
    private readonly lanes: number,
    private readonly auditTag: string,
  ) {}

  /** Start a new file with the header. */
  async create(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    await writeFile(this.path, csvHeader(this.phase, this.lanes));
  }

  async append(rows: RowBlock, firstTick: number): Promise<void> {
    await appendFile(this.path, csvRows(rows, firstTick, this.auditTag));
  }

  /** Keep the header and the rows of ticks ≤ `tick`; recreate the file if it is missing. */
  async truncateAfter(tick: number): Promise<void> {
    const exists = await stat(this.path).then(() => true, () => false);
    if (!exists) {
      await this.create();
      return;
    }
    const tickColumn = this.lanes > 1 ? 1 : 0;
    let offset = 0;
    let keep = 0;
    let header = true;
    let carry = '';
    // Scan line by line, remembering the byte offset after the last row to keep.
    for await (const chunk of createReadStream(this.path, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
      const text = carry + (chunk as string);
      const lines = text.split('\n');
      carry = lines.pop()!;
      for (const line of lines) {
        offset += Buffer.byteLength(line) + 1;
        if (header) {
          header = false;
          keep = offset;
          continue;
        }
        const t = Number(line.split(',', tickColumn + 1)[tickColumn]);
        if (!(t <= tick)) {
          await truncate(this.path, keep);
          return;
        }
        keep = offset;
      }
    }
    await truncate(this.path, keep);
  }
}
