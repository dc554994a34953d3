import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { readEpisode } from '../phasemix/episode-file.js';
import type { EpisodeReadError } from '../phasemix/episode-reader.js';

/**
 * A read budget: at most `bytesPerSecond` hashed per second, so the verifier never competes
 * with live work for the disk or a core. `take()` resolves at once while under budget and waits
 * for the next one-second window otherwise.
 */
export class ByteBudget {
  private windowStart: number;
  private used = 0;

  constructor(
    private readonly bytesPerSecond: number,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) =>
      new Promise((resolve) => setTimeout(resolve, ms)),
  ) {
    this.windowStart = now();
  }

  async take(bytes: number): Promise<void> {
    for (;;) {
      const t = this.now();
      if (t - this.windowStart >= 1000) {
        this.windowStart = t;
        this.used = 0;
      }
      // A window always admits one read, however large, so progress never stops.
      if (this.used === 0 || this.used + bytes <= this.bytesPerSecond) {
        this.used += bytes;
        return;
      }
      await this.sleep(1000 - (t - this.windowStart));
    }
  }
}

let sharedChunk: Buffer | null = null;

/** The reusable read buffer (files are hashed one at a time per thread). */
function chunkBuffer(bytes: number): Buffer {
  if (!sharedChunk || sharedChunk.length < bytes) sharedChunk = Buffer.allocUnsafe(bytes);
  return sharedChunk;
}

/**
 * What one file costs the budget at least, whatever its size: opening it, its `stat`s and its
 * catalog write cost about as much as reading this many bytes, so a backlog of small tarballs is
 * paced too — at most 512 files a second at 32 MiB/s. (Each read used to be charged its whole
 * chunk, 256 KiB, before it was made, and so was the read that found the end: a 6 KB tarball cost
 * 512 KiB, and 2,000 of them took 31 s to hash at ≈ 400 KB/s of actual reads.)
 */
export const FILE_MIN_CHARGE_BYTES = 64 * 1024;

/**
 * The Node adapter: reads a file in chunks and hashes it, charging the budget what each read
 * returned (the next read waits when the window is spent), and the file FILE_MIN_CHARGE_BYTES at
 * least.
 */
export async function hashFile(
  file: string,
  budget: ByteBudget,
  chunkBytes = 256 * 1024,
): Promise<{ sha256: string; bytes: number }> {
  const handle = await fs.open(file, 'r');
  try {
    const hash = createHash('sha256');
    // One buffer for every file rather than a fresh 256 KiB each: a backlog of thousands of files
    // otherwise leaves that much garbage for the GC between collections.
    const buf = chunkBuffer(chunkBytes);
    let bytes = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, chunkBytes, bytes);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      bytes += bytesRead;
      await budget.take(bytesRead);
    }
    if (bytes < FILE_MIN_CHARGE_BYTES) await budget.take(FILE_MIN_CHARGE_BYTES - bytes);
    return { sha256: hash.digest('hex'), bytes };
  } finally {
    await handle.close();
  }
}

/** Read failures that mean the bytes are damaged (not "no labels" or "bigger than we read"). */
const DAMAGED: ReadonlySet<EpisodeReadError> = new Set(['truncated', 'not_zstd', 'not_tar', 'unreadable']);

/**
 * Reads a tarball through to its end (bounded: 64 MiB decompressed), charging the bytes read to
 * the same budget as the hash: a tarball hashed as indexed may still be cut short or not a tar, and
 * this second pass over it must not read the disk faster than the verifier's budget (32 MiB/s).
 * @returns the damage found, or null.
 */
export async function readThrough(file: string, budget: ByteBudget): Promise<EpisodeReadError | null> {
  const contents = await readEpisode(file, { members: true }, undefined, budget);
  return contents.error !== null && DAMAGED.has(contents.error) ? contents.error : null;
}
