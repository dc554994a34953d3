import fs from 'node:fs';

/**
 * Watches one directory with fs.watch when it can (the directory may not exist yet, may vanish,
 * and inotify watches may run out); callers also rescan on a timer, so a failed watch only costs
 * latency. `onChange` gets the file name when the platform reports one.
 */
export class DirWatch {
  private watcher: fs.FSWatcher | null = null;
  private closed = false;

  constructor(
    private readonly dir: string,
    private readonly onChange: (name: string | null) => void,
  ) {}

  /** (Re)arms the watch if it is not active; cheap to call on every rescan. */
  ensure(): boolean {
    if (this.closed) return false;
    if (this.watcher) return true;
    try {
      const w = fs.watch(this.dir, { persistent: false }, (_event, name) => this.onChange(name ?? null));
      w.on('error', () => {
        // The directory went away or was replaced: drop the watch; the next rescan re-arms it.
        w.close();
        if (this.watcher === w) this.watcher = null;
        this.onChange(null);
      });
      this.watcher = w;
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
    this.watcher = null;
  }
}
