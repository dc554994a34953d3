import { describe, expect, it } from 'vitest';
import {
  checkIdle,
  collectForMemory,
  decideIdleRelease,
  IDLE_UTILIZATION,
  type IdleState,
  initialIdleState,
  QUIET_WINDOWS,
  releaseWhenIdle,
  START_QUIET_WINDOWS,
} from './idle-release.js';

const BUSY = IDLE_UTILIZATION + 0.5;
const QUIET = IDLE_UTILIZATION / 10;

describe('decideIdleRelease', () => {
  const settle = (state: IdleState, utilization: number, windows = QUIET_WINDOWS) =>
    Array.from({ length: windows }, () => decideIdleRelease(state, utilization));
  /** A state past its start-up release. */
  const settled = (): IdleState => {
    const state = initialIdleState();
    decideIdleRelease(state, BUSY);
    settle(state, QUIET, START_QUIET_WINDOWS);
    return state;
  };

  it('releases after the start-up stretch once START_QUIET_WINDOWS quiet windows follow it', () => {
    const state = initialIdleState();
    expect(decideIdleRelease(state, BUSY)).toBe(false);
    expect(decideIdleRelease(state, 1)).toBe(false);
    expect(settle(state, QUIET, START_QUIET_WINDOWS)).toEqual([
      ...Array(START_QUIET_WINDOWS - 1).fill(false),
      true,
    ]);
    // Quiet on: nothing more to give back.
    expect(settle(state, 0)).toEqual(Array(QUIET_WINDOWS).fill(false));
  });

  it('releases a thread that starts quiet (a renewed writer: its predecessor freed memory) once', () => {
    const state = initialIdleState();
    expect(settle(state, QUIET, START_QUIET_WINDOWS).at(-1)).toBe(true);
    expect(settle(state, QUIET)).toEqual(Array(QUIET_WINDOWS).fill(false));
  });

  it('after the start-up release, waits QUIET_WINDOWS after each busy stretch, once per stretch', () => {
    expect(START_QUIET_WINDOWS).toBeLessThan(QUIET_WINDOWS);
    const state = settled();
    decideIdleRelease(state, BUSY);
    expect(settle(state, QUIET)).toEqual([...Array(QUIET_WINDOWS - 1).fill(false), true]);
    expect(settle(state, 0)).toEqual(Array(QUIET_WINDOWS).fill(false));
    // A new burst, then quiet again: released again, as late.
    decideIdleRelease(state, BUSY);
    expect(settle(state, QUIET)).toEqual([...Array(QUIET_WINDOWS - 1).fill(false), true]);
  });

  it('waits out a lull between two bursts after the start-up release', () => {
    const state = settled();
    decideIdleRelease(state, BUSY);
    for (let i = 0; i < QUIET_WINDOWS - 1; i++) expect(decideIdleRelease(state, QUIET)).toBe(false);
    decideIdleRelease(state, BUSY);
    expect(settle(state, QUIET)).toEqual([...Array(QUIET_WINDOWS - 1).fill(false), true]);
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
      // This file's thread has not released yet: its start-up stretch.
      expect(checkIdle(1)).toBe(false);
      for (let i = 1; i < START_QUIET_WINDOWS; i++) expect(checkIdle(0)).toBe(false);
      expect(checkIdle(0)).toBe(true);
      expect(released).toEqual(['a', 'b']);
      checkIdle(0);
      expect(released).toEqual(['a', 'b']);
      // Past it, a busy window is followed by QUIET_WINDOWS quiet ones.
      expect(checkIdle(1)).toBe(false);
      for (let i = 1; i < QUIET_WINDOWS; i++) expect(checkIdle(0)).toBe(false);
      expect(checkIdle(0)).toBe(true);
      expect(released).toEqual(['a', 'b', 'a', 'b']);
    } finally {
      stopA();
      stopB();
    }
  });
});

describe('collectForMemory', () => {
  it('returns, and the thread runs on: its timers fire after it (a session closed inside its callback hung the thread)', async () => {
    // From a timer, as the idle check runs it.
    await new Promise<void>((resolve, reject) => {
      setTimeout(() => collectForMemory().then(resolve, reject), 0);
    });
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    // And again: a release comes after each busy stretch.
    await collectForMemory();
  });

  it('runs the after-collection callbacks of a release once the collection is done', async () => {
    const order: string[] = [];
    let afterDone: () => void = () => {};
    const after = new Promise<void>((resolve) => {
      afterDone = resolve;
    });
    const stop = releaseWhenIdle(
      () => order.push('release'),
      () => {
        order.push('after');
        afterDone();
      },
    );
    try {
      checkIdle(1);
      for (let i = 1; i < QUIET_WINDOWS; i++) checkIdle(0);
      expect(checkIdle(0)).toBe(true);
      expect(order).toEqual(['release']);
      await after;
      expect(order).toEqual(['release', 'after']);
    } finally {
      stop();
    }
  });
});
