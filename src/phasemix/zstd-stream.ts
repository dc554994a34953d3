import binding from 'zstd-napi/binding.js';

/**
 * Pull-style zstd decompression over a positional byte source: each `next()` returns at most the
 * bytes asked for, so a caller can stop early (labels are near the front of a tarball) and bound
 * how much it ever decompresses. Input is read in fixed chunks; nothing is sized by the file.
 */

/** Reads up to `buf.length` bytes at `position`; returns the count, 0 at end of file. */
export interface ByteSource {
  read(buf: Uint8Array, position: number): number;
}

export type ZstdFailure = 'not_zstd' | 'truncated' | 'unreadable';

export class ZstdError extends Error {
  readonly reason: ZstdFailure;
  constructor(reason: ZstdFailure, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ZstdError';
    this.reason = reason;
  }
}

/** zstd's own default cap (128 MiB window): frames asking for more are refused, not allocated. */
export const DEFAULT_WINDOW_LOG_MAX = 27;
const IN_CHUNK = 64 * 1024;
const OUT_CHUNK = 128 * 1024;

/** Reusable native state and buffers for one decompression at a time. */
export class ZstdWorkspace {
  readonly dctx: binding.DCtx;
  readonly input = new Uint8Array(IN_CHUNK);
  readonly output = new Uint8Array(OUT_CHUNK);

  constructor(windowLogMax = DEFAULT_WINDOW_LOG_MAX) {
    this.dctx = new binding.DCtx();
    this.dctx.setParameter(binding.DParameter.windowLogMax, windowLogMax);
  }
}

export class ZstdPuller {
  private readonly ws: ZstdWorkspace;
  private readonly source: ByteSource;
  private filePos = 0;
  private inPos = 0;
  private inLen = 0;
  private eof = false;
  /** A frame was started and not yet finished (decoder said more is to come). */
  private frameOpen = false;
  /** The last call filled the whole output window: the decoder may hold more to flush. */
  private flushPending = false;
  private checkedMagic = false;

  constructor(ws: ZstdWorkspace, source: ByteSource) {
    this.ws = ws;
    this.source = source;
    ws.dctx.reset(binding.ResetDirective.sessionOnly);
  }

  /** Compressed bytes read so far. */
  get bytesRead(): number {
    return this.filePos;
  }

  /**
   * The next decompressed bytes, at most `limit` (a view of a reused buffer, valid until the next
   * call), or null when the stream ended cleanly. Throws `ZstdError`.
   */
  next(limit: number = OUT_CHUNK): Uint8Array | null {
    const out = this.ws.output.subarray(0, Math.max(1, Math.min(limit, OUT_CHUNK)));
    for (;;) {
      if (this.inPos < this.inLen || this.flushPending) {
        let result: [number, number, number];
        try {
          result = this.ws.dctx.decompressStream(out, this.ws.input.subarray(this.inPos, this.inLen));
        } catch (err) {
          throw new ZstdError('unreadable', `corrupt zstd data: ${(err as Error).message}`, { cause: err });
        }
        const [ret, produced, consumed] = result;
        this.inPos += consumed;
        this.frameOpen = ret !== 0;
        this.flushPending = produced === out.length;
        if (produced > 0) return out.subarray(0, produced);
        if (consumed === 0 && !this.flushPending && this.inPos < this.inLen) {
          throw new ZstdError('unreadable', 'zstd decoder made no progress');
        }
        continue;
      }
      if (this.eof) {
        if (this.frameOpen) throw new ZstdError('truncated', 'zstd stream ends inside a frame');
        return null;
      }
      this.fill();
    }
  }

  private fill(): void {
    const n = this.source.read(this.ws.input, this.filePos);
    this.filePos += n;
    this.inPos = 0;
    this.inLen = n;
    if (n === 0) this.eof = true;
    if (!this.checkedMagic) {
      this.checkedMagic = true;
      checkMagic(this.ws.input.subarray(0, n));
    }
  }
}

/** A zstd frame (28 B5 2F FD) or a skippable frame (5? 2A 4D 18) must come first. */
function checkMagic(head: Uint8Array): void {
  const frame = [0x28, 0xb5, 0x2f, 0xfd];
  if (head.length < 4) {
    // Nothing, or a cut-off start of a frame: the upload did not finish.
    if (head.every((b, i) => b === frame[i]))
      throw new ZstdError('truncated', 'file shorter than a zstd frame');
    throw new ZstdError('not_zstd', 'not a zstd file');
  }
  const isFrame = head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd;
  const isSkippable =
    ((head[0] ?? 0) & 0xf0) === 0x50 && head[1] === 0x2a && head[2] === 0x4d && head[3] === 0x18;
  if (!isFrame && !isSkippable) throw new ZstdError('not_zstd', 'not a zstd file (bad magic number)');
}
