import { describe, expect, it } from 'vitest';
import { EpisodeIdTracker } from './episode-ids.js';
import { IdHashSet } from './id-hash-set.js';

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
