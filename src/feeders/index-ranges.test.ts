import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/tmp.js';
import { MAX_LINE_BYTES, planIndexRanges, readRange } from './index-ranges.js';
import { type LineSink, splitLines } from './tail/lines.js';

/** Reads one planned range and splits it exactly as the tailer would (CRLF, BOM, long lines). */
function readRangeLines(fd: number, start: number, end: number): LineSink {
  const chunk = readRange(fd, start, end);
  const sink: LineSink = { lines: [], skipped: [] };
  // The range ends with '\n': splitLines takes the index of that last '\n'.
  if (chunk.length > 0) splitLines(chunk, 0, chunk.length - 1, start, MAX_LINE_BYTES, sink);
  return sink;
}

import { JsonlTailer } from './tail/tailer.js';

async function tailerLines(file: string): Promise<string[]> {
  const lines: string[] = [];
  const tailer = new JsonlTailer({ path: file, onBatch: (b) => void lines.push(...b.lines) });
  await tailer.start();
  await tailer.whenCaughtUp();
  await tailer.stop();
  return lines;
}

describe('planIndexRanges / readRangeLines', () => {
  it('yields exactly the tailer’s lines, range by range, and a checkpoint after the last full line', async () => {
    const file = path.join(tempDir(), 'index.jsonl');
    const content = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from('{"a":1}\r\n\n   \n{"b":"\u2028"}\n'),
      Buffer.from([0x7b, 0xff, 0x7d, 0x0a]),
      ...Array.from({ length: 200 }, (_, i) => Buffer.from(`{"n":${i}}\n`)),
      Buffer.from('{"partial":'),
    ]);
    fs.writeFileSync(file, content);
    const plan = planIndexRanges(file, 64);
    expect(plan).not.toBeNull();
    if (!plan) return;
    try {
      expect(plan.ranges.length).toBeGreaterThan(10);
      expect(plan.checkpoint.offset).toBe(content.length - '{"partial":'.length);
      const fromRanges = plan.ranges.flatMap(([a, b]) => readRangeLines(plan.fd, a, b).lines);
      expect(fromRanges).toEqual(await tailerLines(file).then((l) => l));
      expect(fromRanges).toContain('{"b":"\u2028"}');
    } finally {
      fs.closeSync(plan.fd);
    }
  });

  it('skips a line over the limit inside a range, as the tailer does', async () => {
    const file = path.join(tempDir(), 'index.jsonl');
    fs.writeFileSync(file, `{"a":1}\n{"episode_id":"${'x'.repeat(1_200_000)}"}\n{"b":2}\n`);
    const plan = planIndexRanges(file, 2 * 1024 * 1024);
    if (!plan) throw new Error('expected a plan');
    try {
      const sink = readRangeLines(plan.fd, 0, plan.checkpoint.offset);
      expect(sink.lines).toEqual(['{"a":1}', '{"b":2}']);
      expect(sink.skipped.map((s) => s.reason)).toEqual(['line_too_long']);
      expect(sink.lines).toEqual(await tailerLines(file));
    } finally {
      fs.closeSync(plan.fd);
    }
  });

  it('finds a boundary inside lines longer than the first look (wider windows), up to the limit', async () => {
    const file = path.join(tempDir(), 'index.jsonl');
    // Lines of 10 KiB, 200 KiB and one just under the limit: each boundary falls inside one.
    const lines = [10_000, 200_000, MAX_LINE_BYTES - 20, 5].map(
      (n, i) => `{"n":${i},"x":"${'z'.repeat(n)}"}`,
    );
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    const plan = planIndexRanges(file, 1000);
    if (!plan) throw new Error('expected a plan');
    try {
      expect(plan.ranges.length).toBe(4);
      const fromRanges = plan.ranges.flatMap(([a, b]) => readRangeLines(plan.fd, a, b).lines);
      expect(fromRanges).toEqual(lines);
      expect(fromRanges).toEqual(await tailerLines(file));
    } finally {
      fs.closeSync(plan.fd);
    }
  });

  it('declines a file whose boundaries fall inside a line longer than the limit', () => {
    const file = path.join(tempDir(), 'index.jsonl');
    fs.writeFileSync(file, `{"a":1}\n${'y'.repeat(3 * 1024 * 1024)}\n{"b":2}\n`);
    expect(planIndexRanges(file, 1024)).toBeNull();
    expect(planIndexRanges(path.join(tempDir(), 'missing.jsonl'))).toBeNull();
  });
});
