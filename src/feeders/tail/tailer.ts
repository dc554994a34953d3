/**
 * Follows one append-only JSONL file through rotations and hands complete lines to a consumer,
 * each batch with the checkpoint that covers it. Wakes on a watch of the file's FOLDER (a watch of
 * the file goes silent once a rename replaces it) and on a polling backstop.
 *
 * Fixes the old feeder's tailing defects (DESIGN §4): a rotated file is drained before the new one
 * is read from byte 0 (1); a half-written line waits for its '\n' (2); copytruncate is detected
 * and its copy drained (3); a file that appears late is read from byte 0 (4); lines split on '\n'
 * only (7).
 */
import path from 'node:path';
import { DashboardError, errnoCode, errorMessage } from '../../util/errors.js';
import { checkHead, identify, sameInode } from './fingerprint.js';
import { nodeTailFs, type StatLike, type TailFs } from './fs.js';
import { findByInode, findSibling } from './locate.js';
import { LineReader, START } from './reader.js';
import { adoptSource, checkpointOf, closeSource, openSource, type Source } from './source.js';
import type { Checkpoint, RotationKind, TailBatch, TailerEvent, TailerStats } from './types.js';

export interface TailerOptions {
  path: string;
  /** @default nodeTailFs */
  fs?: TailFs;
  /** Where a previous run stopped; null or absent reads the file from byte 0. */
  start?: Checkpoint | null;
  /** Longer lines are skipped without ever being held whole. @default 1 MiB */
  maxLineBytes?: number;
  /** Consumed bytes per batch (a batch may exceed it by up to one read chunk). @default 1 MiB */
  maxBatchBytes?: number;
  /** The polling backstop beside the folder watch. @default 500 */
  pollIntervalMs?: number;
  /**
   * After a rename rotation, how long the old file must stay quiet before the new one is read
   * (writers keep writing a few lines to the renamed file). @default 2 × pollIntervalMs
   */
  rotationGraceMs?: number;
  /** Wait before retrying after a failure (I/O error, or `onBatch` threw). @default 1000 */
  retryDelayMs?: number;
  /**
   * Called with each batch, awaited before reading on (backpressure). A throw is reported as an
   * 'error' event and the same lines are offered again after `retryDelayMs`. Do not await `stop()`
   * in here: `stop()` waits for the batch in hand.
   */
  onBatch(batch: TailBatch): void | Promise<void>;
  onEvent?(e: TailerEvent): void;
}

const MiB = 1024 * 1024;
/** A writer that never stops writing to the renamed file does not hold the new one back forever. */
const GRACE_CAP_FACTOR = 10;

/** Reports cleared by their own condition going away, not by the next good look. */
const STICKY = new Set(['error:not_a_file', 'error:watch_failed']);

/** `onBatch` threw: the batch was not consumed. */
class BatchFailed extends DashboardError {}

export class JsonlTailer {
  private readonly path: string;
  private readonly fs: TailFs;
  private readonly reader: LineReader;
  private readonly pollMs: number;
  private readonly graceMs: number;
  private readonly retryMs: number;
  private readonly onBatch: TailerOptions['onBatch'];
  private readonly onEvent: TailerOptions['onEvent'];

  /** The file being read; null before the first open (then `resume` says where to start). */
  private cur: Source | null = null;
  private resume: Checkpoint | null;
  /** Another file is at the path: since when, and when the old one last grew. */
  private pendingSwitch: { since: number; lastGrowth: number } | null = null;
  /** Conditions reported once until they clear: 'missing', 'error:<code>'. */
  private readonly reported = new Set<string>();

  private stopped = true;
  private running: Promise<void> | null = null;
  private again = false;
  private failing = false;
  private timer: NodeJS.Timeout | null = null;
  private unwatch: (() => void) | null = null;
  private watchedDir: string | null = null;

  private isCaughtUp = false;
  private readSinceCaughtUp = false;
  private waiters: Array<() => void> = [];
  private pathSize = 0;
  private readonly counts = {
    lines: 0,
    batches: 0,
    lostBytes: 0,
    skipped: {} as Record<string, number>,
    rotations: { rename: 0, truncate: 0, replaced: 0 } as Record<RotationKind, number>,
  };

  constructor(o: TailerOptions) {
    this.path = o.path;
    this.fs = o.fs ?? nodeTailFs;
    this.reader = new LineReader({
      maxLineBytes: o.maxLineBytes ?? MiB,
      maxBatchBytes: o.maxBatchBytes ?? MiB,
    });
    this.pollMs = o.pollIntervalMs ?? 500;
    this.graceMs = o.rotationGraceMs ?? 2 * this.pollMs;
    this.retryMs = o.retryDelayMs ?? 1000;
    this.resume = o.start ?? null;
    this.onBatch = o.onBatch;
    this.onEvent = o.onEvent;
  }

