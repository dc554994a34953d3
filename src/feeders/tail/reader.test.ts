import { describe, expect, it } from 'vitest';
import { MemFs, virtualHandle } from '../../../test/support/memfs.js';
import { LineReader, type ReadPosition, START } from './reader.js';

const FILE = '/d/index.jsonl';

/** Reads everything there is now, batch by batch, as the tailer does. */
async function readAll(reader: LineReader, fs: MemFs, from: ReadPosition) {
  const handle = await fs.open(FILE);
  const lines: string[] = [];
  const offsets: number[] = [];
  let pos = from;
  for (;;) {
    const r = await reader.read(handle, pos);
    lines.push(...r.lines);
    if (r.next.offset !== pos.offset) offsets.push(r.next.offset);
    pos = r.next;
    if (r.eof) break;
  }
  await handle.close();
  return { lines, offsets, pos };
}

/** Appends `text` to FILE in pseudo-random fragments of 1 to `most` bytes; `step` after each. */
async function inFragments(
  fs: MemFs,
  text: Buffer,
  seed: number,
  most: number,
  step: (written: number) => Promise<void>,
) {
  for (let written = 0; written < text.length; ) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const n = Math.min(text.length - written, 1 + (seed % most));
    fs.append(FILE, text.subarray(written, written + n));
    written += n;
    await step(written);
  }
}

describe('LineReader', () => {
  it('never splits or drops a line, whatever fragments it is written in', async () => {
    const records = Array.from({ length: 300 }, (_, i) => JSON.stringify({ i, pad: 'é'.repeat(i % 17) }));
    const text = Buffer.from(records.map((r) => `${r}\n`).join(''));
    const fs = new MemFs();
    fs.write(FILE, '');
    const reader = new LineReader({ maxLineBytes: 100, maxBatchBytes: 250 });
    let pos = START;
    const seen: string[] = [];
    await inFragments(fs, text, 42, 90, async () => {
      const r = await readAll(reader, fs, pos);
      seen.push(...r.lines);
      pos = r.pos;
      // A checkpoint is always just after a '\n'.
      for (const o of r.offsets) expect(text[o - 1]).toBe(10);
    });
    expect(seen).toEqual(records);
    expect(pos.offset).toBe(text.length);
  });

  it('keeps batches near maxBatchBytes', async () => {
    const fs = new MemFs();
    fs.write(FILE, Array.from({ length: 100 }, (_, i) => `{"n":${String(i).padStart(4, '0')}}\n`).join(''));
    const r = await readAll(new LineReader({ maxLineBytes: 100, maxBatchBytes: 130 }), fs, START);
    expect(r.lines).toHaveLength(100);
    const sizes = r.offsets.map((o, i) => o - (r.offsets[i - 1] ?? 0));
    for (const s of sizes) expect(s).toBeLessThanOrEqual(130 + 130);
    expect(sizes.length).toBeGreaterThanOrEqual(1200 / 260);
  });

  it('walks past a 50 MiB line holding one chunk, not the line', async () => {
    const head = Buffer.from('{"a":1}\n{"huge":"');
    const longEnd = head.length + 50 * 1024 * 1024;
    const tail = Buffer.from('"}\n{"b":2}\n');
    const size = longEnd + tail.length;
    const handle = virtualHandle(size, (p) =>
      p < head.length ? (head[p] as number) : p < longEnd ? 120 : (tail[p - longEnd] as number),
    );
    const reader = new LineReader({ maxLineBytes: 64 * 1024, maxBatchBytes: 1024 * 1024 });
    const lines: string[] = [];
    const skipped = [];
    let pos = START;
    for (;;) {
      const r = await reader.read(handle, pos);
      lines.push(...r.lines);
      skipped.push(...r.skipped);
      pos = r.next;
      if (r.eof) break;
    }
    expect(lines).toEqual(['{"a":1}', '{"b":2}']);
    expect(skipped).toEqual([{ reason: 'line_too_long', offset: 8, excerpt: `{"huge":"${'x'.repeat(111)}` }]);
    expect(pos.offset).toBe(size);
    expect(handle.maxRead()).toBeLessThanOrEqual(1024 * 1024);
  });

  it('keeps scanning a too-long line across reads while it is still being written', async () => {
    const fs = new MemFs();
    fs.write(FILE, `{"a":1}\n${'y'.repeat(300)}`);
    const reader = new LineReader({ maxLineBytes: 100, maxBatchBytes: 1000 });
    const look = await readAll(reader, fs, START);
    expect(look.lines).toEqual(['{"a":1}']);
    const first = await readAll(reader, fs, look.pos); // a later look finds the line too long so far
    expect(first.pos.offset).toBe(8); // the checkpoint stays at the long line's start
    expect(first.pos.longLine).toMatchObject({ start: 8 });
    fs.append(FILE, `${'y'.repeat(300)}\n{"b":2}\n`);
    const handle = await fs.open(FILE);
    const second = await reader.read(handle, first.pos);
    expect(second.lines).toEqual(['{"b":2}']);
    expect(second.skipped).toEqual([{ reason: 'line_too_long', offset: 8, excerpt: 'y'.repeat(120) }]);
    expect(second.next).toEqual({ offset: 8 + 601 + 8, longLine: null });
  });

  it('reads alike with a size hint, whether it is the size, short of it or past it', async () => {
    // Lines of every length around the limit (too long ones too), written in fragments; at each
    // step the same read is made without a hint and with hints near the real size.
    const records = Array.from({ length: 120 }, (_, i) => `{"i":${i},"p":"${'x'.repeat((i * 37) % 160)}"}`);
    const text = Buffer.from(records.map((r) => `${r}\n`).join(''));
    const fs = new MemFs();
    fs.write(FILE, '');
    let pos = START;
    await inFragments(fs, text, 7, 400, async (written) => {
      const handle = await fs.open(FILE);
      const plain = await new LineReader({ maxLineBytes: 100, maxBatchBytes: 1000 }).read(handle, pos);
      for (const hint of [written, written - 1, written - 50, written + 1, written + 5000, 0]) {
        const reader = new LineReader({ maxLineBytes: 100, maxBatchBytes: 1000 });
        expect(await reader.read(handle, pos, hint)).toEqual(plain);
      }
      await handle.close();
      pos = plain.next;
    });
  });
});
