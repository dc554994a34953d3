import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';

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

/** The Node adapter: reads a file in chunks within the budget and hashes it. */
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
      await budget.take(chunkBytes);
      const { bytesRead } = await handle.read(buf, 0, chunkBytes, bytes);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      bytes += bytesRead;
    }
    return { sha256: hash.digest('hex'), bytes };
  } finally {
    await handle.close();
  }
}
