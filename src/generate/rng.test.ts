import { describe, expect, it } from 'vitest';
import { hex8, hexBatch, mix32, Rng } from './rng.js';
import { compactUtc, isoUtc } from './wall.js';

describe('Rng', () => {
  it('repeats its stream for the same seed and differs for another', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const draws = (r: Rng): number[] => Array.from({ length: 20 }, () => r.u32());
    const da = draws(a);
    expect(draws(b)).toEqual(da);
    expect(draws(c)).not.toEqual(da);
  });

  it('forks streams that do not depend on draws already made', () => {
    const a = new Rng(5);
    const b = new Rng(5);
    b.u32();
    b.next();
    expect(a.fork(3).u32()).toBe(b.fork(3).u32());
    expect(a.fork(3).u32()).not.toBe(a.fork(4).u32());
  });

  it('keeps int() within its bounds and reaches both ends', () => {
    const r = new Rng(1);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) seen.add(r.int(3, 7));
    expect([...seen].sort()).toEqual([3, 4, 5, 6, 7]);
  });
});

describe('ids and hex', () => {
  it('mix32 gives distinct outputs for distinct inputs (ids never collide)', () => {
    const out = new Set<number>();
    for (let i = 0; i < 100_000; i++) out.add(mix32(i ^ 0xdeadbeef));
    expect(out.size).toBe(100_000);
  });

  it('formats hex like toString(16)', () => {
    for (const x of [0, 1, 0xabc, 0xffffffff, 0x80000000, 0x0badf00d]) {
      expect(hex8(x)).toBe(x.toString(16).padStart(8, '0'));
    }
    const batch = hexBatch(new Rng(9), 10, 64);
    expect(batch).toHaveLength(10);
    for (const h of batch) expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(batch).size).toBe(10);
  });
});

describe('wall', () => {
  it('formats like Date#toISOString across days, leap years and millisecond edges', () => {
    const r = new Rng(3);
    const samples = [
      0,
      Date.UTC(2024, 1, 29, 23, 59, 59, 999),
      Date.UTC(2026, 10, 1, 12),
      1_793_534_584_123.9,
    ];
    for (let i = 0; i < 5000; i++) samples.push(r.int(0, 4_000_000_000_000));
    for (const ms of samples) {
      const iso = new Date(Math.floor(ms)).toISOString();
      expect(isoUtc(ms)).toBe(iso);
      expect(compactUtc(ms)).toBe(iso.slice(0, 19).replaceAll('-', '').replaceAll(':', ''));
    }
  });
});
