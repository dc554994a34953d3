import binding from 'zstd-napi/binding.js';
import { encodeTarEntry, TAR_END, type TarEntry } from '../../src/generate/tar.js';

/**
 * Crafted tarballs for the phase-mix tests (and the benchmark): real zstd frames around real or
 * deliberately broken tar streams.
 */

/** A run of zero bytes, produced while compressing and never held in memory whole. */
export interface Zeros {
  zeros: number;
}

/** zstd-compresses the parts as one frame, streaming (gigabytes of zeros cost little memory). */
export function zstdOf(parts: Iterable<Uint8Array | Zeros>, level = 3): Buffer {
  const cctx = new binding.CCtx();
  cctx.setParameter(binding.CParameter.compressionLevel, level);
  const out = Buffer.alloc(1 << 20);
  const chunks: Buffer[] = [];
  const zeroBlock = new Uint8Array(1 << 20);
  const push = (src: Uint8Array, end: boolean): void => {
    let rest = src;
    for (;;) {
      const [remaining, produced, consumed] = cctx.compressStream2(
        out,
        rest,
        end ? binding.EndDirective.end : binding.EndDirective.continue,
      );
      if (produced > 0) chunks.push(Buffer.from(out.subarray(0, produced)));
      rest = rest.subarray(consumed);
      if (end ? remaining === 0 : rest.length === 0) return;
    }
  };
  for (const part of parts) {
    if (part instanceof Uint8Array) {
      push(part, false);
      continue;
    }
    for (let left = part.zeros; left > 0; left -= zeroBlock.length) {
      push(zeroBlock.subarray(0, Math.min(left, zeroBlock.length)), false);
    }
  }
  push(new Uint8Array(0), true);
  return Buffer.concat(chunks);
}

/** A `.tar.zst` of the entries (with the end-of-archive blocks). */
export function tarZst(entries: TarEntry[]): Buffer {
  return zstdOf([...entries.flatMap((e) => encodeTarEntry(e)), TAR_END]);
}

/** A ustar header claiming `size` bytes (up to 8 GiB) for `name`, with a valid checksum. */
export function tarHeader(name: string, size: number, type = '0'): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0, 100, 'utf8');
  block.write('0000644\0', 100, 'ascii');
  block.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
  block.write(type, 156, 'ascii');
  block.write('ustar\u000000', 257, 'latin1');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

/** Zero padding after a body of `size` bytes. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((512 - (size % 512)) % 512);
}

/** labels.jsonl text: one JSON line per record. */
export function jsonl(records: unknown[]): string {
  return records.map((r) => `${JSON.stringify(r)}\n`).join('');
}

/** An episode tarball: `ep/labels.jsonl` of `labels`, and `ep/meta.json` first when given. */
export function episodeTarball(labels: unknown[], meta?: unknown): Buffer {
  const entries = [{ name: 'ep/labels.jsonl', data: jsonl(labels) }];
  if (meta !== undefined) entries.unshift({ name: 'ep/meta.json', data: JSON.stringify(meta) });
  return tarZst(entries);
}
