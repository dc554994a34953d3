/**
 * Follows one append-only JSONL file through rotations and hands complete lines to a consumer,
 * each batch with the checkpoint that covers it. Wakes on a watch of the file's FOLDER (a watch of
 * the file goes silent once a rename replaces it) and on a polling backstop.
 *
 * Fixes the old feeder's tailing defects (DESIGN §4): a rotated file is drained before the new one
 * is read from byte 0 (1); a half-written line waits for its '\n' (2); copytruncate is detected
 * and its copy drained (3); a file that appears late is read from byte 0 (4); lines split on '\n'
 * only (7).
 *
 * While a renamed file is drained, the file that replaced it at the path is already held open and
 * its first bytes watched (it is "queued"), so that a copytruncate of it before we get to it sends
 * us to the copy first instead of losing those lines.
 *
 * A file last seen empty (or holding part of a line) has first bytes that any refill matches: a
 * copytruncate of it between two looks is found by time instead (`takeUnseenCopies`).
 */
import path from 'node:path';
import { DashboardError, errnoCode, errorMessage } from '../../util/errors.js';
import { blankIdentity, checkHead, fileKey, identifiesContent, identify, sameInode } from './fingerprint.js';
import { nodeTailFs, type StatLike, type TailFs } from './fs.js';
import { findByInode, findSibling } from './locate.js';
import { LineReader, START } from './reader.js';
import {
  inspectGzAt,
  newerThan,
  numberingKnown,
  oldestFirst,
  type RotatedSibling,
  rotatedSiblings,
} from './siblings.js';
import { adoptSource, closeSource, openSource, type Source } from './source.js';
import type {
  Checkpoint,
  FileIdentity,
  PendingFile,
  RotationKind,
  TailBatch,
  TailerEvent,
  TailerStats,
} from './types.js';

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
  /** Give each batch the file's stable key (`TailBatch.fileKey`; one 1 KiB read per file). @default false */
  fileKeys?: boolean;
}

const MiB = 1024 * 1024;
/** A writer that never stops writing to the renamed file does not hold the new one back forever. */
const GRACE_CAP_FACTOR = 10;
/** How many finished rotated files are remembered (logrotate keeps fewer; older ones are long quiet). */
const FINISHED_KEPT = 64;

