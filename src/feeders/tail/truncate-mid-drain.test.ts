/**
 * A consumer that is slow between batches (the catalog writer commits each one to SQLite): the
 * file it reads is copytruncated and written past the old read position while it is inside
 * `onBatch`. Reading on at the old offset would skip the copy's unread tail and the new file's
 * head; the tailer must take the copy from where it stopped, then the new file from byte 0.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/tmp.js';
import { JsonlTailer } from './tailer.js';
import type { TailerEvent } from './types.js';

const line = (i: number) => `{"episode_id":"ep-${String(i).padStart(4, '0')}","pad":"${'x'.repeat(50)}"}\n`;

describe('a copytruncate while a slow consumer holds a batch', () => {
  it('reads the copy from where it stopped, then the new file from byte 0: every line once', async () => {
    const dir = tempDir();
    const index = path.join(dir, 'index.jsonl');
    const fd = fs.openSync(index, 'a');
    let written = 0;
    const write = (count: number) => {
      for (let i = 0; i < count; i++) fs.writeSync(fd, line(written++));
    };
    write(3000);
    const got: string[] = [];
    const events: TailerEvent[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let firstBatch!: () => void;
    const firstSeen = new Promise<void>((resolve) => {
      firstBatch = resolve;
    });
    let batches = 0;
    const tailer = new JsonlTailer({
      path: index,
      pollIntervalMs: 50,
      // Small batches: the first one ends early in the file, as a 1 MiB batch does in a backlog.
      maxBatchBytes: 1000,
      maxLineBytes: 200,
      async onBatch(batch) {
        got.push(...batch.lines);
        if (++batches === 1) {
          firstBatch();
          await gate; // a slow commit
        }
      },
      onEvent: (e) => events.push(e),
    });
    await tailer.start();
    try {
      await firstSeen;
      write(500);
      fs.copyFileSync(index, `${index}.1`);
      fs.truncateSync(index, 0);
      write(3000); // more than was there before: the new content reaches past the old read position
      release();
      const expected = Array.from({ length: written }, (_, i) => line(i).trimEnd());
      await expect.poll(() => got.length, { timeout: 10_000, interval: 20 }).toBeGreaterThanOrEqual(written);
      expect([...got].sort()).toEqual(expected.sort());
      expect(new Set(got).size).toBe(written);
      expect(
        events.filter((e) => e.kind === 'rotated').map((e) => (e.kind === 'rotated' ? e.how : '')),
      ).toEqual(['truncate']);
      expect(tailer.stats().lostBytes).toBe(0);
    } finally {
      fs.closeSync(fd);
      await tailer.stop();
    }
  });
});
