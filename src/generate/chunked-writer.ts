import fs from 'node:fs';

const WRITE_CHUNK_BYTES = 4 << 20;

/**
 * Encodes text straight into a reused buffer and writes it in big chunks: a million small writes,
 * or one huge concatenated string, would dominate the time.
 */
export class ChunkedWriter {
  private readonly buffer = Buffer.allocUnsafe(WRITE_CHUNK_BYTES);
  private used = 0;

  constructor(private readonly file: fs.promises.FileHandle) {}

  /** Appends `text` when it surely fits; false when the caller must `await write(text)` instead. */
  push(text: string): boolean {
    // A UTF-16 code unit takes at most 3 UTF-8 bytes.
    if (this.used + text.length * 3 > this.buffer.length) return false;
    this.used += this.buffer.write(text, this.used, 'utf8');
    return true;
  }

  /** Appends `text`, flushing first when needed (hot loops call `push` and only await this). */
  async write(text: string): Promise<void> {
    if (this.push(text)) return;
    await this.flush();
    if (!this.push(text)) await this.file.write(text);
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    const n = this.used;
    this.used = 0;
    await this.file.write(this.buffer, 0, n);
  }
}

export async function withWriter(file: string, fn: (w: ChunkedWriter) => Promise<void>): Promise<void> {
  const handle = await fs.promises.open(file, 'w');
  try {
    const writer = new ChunkedWriter(handle);
    await fn(writer);
    await writer.flush();
  } finally {
    await handle.close();
  }
}