  /** Starts following; resolves once the first look is under way (see `whenCaughtUp`). */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.kick();
  }

  /** Stops watching, polling and reading; resolves once the file handles are closed. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.closeWatch();
    await this.running;
    // A look that was in flight may have armed a watch after the first close.
    this.closeWatch();
    if (this.cur) {
      this.resume = checkpointOf(this.cur);
      await closeSource(this.cur);
      this.cur = null;
    }
    this.pendingSwitch = null;
  }

  /** Looks at the file now (a hint from elsewhere that it changed). */
  poke(): void {
    this.kick();
  }

  /** True when the last look reached the end of the file (or there is no file). */
  get caughtUp(): boolean {
    return this.isCaughtUp;
  }

  /** Resolves when the tailer has read everything there is (at once if it already has). */
  whenCaughtUp(): Promise<void> {
    if (this.isCaughtUp) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  stats(): TailerStats {
    const bytesRead = this.cur?.pos.offset ?? 0;
    return {
      path: this.path,
      bytesRead,
      fileSize: Math.max(this.pathSize, bytesRead),
      lines: this.counts.lines,
      skipped: { ...this.counts.skipped },
      rotations: { ...this.counts.rotations },
      lostBytes: this.counts.lostBytes,
      batches: this.counts.batches,
    };
  }

  // ── the loop: one look at a time; wake-ups during a look ask for another ──

  private kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.running = this.loop();
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      await this.lookSafely();
    } while (this.again && !this.failing && !this.stopped);
    this.running = null;
    if (!this.stopped) this.timer = setTimeout(() => this.kick(), this.nextDelay());
  }

  private nextDelay(): number {
    if (this.failing) return this.retryMs;
    const ps = this.pendingSwitch;
    if (!ps) return this.pollMs;
    return Math.max(5, Math.min(this.pollMs, ps.lastGrowth + this.graceMs - Date.now() + 1));
  }

  private async lookSafely(): Promise<void> {
    try {
      await this.look();
      this.failing = false;
      for (const key of this.reported)
        if (key.startsWith('error:') && !STICKY.has(key)) this.reported.delete(key);
    } catch (err) {
      this.failing = true;
      if (err instanceof BatchFailed) {
        this.reportOnce(`error:${err.code}`, err.code, err.message);
        return; // nothing was consumed: the same lines are offered again
      }
      const code = errnoCode(err) ?? (err instanceof DashboardError ? err.code : 'tail_failed');
      this.reportOnce(`error:${code}`, code, errorMessage(err));
      // Start over from the last consumed position: the next look finds the file again.
      if (this.cur) {
        this.resume = checkpointOf(this.cur);
        await closeSource(this.cur);
        this.cur = null;
      }
      this.pendingSwitch = null;
    }
  }

  /** One look: find the file, notice rotations, read what is new. */
  private async look(): Promise<void> {
    await this.ensureWatch();
    const st = await this.fs.stat(this.path);
    const atPath = st?.kind === 'file' ? st : null;
    this.noteAbsence(st);
    if (atPath) this.pathSize = atPath.size;

    if (!this.cur) {
      if (atPath) await this.openFirst(atPath);
      else if (this.resume) await this.adoptMovedCheckpoint();
      if (!this.cur) return this.setCaughtUp();
    }

    let cur: Source = this.cur;
    if (atPath && sameInode(atPath, cur.id)) {
      this.pendingSwitch = null;
      if (await this.wasTruncated(cur, atPath)) cur = await this.onTruncated(cur, atPath);
    }
    if (atPath && sameInode(atPath, cur.id)) {
      cur.origin = null; // it is the file at the path (again)
      await this.drain(cur);
      return this.setCaughtUp();
    }

    // The file we hold is no longer the one at the path: read it to its end first.
    const consumed = await this.drain(cur);
    if (this.stopped || !atPath) return this.setCaughtUp();
    if (!(await this.graceOver(cur, consumed))) {
      this.isCaughtUp = false;
      return;
    }
    await this.switchToPath();
    if (this.cur) await this.drain(this.cur);
    this.setCaughtUp();
  }

  // ── opening ──

  /** No file open yet and one is at the path: start at the checkpoint, wherever it now is. */
  private async openFirst(st: StatLike): Promise<void> {
    const opened = await openSource(this.fs, this.path);
    try {
      await this.startIn(opened, st);
    } catch (err) {
      if (this.cur !== opened) await closeSource(opened);
      throw err;
    }
  }

  private async startIn(opened: Source, st: StatLike): Promise<void> {
    const cp = this.resume;
    if (!cp) {
      this.cur = opened;
      return;
    }
    const samePlace = sameInode(st, cp) && st.size >= cp.offset;
    if (samePlace && (await checkHead(opened.handle, cp, st.size)).matches) {
      return this.resumeIn(opened, cp);
    }
    // Rotated while we were stopped: the checkpointed file under another name, or a copy.
    const moved = await findSibling(this.fs, this.path, cp, { minSize: cp.offset });
    if (moved?.match !== 'inode' && cp.fingerprintLen > 0 && !sameInode(st, cp) && st.size >= cp.offset) {
      // Same first bytes under new inodes: the data root was copied or restored. Carry on.
      if ((await checkHead(opened.handle, cp, st.size)).matches) {
        if (moved) await moved.handle.close().catch(() => undefined);
        return this.resumeIn(opened, cp);
      }
    }
    if (moved) {
      await closeSource(opened);
      const origin: RotationKind = moved.match === 'fingerprint' && sameInode(st, cp) ? 'truncate' : 'rename';
      const id = await identify(moved.handle, moved.stat);
      this.cur = adoptSource(
        moved.path,
        moved.handle,
        moved.stat,
        id,
        { offset: cp.offset, longLine: null },
        origin,
      );
      this.resume = null;
      return;
    }
    this.emit({
      kind: 'checkpoint_lost',
      path: this.path,
      reason: sameInode(st, cp)
        ? `${this.path} was truncated or rewritten and no copy was found beside it`
        : `no file in ${path.dirname(this.path)} has inode ${cp.ino} or the checkpointed first ${cp.fingerprintLen} bytes`,
    });
    this.cur = opened;
    this.resume = null;
  }

  private resumeIn(opened: Source, cp: Checkpoint): void {
    opened.pos = { offset: cp.offset, longLine: null };
    this.cur = opened;
    this.resume = null;
  }

  /** The path is missing: the checkpointed file may sit under its rotated name. */
  private async adoptMovedCheckpoint(): Promise<void> {
    const cp = this.resume;
    if (!cp) return;
    const moved = await findSibling(this.fs, this.path, cp, { minSize: cp.offset });
    if (!moved) return; // keep the checkpoint until the path appears
    const id = await identify(moved.handle, moved.stat);
    this.cur = adoptSource(
      moved.path,
      moved.handle,
      moved.stat,
      id,
      { offset: cp.offset, longLine: null },
      'rename',
    );
    this.resume = null;
  }

  // ── rotation ──

  /** Same inode at the path, but smaller than what was read, or it no longer starts the same. */
  private async wasTruncated(cur: Source, st: StatLike): Promise<boolean> {
    const seen = Math.max(cur.pos.offset, cur.pos.longLine?.scanned ?? 0);
    if (st.size < seen) return true;
    if (st.size === cur.size && st.mtimeMs === cur.mtimeMs) return false;
    const head = await checkHead(cur.handle, cur.id, st.size);
    if (!head.matches) return true;
    cur.id = head.grown;
    cur.size = st.size;
    cur.mtimeMs = st.mtimeMs;
    return false;
  }

  /**
   * Copytruncate: read what we had not read yet from the copy (a sibling with the same first
   * bytes), then the truncated file from byte 0. Without a copy, the unread tail is lost.
   */
  private async onTruncated(cur: Source, st: StatLike): Promise<Source> {
    const copy = await findSibling(this.fs, this.path, cur.id, { minSize: 0, copiesOnly: true });
    if (copy) {
      const id = await identify(copy.handle, copy.stat);
      const pos = { offset: cur.pos.offset, longLine: null };
      const fromCopy = adoptSource(copy.path, copy.handle, copy.stat, id, pos, 'truncate');
      await closeSource(cur);
      this.cur = fromCopy; // drained by look(), which then switches back to the path
      return fromCopy;
    }
    this.counts.lostBytes += Math.max(0, cur.size - cur.pos.offset);
    cur.pos = START;
    cur.id = await identify(cur.handle, st);
    cur.size = st.size;
    cur.mtimeMs = st.mtimeMs;
    this.counts.rotations.truncate += 1;
    this.emit({ kind: 'rotated', how: 'truncate', path: this.path });
    return cur;
  }

  /** Has the old file been quiet long enough to move on? (A copy is never written: at once.) */
  private async graceOver(old: Source, consumed: number): Promise<boolean> {
    if (old.origin === 'truncate') return true;
    const now = Date.now();
    this.pendingSwitch ??= { since: now, lastGrowth: now };
    const ps = this.pendingSwitch;
    const st = await old.handle.stat();
    // Still growing, or a half-written last line: the writer is not done with it.
    if (consumed > 0 || st.size !== old.size || st.size > old.pos.offset) ps.lastGrowth = now;
    old.size = st.size;
    return now - ps.lastGrowth >= this.graceMs || now - ps.since >= this.graceMs * GRACE_CAP_FACTOR;
  }

  /** Leave the drained old file (or copy) for the file now at the path, from byte 0. */
  private async switchToPath(): Promise<void> {
    const old = this.cur;
    if (!old) return;
    let how: RotationKind = 'truncate';
    let drained: string | null = old.path;
    if (old.origin !== 'truncate') {
      drained = await findByInode(this.fs, this.path, old.id);
      how = drained ? 'rename' : 'replaced';
    }
    this.counts.lostBytes += Math.max(0, old.size - old.pos.offset);
    await closeSource(old);
    this.cur = null;
    this.pendingSwitch = null;
    const next = await openSource(this.fs, this.path);
    this.cur = next;
    if (how === 'replaced' && (await this.continuesFrom(next, old))) {
      // Replaced by a copy of itself (copy, append, rename over): carry on where the old one ended.
      next.pos = { offset: old.pos.offset, longLine: null };
    }
    this.counts.rotations[how] += 1;
    this.emit(
      drained
        ? { kind: 'rotated', how, path: this.path, drained }
        : { kind: 'rotated', how, path: this.path },
    );
  }

  /** Does `next` start with the bytes `old` was identified by, and hold at least what was read? */
  private async continuesFrom(next: Source, old: Source): Promise<boolean> {
    if (old.id.fingerprintLen === 0 || next.size < old.pos.offset) return false;
    return (await checkHead(next.handle, old.id, next.size)).matches;
  }

  // ── reading ──

  /** Reads `src` to its end, batch by batch; returns the bytes consumed. */
  private async drain(src: Source): Promise<number> {
    let consumed = 0;
    while (!this.stopped) {
      const r = await this.reader.read(src.handle, src.pos);
      if (this.stopped) break;
      const n = r.next.offset - src.pos.offset;
      if (n > 0 || r.skipped.length > 0) {
        const batch: TailBatch = {
          lines: r.lines,
          skipped: r.skipped,
          checkpoint: { ...src.id, offset: r.next.offset },
        };
        try {
          await this.onBatch(batch);
        } catch (err) {
          throw new BatchFailed(
            'batch_failed',
            `onBatch failed: ${errorMessage(err)}`,
            { path: this.path },
            { cause: err },
          );
        }
        this.counts.batches += 1;
        this.counts.lines += r.lines.length;
        for (const s of r.skipped) this.counts.skipped[s.reason] = (this.counts.skipped[s.reason] ?? 0) + 1;
        this.readSinceCaughtUp = true;
        if (!r.eof) this.isCaughtUp = false;
      }
      src.pos = r.next;
      consumed += n;
      if (r.eof) break;
    }
    return consumed;
  }

  private setCaughtUp(): void {
    if (this.stopped) return; // a look cut short by stop() has not reached the end
    const announce = !this.isCaughtUp || this.readSinceCaughtUp;
    this.isCaughtUp = true;
    this.readSinceCaughtUp = false;
    if (announce) this.emit({ kind: 'caught_up', path: this.path });
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  // ── watching and reporting ──

  /** Watch the folder; again when it was replaced (a watch follows the old folder's inode). */
  private async ensureWatch(): Promise<void> {
    if (!this.fs.watchDir) return;
    const dir = path.dirname(this.path);
    const st = await this.fs.stat(dir);
    const key = st?.kind === 'directory' ? `${st.dev}:${st.ino}` : null;
    if (this.stopped || key === this.watchedDir) return;
    this.closeWatch();
    if (!key) return;
    try {
      this.unwatch = this.fs.watchDir(
        dir,
        () => this.kick(),
        () => {
          this.unwatch = null;
          this.watchedDir = null;
          this.kick();
        },
      );
      this.watchedDir = key;
      this.reported.delete('error:watch_failed');
    } catch (err) {
      // Polling still covers it.
      this.reportOnce('error:watch_failed', 'watch_failed', `cannot watch ${dir}: ${errorMessage(err)}`);
    }
  }

  private closeWatch(): void {
    this.unwatch?.();
    this.unwatch = null;
    this.watchedDir = null;
  }

  private noteAbsence(st: StatLike | null): void {
    if (st?.kind === 'file') {
      this.reported.delete('error:not_a_file');
      if (this.reported.delete('missing')) this.emit({ kind: 'appeared', path: this.path });
      return;
    }
    if (!st) {
      if (!this.reported.has('missing')) {
        this.reported.add('missing');
        this.emit({ kind: 'missing', path: this.path });
      }
      return;
    }
    this.reportOnce('error:not_a_file', 'not_a_file', `${this.path} is a ${st.kind}, not a regular file`);
  }

  private reportOnce(key: string, code: string, message: string): void {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.emit({ kind: 'error', path: this.path, code, message });
  }

  private emit(e: TailerEvent): void {
    try {
      this.onEvent?.(e);
    } catch {
      // A listener's bug must not stop the tailer.
    }
  }
}
