/**
 * The only module of the tailer that touches node:fs. The logic takes a `TailFs`, so tests can
 * swap in a fake; this adapter is tested with real files.
 *
 * `stat`, a handle's `stat` and its small reads (a file's first KiB, which each look of a growing
 * file checks) are system calls made on the calling thread (as the first pass reads its ranges,
 * and the data-root monitor stats the root): a few microseconds each from the page cache, where a
 * trip through libuv's thread pool cost tens of microseconds of CPU on two threads and a wake-up
 * apiece, and queued the look behind whatever else was in the pool (a rescan's thousands of
 * `lstat`s). The reads of lines (up to 1 MiB), opening, listing a folder and closing stay in the
 * pool: a batch's read yields to the event loop, as before.
 */
import { constants, fstatSync, readSync, statSync, watch } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { errnoCode } from '../../util/errors.js';

export interface StatLike {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  kind: 'file' | 'directory' | 'other';
}

export interface TailHandle {
  /** Reads up to `buf.length` bytes at `position` into `buf`; returns how many (0 at EOF). */
  read(buf: Buffer, position: number): Promise<number>;
  stat(): Promise<StatLike>;
  close(): Promise<void>;
}

export interface TailFs {
  /** null when the path (or a folder on the way) does not exist; other errors throw. */
  stat(p: string): Promise<StatLike | null>;
  /** Opens for reading; never blocks on a FIFO swapped in under the name. */
  open(p: string): Promise<TailHandle>;
  /** Names in the folder; [] when the folder does not exist. */
  readdir(dir: string): Promise<string[]>;
  /**
   * Watches a folder's entries (not recursive). Throws when the folder cannot be watched.
   * Returns the function that stops watching.
   */
  watchDir?(
    dir: string,
    onChange: (name: string | null) => void,
    onError?: (err: unknown) => void,
  ): () => void;
}

function toStatLike(s: {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  isFile(): boolean;
  isDirectory(): boolean;
}): StatLike {
  return {
    dev: s.dev,
    ino: s.ino,
    size: s.size,
    mtimeMs: s.mtimeMs,
    kind: s.isFile() ? 'file' : s.isDirectory() ? 'directory' : 'other',
  };
}

/** Reads at most this long are made on the calling thread (a file's fingerprinted head: 1 KiB). */
const SMALL_READ = 64 * 1024;

const isAbsent = (err: unknown): boolean => {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
};

export const nodeTailFs: TailFs = {
  async stat(p) {
    try {
      return toStatLike(statSync(p));
    } catch (err) {
      if (isAbsent(err)) return null;
      throw err;
    }
  },

  async open(p) {
    // O_NONBLOCK: opening a FIFO planted under the name must not hang a libuv thread (nor would a
    // read of it block this one: it fails with EAGAIN; the tailer only reads regular files).
    const fh = await open(p, constants.O_RDONLY | constants.O_NONBLOCK);
    return {
      async read(buf, position) {
        if (buf.length <= SMALL_READ) return readSync(fh.fd, buf, 0, buf.length, position);
        const { bytesRead } = await fh.read(buf, 0, buf.length, position);
        return bytesRead;
      },
      async stat() {
        return toStatLike(fstatSync(fh.fd));
      },
      close: () => fh.close(),
    };
  },

  async readdir(dir) {
    try {
      return await readdir(dir);
    } catch (err) {
      if (isAbsent(err)) return [];
      throw err;
    }
  },

  watchDir(dir, onChange, onError) {
    const watcher = watch(dir, { persistent: true }, (_event, name) => onChange(name ?? null));
    // An FSWatcher error (folder deleted, inotify trouble) must never become an uncaught exception.
    watcher.on('error', (err) => {
      watcher.close();
      onError?.(err);
    });
    return () => watcher.close();
  },
};
