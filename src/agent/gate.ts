/**
 * Lets appends run side by side and a snapshot run alone: `exclusive` stops new appends from
 * starting, waits for those in flight to be answered, runs, and lets them go on. A snapshot taken
 * in there is exact at the stream's last seq: every append of this agent up to it was answered
 * (and applied to its state) and none is on the way.
 */
export class AppendGate {
  #inFlight = 0;
  #closed: Promise<void> | null = null;
  #idle: Array<() => void> = [];

  /** Waits while a snapshot holds the gate, then counts one append in flight. */
  async enter(): Promise<void> {
    while (this.#closed) await this.#closed;
    this.#inFlight++;
  }

  /** One append answered (or given up). */
  leave(): void {
    this.#inFlight--;
    if (this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Runs `fn` with no append in flight and none starting until it settles. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#closed) await this.#closed;
    let open!: () => void;
    this.#closed = new Promise((resolve) => {
      open = resolve;
    });
    try {
      if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
      return await fn();
    } finally {
      this.#closed = null;
      open();
    }
  }
}
