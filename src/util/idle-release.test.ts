import { describe, expect, it } from 'vitest';
import {
  checkIdle,
  decideIdleRelease,
  IDLE_UTILIZATION,
  initialIdleState,
  releaseWhenIdle,
} from './idle-release.js';

const BUSY = IDLE_UTILIZATION + 0.5;
const QUIET = IDLE_UTILIZATION / 10;

describe('decideIdleRelease', () => {
  it('does nothing in busy windows, releases once per quiet stretch after a busy one', () => {
    const state = initialIdleState();
    expect(decideIdleRelease(state, BUSY)).toBe(false);
    expect(decideIdleRelease(state, 1)).toBe(false);
    expect(decideIdleRelease(state, QUIET)).toBe(true);
    // Quiet on: nothing more to give back.
    expect(decideIdleRelease(state, QUIET)).toBe(false);
    expect(decideIdleRelease(state, 0)).toBe(false);
    // A new burst, then quiet again: released again.
    decideIdleRelease(state, BUSY);
    expect(decideIdleRelease(state, QUIET)).toBe(true);
  });
});

describe('checkIdle', () => {
  it('runs every registered release after a busy window, once, even when one of them fails', () => {
    const released: string[] = [];
    const stopA = releaseWhenIdle(() => released.push('a'));
    const stopB = releaseWhenIdle(() => {
      released.push('b');
      throw new Error('a failing release does not stop the others');
    });
    try {
      expect(checkIdle(1)).toBe(false);
      expect(checkIdle(0)).toBe(true);
      expect(released).toEqual(['a', 'b']);
      checkIdle(0);
      expect(released).toEqual(['a', 'b']);
    } finally {
      stopA();
      stopB();
    }
  });
});
