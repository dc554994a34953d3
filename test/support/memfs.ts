/**
 * An in-memory `TailFs` for unit tests (tests only): files are inodes with contents, names map to
 * inodes, an open handle keeps its inode across renames and deletes — like POSIX. Reads can be
 * fragmented and errors injected per path.
 */
import path from 'node:path';
import type { StatLike, TailFs, TailHandle } from '../../src/feeders/tail/fs.js';

interface Inode {
  ino: number;
  data: Buffer;
  mtimeMs: number;
}

export class MemFs implements TailFs {
  private nextIno = 100;
  private clock = 1;
  private readonly names = new Map<string, Inode | 'dir'>();
  /** Error codes thrown by `open` of a path (e.g. EACCES), until cleared. */
  readonly openErrors = new Map<string, string>();
  /** Largest buffer a read was asked to fill: how much memory reading costs. */
  maxReadBytes = 0;
  openHandles = 0;
  /** Calls to `open`, failed ones included. */
  opens = 0;

  mkdir(p: string): void {
    this.names.set(p, 'dir');
  }

  write(p: string, text: string | Buffer): void {
    this.names.set(p, { ino: this.nextIno++, data: Buffer.from(text), mtimeMs: this.clock++ });
  }

  append(p: string, text: string | Buffer): void {
    const node = this.file(p);
    node.data = Buffer.concat([node.data, Buffer.from(text)]);
    node.mtimeMs = this.clock++;
  }

  truncate(p: string, size = 0): void {
    const node = this.file(p);
    node.data = node.data.subarray(0, size);
    node.mtimeMs = this.clock++;
  }

  rename(from: string, to: string): void {
    const node = this.names.get(from);
    if (!node) throw Object.assign(new Error(`ENOENT ${from}`), { code: 'ENOENT' });
    this.names.delete(from);
    this.names.set(to, node);
  }

  copy(from: string, to: string): void {
    this.write(to, Buffer.from(this.file(from).data));
  }

  /** Sets a file's mtime (as `touch -d` would). */
  setMtime(p: string, mtimeMs: number): void {
    this.file(p).mtimeMs = mtimeMs;
  }

  exists(p: string): boolean {
    return this.names.has(p);
  }

  unlink(p: string): void {
    this.names.delete(p);
  }

  private file(p: string): Inode {
    const node = this.names.get(p);
    if (!node || node === 'dir') throw Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' });
    return node;
  }

  private statOf(node: Inode | 'dir'): StatLike {
    if (node === 'dir') return { dev: 1, ino: 1, size: 0, mtimeMs: 0, kind: 'directory' };
    return { dev: 1, ino: node.ino, size: node.data.length, mtimeMs: node.mtimeMs, kind: 'file' };
  }

  async stat(p: string): Promise<StatLike | null> {
    const node = this.names.get(p);
    return node ? this.statOf(node) : null;
  }

  async open(p: string): Promise<TailHandle> {
    this.opens += 1;
    const code = this.openErrors.get(p);
    if (code) throw Object.assign(new Error(`${code}: open '${p}'`), { code });
    const node = this.file(p);
    this.openHandles += 1;
    let open = true;
    return {
      read: async (buf, position) => {
        if (!open) throw Object.assign(new Error('EBADF'), { code: 'EBADF' });
        this.maxReadBytes = Math.max(this.maxReadBytes, buf.length);
        return node.data.copy(buf, 0, Math.min(position, node.data.length));
      },
      stat: async () => this.statOf(node),
      close: async () => {
        if (open) this.openHandles -= 1;
        open = false;
      },
    };
  }

  async readdir(dir: string): Promise<string[]> {
    return [...this.names.keys()].filter((p) => path.dirname(p) === dir).map((p) => path.basename(p));
  }
}

/**
 * A handle over bytes produced on demand: a file of `size` bytes that is never held in memory.
 * `byteAt` gives each byte; reads record the largest buffer asked for.
 */
export function virtualHandle(
  size: number,
  byteAt: (pos: number) => number,
): TailHandle & { maxRead(): number } {
  let maxRead = 0;
  return {
    async read(buf, position) {
      maxRead = Math.max(maxRead, buf.length);
      const n = Math.max(0, Math.min(buf.length, size - position));
      for (let i = 0; i < n; i++) buf[i] = byteAt(position + i);
      return n;
    },
    async stat() {
      return { dev: 1, ino: 1, size, mtimeMs: 0, kind: 'file' };
    },
    async close() {},
    maxRead: () => maxRead,
  };
}
