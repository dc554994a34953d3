import fs from 'node:fs';
import type { DataRootStatus, UnsequencedEvent } from '../protocol/index.js';

/** Checks the data root: there, a directory, listable. Sync and cheap (one stat, one access). */
export function checkDataRoot(dataRoot: string, now: () => Date = () => new Date()): DataRootStatus {
  const base = { path: dataRoot, since: now().toISOString() };
  let st: fs.Stats;
  try {
    st = fs.statSync(dataRoot);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const error = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})`;
    return { ...base, ok: false, error };
  }
  if (!st.isDirectory()) return { ...base, ok: false, error: 'is not a directory' };
  try {
    fs.accessSync(dataRoot, fs.constants.R_OK | fs.constants.X_OK);
  } catch (err) {
    return {
      ...base,
      ok: false,
      error: `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    };
  }
  return { ...base, ok: true, error: null };
}

export interface DataRootMonitorOptions {
  dataRoot: string;
  publish(event: UnsequencedEvent): void;
  /** @default 1000 */
  intervalMs?: number;
}

/**
 * Watches whether the data root exists and can be read, and publishes a `data_root` event when
 * that changes (and once at start), so every scene and `/readyz` can say "missing" instead of
 * showing an empty lab.
 */
export class DataRootMonitor {
  #last: DataRootStatus;
  readonly #timer: NodeJS.Timeout;

  constructor(private readonly o: DataRootMonitorOptions) {
    this.#last = checkDataRoot(o.dataRoot);
    o.publish({ type: 'data_root', ...this.#last });
    this.#timer = setInterval(() => this.check(), o.intervalMs ?? 1000);
    this.#timer.unref();
  }

  get status(): DataRootStatus {
    return this.#last;
  }

  /** Looks now; publishes when the answer changed. */
  check(): DataRootStatus {
    const next = checkDataRoot(this.o.dataRoot);
    if (next.ok !== this.#last.ok || next.error !== this.#last.error) {
      this.#last = next;
      this.o.publish({ type: 'data_root', ...next });
    }
    return this.#last;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
