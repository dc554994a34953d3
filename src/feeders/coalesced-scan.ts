/**
 * Runs a folder scan so that calls during a run share it, and a change seen mid-run (which may
 * come after the run's listing) causes exactly one more run afterwards.
 */
export class CoalescedScan {
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly scanOnce: () => Promise<void>,
    private readonly stopped: () => boolean,
  ) {}

  request(): Promise<void> {
    if (this.stopped()) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.scanOnce();
      } while (this.again && !this.stopped());
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }
}