/** A file as a look saw it. */
interface Seen {
  id: FileIdentity;
  size: number;
  mtimeMs: number;
}

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
  private readonly fileKeys: boolean;

  /** The file being read; null before the first open (then `resume` says where to start). */
  private cur: Source | null = null;
  private resume: Checkpoint | null;
  /**
   * Files to read after `cur`, each from byte 0, in order: the file a rename put at the path (held
   * from the moment it was seen, last) and copies copytruncate made of it meanwhile (before it).
   */
  private queue: Source[] = [];
  /** Another file is at the path: since when, and when the old one last grew. */
  private pendingSwitch: { since: number; lastGrowth: number } | null = null;
  /** Set by `drain` when the file it read was truncated between two batches. */
  private drainInterrupted = false;
  /**
   * The rotated files read to their end (the latest FINISHED_KEPT): `unseenCopies` must never take
   * one for a copy made since, however recently it was written (a writer late to reopen).
   */
  private readonly finished: FileIdentity[] = [];
  /**
   * The newest mtime of the rotated files the first look found: those were there before this
   * process looked (read before a restart, or history), never copies made since. null until then.
   */
  private historyUpToMs: number | null = null;
  /** Conditions reported once until they clear: 'missing', 'error:<code>'. */
  private readonly reported = new Set<string>();

  private stopped = true;
  private running: Promise<void> | null = null;
  private again = false;
  private failing = false;
  private timer: NodeJS.Timeout | null = null;
  private unwatch: (() => void) | null = null;
  private watchedDir: string | null = null;
  /** When the folder was last looked at for being replaced (ensureWatch), ms since the epoch. */
  private dirCheckedAt = Number.NEGATIVE_INFINITY;
  private readonly base: string;

  private isCaughtUp = false;
  private readSinceCaughtUp = false;
  private waiters: Array<() => void> = [];
  private pathSize = 0;
  private readonly counts = {
    lines: 0,
    batches: 0,
    lostBytes: 0,
    checkpointsLost: 0,
    compressedSkipped: 0,
    skipped: {} as Record<string, number>,
    rotations: { rename: 0, truncate: 0, replaced: 0 } as Record<RotationKind, number>,
  };

  constructor(o: TailerOptions) {
    this.path = o.path;
    this.base = path.basename(o.path);
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
    this.fileKeys = o.fileKeys ?? false;
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
    await this.closeAll();
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
      checkpointsLost: this.counts.checkpointsLost,
      compressedSkipped: this.counts.compressedSkipped,
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
      // Start over from the last consumed position: the next look finds the files again.
      await this.closeAll();
    }
  }

  /** Closes every file, keeping where to resume (the queued files included). */
  private async closeAll(): Promise<void> {
    if (this.cur) {
      this.resume = this.checkpointAt(this.cur, this.cur.pos.offset);
      await closeSource(this.cur);
      this.cur = null;
    }
    for (const q of this.queue.splice(0)) await closeSource(q);
    this.pendingSwitch = null;
  }

  /** The checkpoint after `offset` in `src`, naming the queued files still to read after it. */
  private checkpointAt(src: Source, offset: number): Checkpoint {
    const cp: Checkpoint = { ...src.id, offset };
    if (this.queue.length > 0) cp.pending = this.queue.map(pendingOf);
    return cp;
  }

  /** One look: find the file, notice rotations, read what is new. */
  private async look(): Promise<void> {
    await this.ensureWatch();
    if (this.historyUpToMs === null) {
      const there = await rotatedSiblings(this.fs, this.path);
      this.historyUpToMs = Math.max(Number.NEGATIVE_INFINITY, ...there.map((s) => s.stat.mtimeMs));
    }
    // Each pass either ends the look or leaves one file behind (a drained one, or a truncated
    // file for its copy), so this ends.
    while (!this.stopped) {
      const st = await this.fs.stat(this.path);
      const atPath = st?.kind === 'file' ? st : null;
      this.noteAbsence(st);
      if (atPath) this.pathSize = atPath.size;

      if (!this.cur) {
        if (atPath) await this.openFirst(atPath);
        else if (this.resume) await this.adoptMovedCheckpoint();
        if (!this.cur) return this.setCaughtUp();
      }

      const cur: Source = this.cur;
      if (atPath && sameInode(atPath, cur.id)) {
        this.pendingSwitch = null;
        await this.dropQueue();
        const seen = this.unidentified(cur);
        if (await this.wasTruncated(cur, atPath)) {
          await this.onTruncated(cur);
          continue;
        }
        // Changed since a look that could not tell its content: copied away and truncated since?
        // Searched after wasTruncated read its first bytes, so a copy truncated before is listed.
        const changed = seen !== null && (cur.size !== seen.size || cur.mtimeMs !== seen.mtimeMs);
        if (changed && (await this.takeUnseenCopies(cur, seen))) continue;
        cur.origin = null; // it is the file at the path (again)
        await this.drain(cur, true);
        if (this.drainInterrupted) {
          this.drainInterrupted = false;
          continue; // truncated while being read: the next pass takes its copy
        }
        return this.setCaughtUp();
      }

      // The file we hold is no longer the one at the path: hold the one there now (so that its
      // first bytes are known should it be copytruncated meanwhile), and read ours to its end first.
      if (atPath) await this.track(atPath);
      const consumed = await this.drain(cur);
      if (this.stopped) return;
      if (this.drainInterrupted) {
        this.drainInterrupted = false;
        continue; // back at the path (renamed back) and truncated meanwhile
      }
      if (!atPath && this.queue.length === 0) return this.setCaughtUp();
      if (!(await this.graceOver(cur, consumed))) {
        this.isCaughtUp = false;
        return;
      }
      await this.moveOn(cur);
    }
  }

  // ── opening ──

  /** No file open yet and one is at the path: start at the checkpoint, wherever it now is. */
  private async openFirst(st: StatLike): Promise<void> {
    const cp = this.resume;
    const opened = await openSource(this.fs, this.path);
    try {
      await this.startIn(opened, st);
    } catch (err) {
      await this.abandonStart(cp, opened);
      throw err;
    }
  }

  /** Starting failed part-way: close what was opened and keep the checkpoint for the next try. */
  private async abandonStart(cp: Checkpoint | null, opened?: Source): Promise<void> {
    for (const s of new Set([opened, this.cur, ...this.queue.splice(0)])) if (s) await closeSource(s);
    this.cur = null;
    this.resume = cp;
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
      let id: FileIdentity;
      try {
        id = await identify(moved.handle, moved.stat);
      } catch (err) {
        await moved.handle.close().catch(() => undefined);
        throw err;
      }
      const pos = { offset: cp.offset, longLine: null };
      this.cur = adoptSource(moved.path, moved.handle, moved.stat, id, pos, origin);
      await this.restorePending(cp.pending);
      await this.queueRotatedAfterKnown(moved.path);
      this.resume = null;
      return;
    }
    await this.resumeAfterLost(cp, sameInode(st, cp));
    this.resume = null;
    const first = this.queue.shift();
    if (first) await closeSource(opened);
    this.cur = first ?? opened;
  }

  private resumeIn(opened: Source, cp: Checkpoint): void {
    // Its `pending` files cannot follow the file at the path (they were queued behind a renamed one).
    opened.pos = { offset: cp.offset, longLine: null };
    this.cur = opened;
    this.resume = null;
  }

  /** The path is missing: the checkpointed file may sit under its rotated name. */
  private async adoptMovedCheckpoint(): Promise<void> {
    const cp = this.resume;
    if (!cp) return;
    const moved = await findSibling(this.fs, this.path, cp, { minSize: cp.offset });
    if (!moved) return this.startInRotatedAfterLost(cp);
    try {
      const id = await identify(moved.handle, moved.stat);
      const pos = { offset: cp.offset, longLine: null };
      this.cur = adoptSource(moved.path, moved.handle, moved.stat, id, pos, 'rename');
      await this.restorePending(cp.pending);
      await this.queueRotatedAfterKnown(moved.path);
    } catch (err) {
      if (!this.cur) await moved.handle.close().catch(() => undefined);
      await this.abandonStart(cp);
      throw err;
    }
    this.resume = null;
  }

  /**
   * The path is missing and the checkpointed file is nowhere: read the rotated files left, if any
   * (else keep the checkpoint until the path appears: it may be the file coming back).
   */
  private async startInRotatedAfterLost(cp: Checkpoint): Promise<void> {
    if ((await rotatedSiblings(this.fs, this.path)).length === 0) return;
    try {
      await this.resumeAfterLost(cp, false);
      this.cur = this.queue.shift() ?? null;
    } catch (err) {
      await this.abandonStart(cp);
      throw err;
    }
    this.resume = null;
  }

  /**
   * The checkpointed file is not found uncompressed. When it is a compressed sibling (`.N.gz`, by
   * its first bytes), what it held past the checkpoint is reported, else it is reported lost. Then
   * the files queued after it are: its `pending` ones, and the rotated files newer than the newest
   * of those — or, without any, newer than the compressed file, or else every rotated file left
   * (logrotate deletes the oldest first, so they all came after it).
   */
  private async resumeAfterLost(cp: Checkpoint, truncatedAtPath: boolean): Promise<void> {
    const siblings = await rotatedSiblings(this.fs, this.path);
    const inGz = await this.findInCompressed(siblings, cp);
    if (inGz) {
      this.reportCompressed(inGz.sibling.path, inGz.size === null ? null : inGz.size - cp.offset);
    } else {
      const what = truncatedAtPath
        ? `${this.path} was truncated or rewritten and no copy of it was found beside it`
        : `no file in ${path.dirname(this.path)} has inode ${cp.ino} or the checkpointed first ${cp.fingerprintLen} bytes`;
      this.counts.checkpointsLost += 1;
      this.emit({
        kind: 'checkpoint_lost',
        path: this.path,
        offset: cp.offset,
        unreadBytes: null,
        reason:
          `${what}, compressed or not: it had been read up to byte ${cp.offset}; how much was ` +
          'written to it after that is unknown. Reading on with the rotated files beside it ' +
          '(oldest first), then the file at the path from byte 0',
      });
    }
    // What was queued behind the lost file may still be there: read it before the path from 0.
    await this.restorePending(cp.pending);
    const newest = this.newestQueuedSibling();
    if (newest) await this.queueRotatedAfter(newest);
    else if (this.queue.length === 0) await this.queueSiblings(siblings, inGz?.sibling ?? null);
  }

  /** The compressed sibling that starts like the checkpointed file (the newest, if several). */
  private async findInCompressed(
    siblings: readonly RotatedSibling[],
    cp: Checkpoint,
  ): Promise<{ sibling: RotatedSibling; size: number | null } | null> {
    if (cp.fingerprintLen === 0) return null;
    for (const s of [...siblings].reverse()) {
      if (!s.gz) continue;
      const info = await inspectGzAt(this.fs, s.path, s.stat.size, cp);
      if (info.matches && (info.size === null || info.size >= cp.offset))
        return { sibling: s, size: info.size };
    }
    return null;
  }

  /**
   * After the checkpointed file (now at `moved`) and its `pending` ones were found again: queues
   * the rotated files newer than the newest of them. That is the newest rotated file queued — a
   * `pending` one, or the copy a copytruncate made of the queued file at the path while we were
   * stopped (it is queued before that file). The file at the path, queued last and unchanged, is
   * no anchor: nothing rotated came after it. Taking it for one when it had been copytruncated
   * again and again while stopped queued none of the copies: a restart amid fast copytruncate
   * rotations read the first copy, then skipped to the newest ones (a review lost 2,000 of 6,000
   * lines so, silently).
   */
  private async queueRotatedAfterKnown(moved: string): Promise<void> {
    const sibling = this.newestQueuedSibling();
    const anchor = sibling ?? (this.queue.length === 0 ? moved : null);
    if (anchor === null) return;
    const siblings = await rotatedSiblings(this.fs, this.path);
    // Behind a queued path file only when the mtimes tell the numbering: with every rotated file
    // written at one time (a restored folder), logrotate's is assumed, and files read long ago
    // would be taken for newer ones (a review read them again so). Then as before: none.
    if (sibling !== null && this.queue.at(-1)?.path === this.path && !numberingKnown(siblings)) return;
    await this.queueRotatedAfter(anchor, siblings);
  }

  /** The newest rotated file queued, by path (the file at the path aside); null when none is. */
  private newestQueuedSibling(): string | null {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const q = this.queue[i] as Source;
      if (q.path !== this.path) return q.path;
    }
    return null;
  }

  /**
   * Queues the rotated files newer than `found`: the newest file the checkpoint knew (the last of
   * its `pending` files, or its own file), now found there. Only the numbering orders them: nothing
   * is newer than the file at the path, and a file under another name queues nothing.
   */
  private async queueRotatedAfter(
    found: string,
    siblings: readonly RotatedSibling[] | null = null,
  ): Promise<void> {
    siblings ??= await rotatedSiblings(this.fs, this.path);
    const at = siblings.find((s) => s.path === found);
    if (at) await this.queueSiblings(siblings, at);
  }

  /**
   * Queues the rotated files newer than `anchor` (all when it is lost), oldest first, each from
   * byte 0 and before the file at the path; compressed ones are reported instead. Files already
   * held (restored from the checkpoint's `pending`) take their place in that order.
   */
  private async queueSiblings(
    siblings: readonly RotatedSibling[],
    anchor: RotatedSibling | null,
  ): Promise<void> {
    for (const s of newerThan(siblings, anchor)) {
      if (this.held().some((h) => sameInode(h.id, s.stat))) continue;
      if (s.gz) {
        this.reportCompressed(s.path, (await inspectGzAt(this.fs, s.path, s.stat.size, null)).size);
        continue;
      }
      const src = await openSource(this.fs, s.path).catch((err: unknown) => {
        if (errnoCode(err) === 'ENOENT') return null; // rotated away meanwhile: the next look sees it
        throw err;
      });
      if (!src) continue;
      if (this.held().some((h) => sameInode(h.id, src.id))) await closeSource(src);
      else this.queue.push(src);
    }
    this.queue = oldestFirst(this.queue, siblings);
  }

  private reportCompressed(file: string, unreadBytes: number | null): void {
    const unread = unreadBytes === null ? null : Math.max(0, unreadBytes);
    this.counts.compressedSkipped += 1;
    this.counts.lostBytes += unread ?? 0;
    this.emit({ kind: 'compressed_skipped', path: this.path, file, unreadBytes: unread });
  }

  /**
   * Finds again, in order, the files a checkpoint queued after its own (`Checkpoint.pending`): the
   * one at the path is looked at again as a queued file (a copytruncate since queues its copy), the
   * others are found beside it by inode or first bytes.
   */
  private async restorePending(entries: readonly PendingFile[] | undefined): Promise<void> {
    for (const p of entries ?? []) {
      if (this.held().some((s) => sameInode(s.id, p))) continue;
      const atPath = p.copy ? null : await this.fs.stat(this.path);
      if (atPath?.kind === 'file' && sameInode(atPath, p)) {
        const src = await this.openAtPath();
        if (src && sameInode(src.id, p)) {
          // As it was when the checkpoint was taken, so that a truncate since then is noticed.
          src.id = identityOf(p);
          src.size = p.size;
          src.mtimeMs = Number.NaN;
          this.queue.push(src);
          await this.recheckQueued(src);
          continue;
        }
        if (src) await closeSource(src);
      }
      const exclude = this.held().map((s) => s.id);
      const found = await findSibling(this.fs, this.path, p, { minSize: p.size, exclude });
      if (found) {
        const origin = p.copy ? 'truncate' : null;
        // Found by its first bytes under another inode: a copy (copytruncate made it while we were
        // stopped). It is held as itself: under the queued file's inode it hid that file — the
        // truncated one, now renamed beside it — which was then never read, and a checkpoint
        // taken in the copy named that other file (a review lost a rotated file so).
        const id = sameInode(found.stat, p) ? identityOf(p) : await identify(found.handle, found.stat);
        this.queue.push(adoptSource(found.path, found.handle, found.stat, id, START, origin));
        continue;
      }
      this.counts.lostBytes += p.size;
      this.counts.checkpointsLost += 1;
      this.emit({
        kind: 'checkpoint_lost',
        path: this.path,
        offset: 0,
        unreadBytes: p.size,
        reason: `the file queued after the checkpointed one (inode ${p.ino}, ${p.size} bytes) was found nowhere: none of it was read`,
      });
    }
  }

  /** The file at the path from byte 0; null when it went away meanwhile. */
  private async openAtPath(): Promise<Source | null> {
    try {
      return await openSource(this.fs, this.path);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return null;
      throw err;
    }
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
   * bytes), then the truncated file — kept open and queued behind the copy — from byte 0. Without
   * a copy, the unread tail is lost.
   */
  private async onTruncated(cur: Source): Promise<void> {
    const copy = await this.findCopy(cur.id, cur.pos.offset);
    const unread = Math.max(0, cur.size - cur.pos.offset);
    const readUpTo = cur.pos.offset;
    cur.pos = START;
    // As it is now, not as the look's stat saw it: that stat may predate the truncate, and a size
    // from before it made the next look take the refilled file for truncated again and count the
    // whole copy as lost (a review saw lost bytes = the copy's size for no line lost).
    const now = await cur.handle.stat();
    cur.id = await identify(cur.handle, now);
    cur.size = now.size;
    cur.mtimeMs = now.mtimeMs;
    if (copy) {
      copy.pos = { offset: readUpTo, longLine: null };
      this.cur = copy; // drained by look(), which then moves on to the truncated file
      this.queue.push(cur);
      return;
    }
    this.counts.lostBytes += unread;
    this.counts.rotations.truncate += 1;
    this.emit({ kind: 'rotated', how: 'truncate', path: this.path });
  }

  /**
   * Holds the file now at the path from the moment it is seen, queued behind `cur` (or looks again
   * at the one already held). Its first bytes are what finds its copy should it be copytruncated
   * before we get to it.
   */
  private async track(atPath: StatLike): Promise<void> {
    const last = this.queue.at(-1);
    if (last && sameInode(last.id, atPath)) return this.recheckQueued(last);
    if (this.held().some((s) => sameInode(s.id, atPath))) return;
    // Gone again, or unreadable: the next look sees what came instead, and an unreadable file is
    // reported when it is its turn — it must not keep the renamed file from being drained.
    const next = await this.openAtPath().catch(() => null);
    if (!next) return;
    if (this.held().some((s) => sameInode(s.id, next.id))) return closeSource(next);
    this.queue.push(next);
  }

  /**
   * Looks again at a queued file not read yet: grows its fingerprint; when it was truncated since
   * the last look (smaller, or no longer starting with the same bytes), queues copytruncate's copy
   * of it just before it — or, without a copy, counts what it held as lost — and identifies it anew.
   *
   * A file last seen empty (or holding part of a line) shows no sign of a copytruncate (its size
   * never goes below one seen, its first bytes match anything): its copies are looked for by time
   * (`takeUnseenCopies`) once its first bytes were read again.
   */
  private async recheckQueued(q: Source): Promise<void> {
    if (q.origin === 'truncate') return; // a copy is never written
    const st = await q.handle.stat();
    if (st.size === q.size && st.mtimeMs === q.mtimeMs) return;
    const seen = this.unidentified(q);
    if (st.size >= q.size) {
      const head = await checkHead(q.handle, q.id, st.size);
      if (head.matches) {
        q.id = head.grown;
        q.size = st.size;
        q.mtimeMs = st.mtimeMs;
        if (seen) await this.takeUnseenCopies(q, seen);
        return;
      }
    }
    const copy = await this.findCopy(q.id, q.size);
    if (copy) {
      this.queue.splice(Math.max(0, this.queue.indexOf(q)), 0, copy);
    } else {
      this.counts.lostBytes += q.size;
      this.counts.rotations.truncate += 1;
      this.emit({ kind: 'rotated', how: 'truncate', path: this.path });
    }
    q.id = await identify(q.handle, st);
    q.size = st.size;
    q.mtimeMs = st.mtimeMs;
  }

  /**
   * `src` as the last look saw it, when that look could not tell its content from a later one's:
   * nothing of it handed on, and its first bytes hold no whole line (mostly: it was empty). null
   * otherwise: then a copytruncate shows in it (smaller, or starting otherwise) and `findCopy`
   * finds the copy by its first bytes.
   */
  private unidentified(src: Source): Seen | null {
    if (src.pos.offset > 0 || src.pos.longLine || identifiesContent(src.id)) return null;
    return { id: src.id, size: src.size, mtimeMs: src.mtimeMs };
  }

  /**
   * Queues before `src` (the file at the path, or one queued; `seen` by a look that could not tell
   * its content) the copies copytruncate made of it since, oldest first; `src` is read from byte 0
   * after them. True when there were any. Call it once `src`'s first bytes were read again (or its
   * first lines), so that a copy truncated away before that read is listed.
   *
   * Its first bytes (none, or part of a line every record starts with) match the file refilled
   * after a truncate, and its size need not go below one seen, so lines written, copied away and
   * truncated between two looks leave no sign in it: the copy was never read (a reproducer of two
   * copytruncates 2 s apart lost 50 lines so in 5 to 8 runs of 8). Its copies are told by time.
   */
  private async takeUnseenCopies(src: Source, seen: Seen): Promise<boolean> {
    const [first, ...rest] = await this.unseenCopies(src, seen);
    if (!first) return false;
    if (src === this.cur) {
      this.cur = first;
      this.queue.unshift(...rest, src);
    } else {
      this.queue.splice(Math.max(0, this.queue.indexOf(src)), 0, first, ...rest);
    }
    // Nothing of it is known now: what was seen of it may be in those copies (seen before the
    // truncate), and kept, the next look would take it for truncated and count those bytes lost
    // (a first form of this fix counted a 50-line copy so). Its next look reads its first bytes
    // again and looks for copies made since `seen` (those taken here are held, then finished).
    src.id = blankIdentity(src.id);
    src.size = 0;
    src.mtimeMs = seen.mtimeMs;
    return true;
  }

  /**
   * The rotated files (`<name>.N`, the names copytruncate gives) that are copies of `src` made
   * after the look that `seen` it, opened: last written since (the lines went to `src` after that
   * look, the copy was made after them) and after the first look, neither held nor finished (so
   * none is read twice), starting with what `src` held then.
   */
  private async unseenCopies(src: Source, seen: Seen): Promise<Source[]> {
    const history = this.historyUpToMs ?? Number.POSITIVE_INFINITY;
    const copies: Source[] = [];
    try {
      for (const s of await rotatedSiblings(this.fs, this.path)) {
        // At or after: coarse timestamps give a copy made just after a look the time that look
        // saw (a copy read before, made at that time too, is finished). NaN (unknown) finds none.
        const recent = s.stat.mtimeMs >= seen.mtimeMs && s.stat.mtimeMs > history;
        if (s.gz || s.stat.size === 0 || !recent) continue;
        if (this.held().some((h) => sameInode(h.id, s.stat))) continue;
        const c = await openSource(this.fs, s.path, START, 'truncate').catch((err: unknown) => {
          if (errnoCode(err) === 'ENOENT') return null; // rotated away meanwhile: the next look sees it
          throw err;
        });
        if (!c) continue;
        copies.push(c);
        if (!(await this.isUnseenCopy(c, src, seen))) await closeSource(copies.pop() as Source);
      }
    } catch (err) {
      for (const c of copies) await closeSource(c);
      throw err;
    }
    return copies;
  }

  /**
   * Does `c` start with what `src` held when `seen`, while `src` no longer starts with `c` (else
   * it was copied, not truncated: logrotate's `copy`), and is it no file finished?
   */
  private async isUnseenCopy(c: Source, src: Source, seen: Seen): Promise<boolean> {
    if (!(await checkHead(c.handle, seen.id, c.size)).matches) return false;
    if ((await checkHead(src.handle, c.id, c.id.fingerprintLen)).matches) return false;
    for (const f of this.finished) {
      // Same inode and first bytes: that file, written to again; a new copy may reuse the inode.
      if (sameInode(f, c.id) && (await checkHead(c.handle, f, c.size)).matches) return false;
    }
    return true;
  }

  /** Copytruncate's copy of the file `id` names: same first bytes, another inode, not held yet. */
  private async findCopy(id: FileIdentity, minSize: number): Promise<Source | null> {
    const exclude = this.held().map((s) => s.id);
    const copy = await findSibling(this.fs, this.path, id, { minSize, copiesOnly: true, exclude });
    if (!copy) return null;
    try {
      const copyId = await identify(copy.handle, copy.stat);
      return adoptSource(copy.path, copy.handle, copy.stat, copyId, START, 'truncate');
    } catch (err) {
      await copy.handle.close().catch(() => undefined);
      throw err;
    }
  }

  /** Files queued behind the file at the path cannot come after it (it was renamed back): lost. */
  private async dropQueue(): Promise<void> {
    for (const q of this.queue.splice(0)) {
      this.counts.lostBytes += q.size;
      await closeSource(q);
    }
  }

  /** Every file held open: the one being read and those queued behind it. */
  private held(): Source[] {
    return this.cur ? [this.cur, ...this.queue] : [...this.queue];
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

  /** Leave the drained old file (or copy) for the next queued one, or the file at the path from 0. */
  private async moveOn(old: Source): Promise<void> {
    let how: RotationKind = 'truncate';
    let drained: string | null = old.path;
    if (old.origin !== 'truncate') {
      drained = await findByInode(this.fs, this.path, old.id);
      how = drained ? 'rename' : 'replaced';
    }
    this.counts.lostBytes += Math.max(0, old.size - old.pos.offset);
    this.finished.push(identityOf(old.id));
    if (this.finished.length > FINISHED_KEPT) this.finished.shift();
    await closeSource(old);
    this.cur = null;
    this.pendingSwitch = null;
    const next = this.queue.shift() ?? (await this.openAtPath());
    this.cur = next;
    if (next && how === 'replaced' && next.origin !== 'truncate' && (await this.continuesFrom(next, old))) {
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
    const { size } = await next.handle.stat();
    if (old.id.fingerprintLen === 0 || size < old.pos.offset) return false;
    return (await checkHead(next.handle, old.id, size)).matches;
  }

  // ── reading ──

  /**
   * Reads `src` to its end, batch by batch; returns the bytes consumed. `atPath`: `src` is the file
   * at the path, which a copytruncate may empty and refill at any moment.
   */
  private async drain(src: Source, atPath = false): Promise<number> {
    let consumed = 0;
    while (!this.stopped) {
      const r = await this.reader.read(src.handle, src.pos, src.size);
      if (this.stopped) break;
      const n = r.next.offset - src.pos.offset;
      if (n > 0 || r.skipped.length > 0) {
        // Does the file still start with the bytes the look checked? A copytruncate between that
        // check and this read, the writer going on at byte 0 past our offset, gave us the NEW
        // file's bytes at the old offset: handed on, they doubled its head, and the copy was then
        // read from past them (a review lost the first 21 lines of a rotated batch so, silently).
        // Nothing is consumed: the next pass sees the truncate and takes the copy from here.
        const head = atPath ? await checkHead(src.handle, src.id, r.next.offset) : null;
        if (head && !head.matches) {
          src.mtimeMs = Number.NaN; // the next look checks the first bytes again
          this.drainInterrupted = true;
          break;
        }
        // The first lines of a file last seen with none: copied away and truncated (then refilled)
        // since that look? Those lines come first: nothing of this file is handed on yet.
        const seen = head ? this.unidentified(src) : null;
        if (seen && (await this.takeUnseenCopies(src, seen))) {
          this.drainInterrupted = true;
          break;
        }
        if (head) src.id = head.grown; // covers what was just read (a file identified empty)
        const batch: TailBatch = {
          lines: r.lines,
          skipped: r.skipped,
          checkpoint: this.checkpointAt(src, r.next.offset),
          startOffset: src.pos.offset,
        };
        if (this.fileKeys && n > 0) {
          src.key ??= await fileKey(src.handle, src.id, r.next.offset);
          batch.fileKey = src.key;
        }
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
      // A slow consumer (the catalog writer) spends most of a look in onBatch: a rotation meanwhile
      // must be noticed now, before its window closes, not once this file is read to its end.
      if (await this.rotatedWhileDraining(src)) {
        this.drainInterrupted = true;
        break;
      }
    }
    return consumed;
  }

  /**
   * Between two batches: has the path changed? A new file there is held at once (its first bytes
   * known should it be copytruncated too), a held one rechecked. True when `src`, still the file
   * at the path, was truncated (copytruncate, possibly refilled past where we read): reading on at
   * the old offset would skip its copy's tail and the new head, so the look starts over and takes
   * the copy first.
   */
  private async rotatedWhileDraining(src: Source): Promise<boolean> {
    const st = await this.fs.stat(this.path);
    const atPath = st?.kind === 'file' ? st : null;
    if (atPath && sameInode(atPath, src.id))
      return src.origin !== 'truncate' && this.wasTruncated(src, atPath);
    if (atPath) await this.track(atPath);
    const last = this.queue.at(-1);
    if (last) await this.recheckQueued(last);
    return false;
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

  /**
   * Watch the folder; again when it was replaced (a watch follows the old folder's inode). Once a
   * watch runs, the folder is looked at again at most once per poll interval, as the polling
   * backstop would: a look woken by the watch needs no stat of the folder (a replaced folder's
   * changes never wake the old watch, so it is the polling that finds it either way).
   */
  private async ensureWatch(): Promise<void> {
    if (!this.fs.watchDir) return;
    const now = Date.now();
    if (this.unwatch && now - this.dirCheckedAt < this.pollMs) return;
    this.dirCheckedAt = now;
    const dir = path.dirname(this.path);
    const st = await this.fs.stat(dir);
    const key = st?.kind === 'directory' ? `${st.dev}:${st.ino}` : null;
    if (this.stopped || key === this.watchedDir) return;
    this.closeWatch();
    if (!key) return;
    try {
      this.unwatch = this.fs.watchDir(
        dir,
        (name) => {
          if (this.concerns(name)) this.kick();
        },
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

  /**
   * Whether a change in the folder can matter to this tailer. While it simply follows the file at
   * the path (nothing queued, no rotation under way, no failure to retry), only a change of that
   * name can: the other files of the folder (the other source, rotated and copied files) are
   * looked at when the path itself changes. Otherwise, and when the platform gives no name, every
   * change wakes it.
   */
  private concerns(name: string | null): boolean {
    if (name === null || name === this.base) return true;
    const following = this.cur !== null && this.cur.origin === null && this.queue.length === 0;
    return !(following && this.pendingSwitch === null && this.isCaughtUp && !this.failing);
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

/** How a queued file goes into a checkpoint. */
function pendingOf(q: Source): PendingFile {
  const p: PendingFile = { ...q.id, size: q.size };
  if (q.origin === 'truncate') p.copy = true;
  return p;
}

function identityOf(id: FileIdentity): FileIdentity {
  return { dev: id.dev, ino: id.ino, fingerprint: id.fingerprint, fingerprintLen: id.fingerprintLen };
}
