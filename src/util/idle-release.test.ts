import { describe, expect, it } from 'vitest';
import {
  checkIdle,
  decideIdleRelease,
  IDLE_UTILIZATION,
  initialIdleState,
  MAX_BACKOFF_WINDOWS,
  releaseWhenIdle,
  YOUNG_SLACK_BYTES,
  youngGenerationBytes,
} from './idle-release.js';

const BIG = YOUNG_SLACK_BYTES * 8;
const SMALL = YOUNG_SLACK_BYTES / 4;
const BUSY = IDLE_UTILIZATION + 0.5;
const QUIET = IDLE_UTILIZATION / 10;

describe('decideIdleRelease', () => {
  it('does nothing in busy windows', () => {
    const state = initialIdleState();
    expect(decideIdleRelease(state, BUSY, BIG)).toEqual({ release: false, collect: false });
    expect(decideIdleRelease(state, 1, BIG)).toEqual({ release: false, collect: false });
  });

  it('releases once per quiet stretch after a busy one, and collects while the young generation is large', () => {
    const state = initialIdleState();
    decideIdleRelease(state, BUSY, BIG);
    expect(decideIdleRelease(state, QUIET, BIG)).toEqual({ release: true, collect: true });
    // V8 shrank it: nothing more to do while the thread stays quiet.
    expect(decideIdleRelease(state, QUIET, SMALL)).toEqual({ release: false, collect: false });
    expect(decideIdleRelease(state, 0, SMALL)).toEqual({ release: false, collect: false });
    // A new burst, then quiet again: released again.
    decideIdleRelease(state, BUSY, BIG);
    expect(decideIdleRelease(state, QUIET, SMALL)).toEqual({ release: true, collect: false });
  });

  it('collects again with a doubling backoff while the young generation stays large', () => {
    const state = initialIdleState();
    const collectedAt: number[] = [];
    for (let window = 0; window < 200; window++) {
      if (decideIdleRelease(state, QUIET, BIG).collect) collectedAt.push(window);
    }
    const gaps = collectedAt.slice(1).map((w, i) => w - (collectedAt[i] as number));
    expect(gaps.slice(0, 6)).toEqual([2, 3, 5, 9, 17, 33]);
    expect(Math.max(...gaps)).toBe(MAX_BACKOFF_WINDOWS + 1);
    // A busy window starts over.
    decideIdleRelease(state, BUSY, BIG);
    expect(decideIdleRelease(state, QUIET, BIG).collect).toBe(true);
  });
});

describe('checkIdle', () => {
  it('runs every registered release after a busy window, once, and collects a grown young generation', () => {
    const released: string[] = [];
    const stopA = releaseWhenIdle(() => released.push('a'));
    const stopB = releaseWhenIdle(() => {
      released.push('b');
      throw new Error('a failing release does not stop the others');
    });
    try {
      // Grow the young generation as a catch-up does: many short-lived objects.
      let keep: Array<{ i: number; s: string }> = [];
      for (let i = 0; i < 2_000_000; i++) {
        keep.push({ i, s: `x${i}` });
        if (keep.length > 100_000) keep = [];
      }
      keep = [];
      const grown = youngGenerationBytes() > YOUNG_SLACK_BYTES;
      expect(checkIdle(1)).toEqual({ release: false, collect: false });
      expect(checkIdle(0)).toEqual({ release: true, collect: grown });
      expect(released).toEqual(['a', 'b']);
      checkIdle(0);
      expect(released).toEqual(['a', 'b']);
    } finally {
      stopA();
      stopB();
    }
  });
});
