import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Cooperative time slicing: long synchronous work checks `due()` between small steps and, when it
 * has held the event loop for a slice, awaits `pause()` so timers, sockets and /livez get a turn.
 */
export interface Yielder {
  /** True when the current slice is used up. */
  due(): boolean;
  /** Lets the event loop run, then starts a new slice. */
  pause(): Promise<void>;
}

/** @param sliceMs how long to keep the loop at a stretch. @default 10 */
export function createYielder(sliceMs = 10): Yielder {
  let sliceStart = performance.now();
  return {
    due: () => performance.now() - sliceStart >= sliceMs,
    pause: async () => {
      await nextTurn();
      sliceStart = performance.now();
    },
  };
}
