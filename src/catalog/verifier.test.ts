import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/tmp.js';
import { ByteBudget, hashFile } from './verifier.js';

describe('ByteBudget', () => {
  it('admits reads up to the budget per second and then waits for the next window', async () => {
    let now = 0;
    const sleeps: number[] = [];
    const budget = new ByteBudget(
      1000,
      () => now,
      async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
    );
    await budget.take(600);
    now = 250;
    await budget.take(400);
    expect(sleeps).toEqual([]);
    await budget.take(100); // over budget: waits out the window's remaining 750 ms
    expect(sleeps).toEqual([750]);
    await budget.take(5000); // larger than a whole window: still admitted alone, never stuck
    expect(now).toBeGreaterThanOrEqual(1000);
  });
});

describe('hashFile', () => {
  it('hashes a file across many chunks', async () => {
    const file = path.join(tempDir(), 'x.tar.zst');
    const data = Buffer.alloc(300_000, 7);
    data.write('tail', 299_990);
    fs.writeFileSync(file, data);
    const result = await hashFile(file, new ByteBudget(Number.MAX_SAFE_INTEGER), 4096);
    expect(result).toEqual({ sha256: createHash('sha256').update(data).digest('hex'), bytes: 300_000 });
  });
});
