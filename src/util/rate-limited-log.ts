import type { Logger } from './log.js';

interface Window {
  start: number;
  logged: number;
  suppressed: number;
  message: string;
  timer: NodeJS.Timeout | null;
}

/**
 * The one rule for warnings that can come by the thousand (bad lines, unreadable tarballs): per
 * key (a kind of problem, e.g. a skip reason), the first `perWindow` in each window are logged
 * as they come; the rest are counted, and one summary line at the end of the window says how many
 * were held back (`suppressed`, with the key and the message they carried). A flood can neither
 * flood the log (or the disk under it) nor go unmentioned; the counters in /metrics keep the totals.
 */
export class RateLimitedLog {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly logger: Logger,
    private readonly perWindow = 10,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  warn(key: string, fields: Record<string, unknown>, message: string): void {
    const t = this.now();
    const w = this.windowAt(key, t, message);
    if (w.logged < this.perWindow) {
      w.logged++;
      this.logger.warn(fields, message);
      return;
    }
    this.holdBack(key, w, 1, t);
  }

  /**
   * `n` more of `key` whose text is not at hand (a reader kept a few excerpts of a batch and
   * counted the rest): held back outright, in the window's summary line.
   */
  heldBack(key: string, n: number, message: string): void {
    if (n <= 0) return;
    const t = this.now();
    this.holdBack(key, this.windowAt(key, t, message), n, t);
  }

  /** The window `key` is in at `t`: a window past its time is summarised and a new one begun. */
  private windowAt(key: string, t: number, message: string): Window {
    let w = this.windows.get(key);
    if (w && t - w.start >= this.windowMs) {
      this.summarise(key, w);
      w = undefined;
    }
    if (!w) {
      w = { start: t, logged: 0, suppressed: 0, message, timer: null };
      this.windows.set(key, w);
    }
    return w;
  }

  private holdBack(key: string, w: Window, n: number, t: number): void {
    w.suppressed += n;
    if (w.timer === null) {
      w.timer = setTimeout(() => this.summarise(key, w), this.windowMs - (t - w.start));
      w.timer.unref();
    }
  }

  /** Logs every pending summary now (on stop, so a count held back is never lost). */
  flush(): void {
    for (const [key, w] of this.windows) this.summarise(key, w);
  }

  private summarise(key: string, w: Window): void {
    if (w.timer) clearTimeout(w.timer);
    w.timer = null;
    if (this.windows.get(key) === w) this.windows.delete(key);
    if (w.suppressed === 0) return;
    this.logger.warn(
      { key, suppressed: w.suppressed, window_ms: this.windowMs },
      `${w.message} (${w.suppressed} more like this held back)`,
    );
  }
}
