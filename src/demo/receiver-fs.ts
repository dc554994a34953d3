import fs from 'node:fs';

/**
 * The few file operations the demo's receiver makes. The receiver's logic takes this interface so
 * a test can record the exact order of operations; `nodeReceiverFs` is the real thing.
 */
export interface ReceiverFs {
  mkdir(dir: string): Promise<void>;
  writeFile(file: string, data: Uint8Array | string): Promise<void>;
  appendFile(file: string, text: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  copyFile(from: string, to: string): Promise<void>;
  /** Truncates to zero bytes, in place (same inode). */
  truncate(file: string): Promise<void>;
  /** Removes a file; a file already gone is not an error. */
  unlink(file: string): Promise<void>;
  /** Names in `dir`; empty when it does not exist. */
  readdir(dir: string): Promise<string[]>;
  /** Size in bytes, or null when the file does not exist. */
  size(file: string): Promise<number | null>;
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

export const nodeReceiverFs: ReceiverFs = {
  async mkdir(dir) {
    await fs.promises.mkdir(dir, { recursive: true });
  },
  writeFile: (file, data) => fs.promises.writeFile(file, data),
  appendFile: (file, text) => fs.promises.appendFile(file, text),
  rename: (from, to) => fs.promises.rename(from, to),
  copyFile: (from, to) => fs.promises.copyFile(from, to),
  truncate: (file) => fs.promises.truncate(file, 0),
  async unlink(file) {
    try {
      await fs.promises.unlink(file);
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  },
  async readdir(dir) {
    try {
      return await fs.promises.readdir(dir);
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
  },
  async size(file) {
    try {
      return (await fs.promises.stat(file)).size;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  },
};
