import type { Logger } from './log.js';

/**
 * Logs at most `perWindow` lines per key in each window and then one line saying how many it
 * held back, so a flood of bad lines cannot flood the log (or the disk under it).
 */
export class RateLimitedLog {
  private readonly windows = new Map<string, { start: number; logged: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly perWindow = 10,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  warn(key: string, fields: Record<string, unknown>, message: string): void {
    const t = this.now();
    let w = this.windows.get(key);
    if (!w || t - w.start >= this.windowMs) {
      if (w && w.suppressed > 0) {
        this.logger.warn({ key, suppressed: w.suppressed }, 'similar warnings suppressed in the last window');
      }
      w = { start: t, logged: 0, suppressed: 0 };
      this.windows.set(key, w);
    }
    if (w.logged < this.perWindow) {
      w.logged++;
      this.logger.warn(fields, message);
    } else {
      w.suppressed++;
    }
  }
}
