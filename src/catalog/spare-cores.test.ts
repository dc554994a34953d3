import fs from 'node:fs';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { SpareCores } from './spare-cores.js';

describe('spare cores', () => {
  it('cannot tell before a window of samples, then reads between none and every core', () => {
    const spare = new SpareCores();
    expect(spare.othersIdle(0)).toBeNaN();
    spare.note(0);
    // Too short a span since the only sample.
    expect(spare.othersIdle(100)).toBeNaN();
    const idle = spare.othersIdle(10_000);
    if (!fs.existsSync('/proc/stat')) {
      expect(idle).toBeNaN();
      return;
    }
    // NaN too when the machine's clock ticks did not move between the two readings.
    if (!Number.isNaN(idle)) {
      expect(idle).toBeGreaterThanOrEqual(0);
      expect(idle).toBeLessThanOrEqual(os.availableParallelism());
    }
  });

  it('looks back over the last seconds only', () => {
    const spare = new SpareCores();
    if (!fs.existsSync('/proc/stat')) return;
    for (let at = 0; at <= 10_000; at += 100) spare.note(at);
    // One sample every 250 ms at most, and none much older than the window.
    const samples = (spare as unknown as { samples: Array<{ at: number }> }).samples;
    expect(samples.map((s) => s.at)).toEqual([7_800, 8_100, 8_400, 8_700, 9_000, 9_300, 9_600, 9_900]);
  });
});
