import { describe, expect, it } from 'vitest';
import { EpisodeIdTracker } from './episode-ids.js';
import { hash64, hashAscii, IdHashSet } from './id-hash-set.js';

describe('IdHashSet', () => {
  it('remembers 200,000 distinct ids across growth with no false member among 200,000 others', () => {
    const set = new IdHashSet(16);
    for (let i = 0; i < 200_000; i++) expect(set.add(`ep-${i}`)).toBe(true);
    expect(set.size).toBe(200_000);
    expect(set.add('ep-123')).toBe(false);
    let falseHits = 0;
    for (let i = 0; i < 200_000; i++) {
      if (!set.has(`ep-${i}`)) throw new Error(`lost ep-${i}`);
      if (set.has(`other-${i}`)) falseHits++;
    }
    expect(falseHits).toBe(0);
  });
});

describe('IdHashSet.addBatch', () => {
  it('adds the valid lines of a batch as addHash would one by one, repeats within the batch included', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => `ep-${i % 3700}`);
    const status = Uint8Array.from(ids, (_, i) => (i % 13 === 0 ? 1 : 0));
    const hi = new Uint32Array(ids.length);
    const lo = new Uint32Array(ids.length);
    ids.forEach((id, i) => {
      [hi[i], lo[i]] = hash64(id);
    });
    const oneByOne = new IdHashSet(16);
    oneByOne.add('ep-7');
    const want = ids.flatMap((_, i) =>
      status[i] === 0 && !oneByOne.addHash(hi[i] as number, lo[i] as number) ? [i] : [],
    );
    const batched = new IdHashSet(16);
    batched.add('ep-7');
    // In two batches, across the table's growth.
    const first = batched.addBatch(
      hi.subarray(0, 2000),
      lo.subarray(0, 2000),
      status.subarray(0, 2000),
      2000,
    );
    const rest = batched.addBatch(hi.subarray(2000), lo.subarray(2000), status.subarray(2000), 3000);
    expect([...first, ...rest.map((i) => i + 2000)]).toEqual(want);
    expect(batched.size).toBe(oneByOne.size);
    for (let i = 0; i < 3700; i++) expect(batched.has(`ep-${i}`)).toBe(oneByOne.has(`ep-${i}`));
  });
});

describe('EpisodeIdTracker', () => {
  it('counts an id once, and asks the catalog only about earlier runs', () => {
    const asked: string[] = [];
    const tracker = new EpisodeIdTracker((id) => {
      asked.push(id);
      return id === 'old';
    });
    expect(tracker.accept('old')).toBe(false);
    expect(tracker.accept('new')).toBe(true);
    expect(tracker.accept('new')).toBe(false);
    expect(asked).toEqual(['old', 'new']);
    const cold = new EpisodeIdTracker(null);
    expect(cold.accept('a')).toBe(true);
    expect(cold.accept('a')).toBe(false);
  });
});

describe('IdHashSet.reserve', () => {
  it('keeps what it holds and keeps counting repeats once after making room', () => {
    const set = new IdHashSet(16);
    for (let i = 0; i < 1000; i++) set.add(`ep-${i}`);
    set.reserve(100_000);
    expect(set.size).toBe(1000);
    for (let i = 0; i < 1000; i++) expect(set.add(`ep-${i}`)).toBe(false);
    for (let i = 1000; i < 100_000; i++) expect(set.add(`ep-${i}`)).toBe(true);
    expect(set.size).toBe(100_000);
    set.reserve(10); // never shrinks
    expect(set.has('ep-99999')).toBe(true);
  });
});

describe('IdHashSet slots', () => {
  it('wraps a probe from the last slot to the first, and finds every hash again after growth', () => {
    const set = new IdHashSet(16);
    // Hashes whose low half is the highest: all start at the last slot.
    for (let h = 1; h <= 50; h++) expect(set.addHash(h, 0xffffffff)).toBe(true);
    for (let h = 1; h <= 50; h++) expect(set.addHash(h, 0xffffffff)).toBe(false);
    for (let i = 0; i < 5000; i++)
      expect(set.addHash(i + 1, (i * 2654435761) >>> 0)).toBe(
        i < 50 ? (i * 2654435761) >>> 0 !== 0xffffffff : true,
      );
    for (let h = 1; h <= 50; h++) expect(set.addHash(h, 0xffffffff)).toBe(false);
    expect(set.size).toBe(5050);
  });
});

describe('hash64', () => {
  it("over the bytes of an ASCII string (hashAscii, anywhere in a buffer) equals the string's", () => {
    const out = new Uint32Array(2);
    for (let len = 0; len <= 41; len++) {
      const id = Array.from({ length: len }, (_, i) =>
        String.fromCharCode(0x20 + ((i * 37 + len) % 95)),
      ).join('');
      for (const pad of [0, 1, 2, 3]) {
        const bytes = Buffer.from(`${'x'.repeat(pad)}${id}yz`, 'latin1');
        hashAscii(bytes, pad, pad + len, out);
        expect([out[0], out[1]]).toEqual(hash64(id));
      }
    }
  });

  it('tells apart strings that differ only in code units above 255, or in length by NULs', () => {
    const ids = [
      '\u0100\u0000',
      '\u0000\u0001',
      '\u0001',
      'a',
      'a\u0000',
      'a\u0000\u0000\u0000',
      'é',
      'é\u0100',
      '日本語',
      '日本',
      '',
    ];
    const seen = new Set(ids.map((id) => hash64(id).join(':')));
    expect(seen.size).toBe(ids.length);
    for (const id of ids) expect(hash64(id)).not.toEqual([0, 0]);
  });
});
