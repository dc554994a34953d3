import fs from 'node:fs';
import path from 'node:path';
import { DB_FILE } from '../catalog/db.js';
import type { Logger } from '../util/log.js';

/** The catalog file removed or replaced under a running server, as a catalog fault. */
export interface CatalogGone {
  fault: 'gone';
  message: string;
  since: string;
}

/**
 * Watches that the catalog file a server opened is still the one in its state dir. Removed (a tmp
 * cleaner, an operator clearing the state dir) or replaced, the server's connections go on writing
 * a deleted file: every commit lost at the next start, the explorer failing, and a second server
 * free to take the folder. Found once (sticky: nothing here can put the file back), it is a fault
 * that `/readyz` and the catalog's readers report until a restart rebuilds the catalog.
 */
export class CatalogFileWatch {
  readonly #file: string;
  readonly #ino: number;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | null = null;
  #gone: CatalogGone | null = null;

  constructor(stateDir: string, logger: Logger) {
    this.#file = path.join(stateDir, DB_FILE);
    this.#ino = fs.statSync(this.#file).ino;
    this.#logger = logger;
  }

  /** Looks every `everyMs` (a stat of one file). */
  start(everyMs = 5000): void {
    this.#timer = setInterval(() => this.check(), everyMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  get gone(): CatalogGone | null {
    return this.#gone;
  }

  /** One look; the fault once the file is not there or not the one opened. */
  check(): CatalogGone | null {
    if (this.#gone) return this.#gone;
    let why: string | null = null;
    try {
      if (fs.statSync(this.#file).ino !== this.#ino) why = 'was replaced by another file';
    } catch (err) {
      why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'was removed' : null;
    }
    if (why === null) return null;
    this.#gone = {
      fault: 'gone',
      message: `the catalog ${this.#file} ${why} while the server ran`,
      since: new Date().toISOString(),
    };
    this.#logger.error(
      { file: this.#file },
      `the catalog ${this.#file} ${why} while the server ran: what it commits now is lost at the next start; restart the server to rebuild the catalog from the data root`,
    );
    return this.#gone;
  }
}
