import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/tmp.js';
import { buildEpisodeTarball } from '../generate/episode.js';
import { ByteBudget, FILE_MIN_CHARGE_BYTES, hashFile, readThrough } from './verifier.js';

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

  /** A budget on a fake clock that records what it was charged and how long it made reads wait. */
  const recordingBudget = (bytesPerSecond: number) => {
    let now = 0;
    const record = { taken: [] as number[], sleptMs: 0 };
    const budget = new ByteBudget(
      bytesPerSecond,
      () => now,
      async (ms) => {
        record.sleptMs += ms;
        now += ms;
      },
    );
    const take = budget.take.bind(budget);
    budget.take = (bytes: number) => {
      record.taken.push(bytes);
      return take(bytes);
    };
    return { budget, record };
  };

  it('charges the bytes it read, not its chunk size: a large file costs its size', async () => {
    const file = path.join(tempDir(), 'big.tar.zst');
    fs.writeFileSync(file, Buffer.alloc(300_000, 3));
    const { budget, record } = recordingBudget(100_000);
    await hashFile(file, budget, 10_000);
    expect(record.taken.reduce((a, b) => a + b, 0)).toBe(300_000);
    // 300 KB at 100 KB/s: three windows, two of them waited for.
    expect(record.sleptMs).toBe(2000);
  });

  it('paces a backlog of small tarballs by file, not by 256 KiB chunks', async () => {
    // 2,000 tarballs of ≈ 6 KB each took 31 s at the default 32 MiB/s when every read (the one
    // finding the end included) was charged a whole chunk before it was made.
    const dir = tempDir();
    const { budget, record } = recordingBudget(32 * 1024 * 1024);
    for (let i = 0; i < 400; i++) {
      const file = path.join(dir, `ep-${i}.tar.zst`);
      fs.writeFileSync(file, Buffer.alloc(6000, i % 251));
      await hashFile(file, budget);
    }
    // Each file is charged FILE_MIN_CHARGE_BYTES: 400 of them are 25 MiB, within one second's budget.
    expect(record.taken.reduce((a, b) => a + b, 0)).toBe(400 * FILE_MIN_CHARGE_BYTES);
    expect(record.sleptMs).toBe(0);
  });
});

/** A generated episode tarball with `telemetryKb` of telemetry. */
const episode = (telemetryKb: number, seed: number): Buffer =>
  buildEpisodeTarball({
    episodeId: `ep-${seed}`,
    hostId: 'h',
    startMs: Date.UTC(2026, 11, 1),
    monoStartNs: 1e12,
    telemetryKb,
    seed,
  });

describe('readThrough', () => {
  it('charges every byte it reads to the budget the hash used, and waits when it is spent', async () => {
    // Incompressible telemetry: the archive is large, and read to its end for the member list.
    const file = path.join(tempDir(), 'ep.tar.zst');
    fs.writeFileSync(file, episode(2048, 15));
    let now = 0;
    let slept = 0;
    const taken: number[] = [];
    const bytesPerSecond = 256 * 1024;
    const budget = new ByteBudget(
      bytesPerSecond,
      () => now,
      async (ms) => {
        slept += ms;
        now += ms;
      },
    );
    const take = budget.take.bind(budget);
    budget.take = (bytes: number) => {
      taken.push(bytes);
      return take(bytes);
    };
    const hashed = await hashFile(file, budget);
    const sleptForHash = slept;
    const takenForHash = taken.length;
    expect(await readThrough(file, budget)).toBeNull();
    const readBytes = taken.slice(takenForHash).reduce((a, b) => a + b, 0);
    // Every byte of the archive was read and charged; the pass waited for budget windows.
    expect(readBytes).toBeGreaterThanOrEqual(hashed.bytes);
    expect(slept - sleptForHash).toBeGreaterThanOrEqual(Math.floor(hashed.bytes / bytesPerSecond - 1) * 1000);
  });

  it('charges a small tarball read in one step too (its last step was charged nothing)', async () => {
    const file = path.join(tempDir(), 'small.tar.zst');
    fs.writeFileSync(file, episode(8, 17));
    const size = fs.statSync(file).size;
    const taken: number[] = [];
    const budget = new ByteBudget(Number.MAX_SAFE_INTEGER);
    const take = budget.take.bind(budget);
    budget.take = (bytes: number) => {
      taken.push(bytes);
      return take(bytes);
    };
    expect(await readThrough(file, budget)).toBeNull();
    expect(taken.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(size);
  });

  it('says what is damaged: a tarball cut short', async () => {
    const file = path.join(tempDir(), 'cut.tar.zst');
    const tar = episode(256, 16);
    fs.writeFileSync(file, tar.subarray(0, Math.floor(tar.length / 2)));
    expect(await readThrough(file, new ByteBudget(Number.MAX_SAFE_INTEGER))).toBe('truncated');
  });
});
