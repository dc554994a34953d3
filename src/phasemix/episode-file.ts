import fs from 'node:fs';
import { type EpisodeContents, EpisodeExtraction, type EpisodeReadOptions } from './episode-reader.js';
import { createYielder, type Yielder } from './yielder.js';
import { ZstdWorkspace } from './zstd-stream.js';

/**
 * The Node adapter of the episode reader: opens the tarball, reads it with positional `readSync`
 * (small chunks, only as far as needed) and yields to the event loop between slices.
 */

/** Decompression contexts and buffers kept for reuse; one per concurrent read. */
const idle: ZstdWorkspace[] = [];
const MAX_IDLE = 4;

/**
 * Opens `file` for reading only when it is a regular file. O_NONBLOCK: a FIFO planted under an
 * episode's name must fail here, not block the main thread forever in a synchronous open.
 */
function openRegularFile(file: string): number {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    if (fs.fstatSync(fd).isFile()) return fd;
  } catch {
    // fall through: closed below, reported as not readable
  }
  fs.closeSync(fd);
  throw new Error(`${file} is not a regular file`);
}

/** A read budget the bytes read are charged to (the verifier's `ByteBudget`): `take` waits when spent. */
export interface ReadPacer {
  take(bytes: number): Promise<void>;
}

/**
 * Reads `labels.jsonl`, `meta.json` and (with `members: true`) the member list of one episode.
 * Never throws for a bad file: the reason is in `error`. With a `pacer`, the bytes read from the
 * file are charged to it between steps (a read-through of a whole archive waits its turn).
 */
export async function readEpisode(
  file: string,
  options: EpisodeReadOptions = {},
  yielder: Yielder = createYielder(),
  pacer?: ReadPacer,
): Promise<EpisodeContents> {
  const ws = idle.pop() ?? new ZstdWorkspace();
  let fd: number | null = null;
  let unpaced = 0;
  try {
    const source = {
      read(buf: Uint8Array, position: number): number {
        if (fd === null) fd = openRegularFile(file);
        const n = fs.readSync(fd, buf, 0, buf.length, position);
        unpaced += n;
        return n;
      },
    };
    // step() turns every failure, open/read errors included, into a reason in the result.
    const extraction = new EpisodeExtraction(ws, source, options);
    for (;;) {
      const done = extraction.step();
      // Each step's bytes, the last one's too (an archive read in one step, ≤ 128 KiB, was once
      // charged nothing).
      if (pacer && unpaced > 0) {
        const bytes = unpaced;
        unpaced = 0;
        await pacer.take(bytes);
      }
      if (done) break;
      if (yielder.due()) await yielder.pause();
    }
    return extraction.result();
  } finally {
    if (fd !== null) fs.closeSync(fd);
    if (idle.length < MAX_IDLE) idle.push(ws);
  }
}
