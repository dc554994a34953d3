import { describe, expect, it } from 'vitest';
import { capturedLogger } from '../../test/support/log.js';
import { RateLimitedLog } from './rate-limited-log.js';

describe('RateLimitedLog', () => {
  it('logs the first few per key, then one summary per window with the count held back', () => {
    const { logger, lines } = capturedLogger();
    let now = 0;
    const log = new RateLimitedLog(logger, 3, 60_000, () => now);
    for (let i = 0; i < 20_000; i++) log.warn('not_zstd', { file: `f${i}` }, 'episode skipped');
    log.warn('truncated', { file: 't' }, 'episode skipped');
    expect(lines.map((l) => l.file ?? l.suppressed)).toEqual(['f0', 'f1', 'f2', 't']);
    // The next window's first warning logs the last window's summary before itself.
    now = 60_000;
    log.warn('not_zstd', { file: 'g' }, 'episode skipped');
    expect(lines.slice(4)).toMatchObject([
      { key: 'not_zstd', suppressed: 19_997, msg: 'episode skipped (19997 more like this held back)' },
      { file: 'g' },
    ]);
    for (let i = 0; i < 5; i++) log.warn('not_zstd', { file: `h${i}` }, 'episode skipped');
    log.flush();
    expect(lines.slice(-1)).toMatchObject([{ key: 'not_zstd', suppressed: 3 }]);
    log.flush();
    expect(lines).toHaveLength(9);
  });

  it('counts lines held back unseen into the same summary', () => {
    const { logger, lines } = capturedLogger();
    let now = 0;
    const log = new RateLimitedLog(logger, 2, 60_000, () => now);
    log.warn('bad', { n: 1 }, 'skipped a line');
    log.heldBack('bad', 7, 'skipped a line');
    log.heldBack('bad', 0, 'skipped a line');
    log.warn('bad', { n: 2 }, 'skipped a line');
    log.warn('bad', { n: 3 }, 'skipped a line');
    expect(lines.map((l) => l.n)).toEqual([1, 2]);
    now = 60_000;
    log.heldBack('bad', 4, 'skipped a line');
    log.flush();
    expect(lines.slice(2)).toMatchObject([
      { key: 'bad', suppressed: 8, msg: 'skipped a line (8 more like this held back)' },
      { key: 'bad', suppressed: 4 },
    ]);
  });
});
