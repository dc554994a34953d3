/**
 * Test fixture (tests only): a temp folder holding a tailed file, the moves a log writer and
 * logrotate make on it, and a tailer whose output the test can wait on — by event, never by sleep.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { onTestFinished } from 'vitest';
import { JsonlTailer, type TailerOptions } from '../../src/feeders/tail/tailer.js';
import type { Checkpoint, TailBatch, TailerEvent } from '../../src/feeders/tail/types.js';
import { tempDir } from './tmp.js';

export interface TailFixture {
  dir: string;
  /** Full path of the tailed file. */
  path: string;
  /** Full path of a name in the folder. */
  at(name: string): string;
  /** Writes (replaces) a file; creates folders on the way. */
  write(name: string, text: string | Buffer): void;
  /** Appends to the tailed file (or another name). */
  append(text: string | Buffer, name?: string): void;
  /** Rename rotation: the file moves to `to` (default `<name>.1`); nothing is created in its place. */
  rotateRename(to?: string): string;
  /** Copytruncate: copy to `to` (default `<name>.1`), then truncate the original in place. */
  copyTruncate(to?: string): string;
  /**
   * One logrotate run on the tailed file: `.N` → `.N+1` (compressed ones too), the file to `.1` by
   * rename or copytruncate, files past `rotate` deleted, then `.1` (or `.2` with `delaycompress`)
   * gzipped when `compress`. Nothing is created at the path after a rename.
   */
  logrotate(o: LogrotateOptions): void;
  remove(name?: string): void;
  /** A writer that keeps its descriptor open across renames, like a real logger. */
  openWriter(name?: string): { write(text: string): void; close(): void };
}

export interface LogrotateOptions {
  how: 'rename' | 'copytruncate';
  /** How many rotated files to keep. @default 9 */
  rotate?: number;
  compress?: boolean;
  delaycompress?: boolean;
}

/** logrotate's moves on real files (see `TailFixture.logrotate`). */
function logrotate(target: string, o: LogrotateOptions): void {
  const keep = o.rotate ?? 9;
  const rotated = (n: number, gz = false) => `${target}.${n}${gz ? '.gz' : ''}`;
  for (let n = keep; n >= 1; n--) {
    for (const gz of [false, true]) {
      if (!fs.existsSync(rotated(n, gz))) continue;
      if (n === keep) fs.rmSync(rotated(n, gz));
      else fs.renameSync(rotated(n, gz), rotated(n + 1, gz));
    }
  }
  if (o.how === 'rename') fs.renameSync(target, rotated(1));
  else {
    fs.copyFileSync(target, rotated(1));
    fs.truncateSync(target, 0);
  }
  const zip = o.delaycompress ? 2 : 1;
  if (o.compress && zip <= keep && fs.existsSync(rotated(zip))) {
    fs.writeFileSync(rotated(zip, true), zlib.gzipSync(fs.readFileSync(rotated(zip))));
    fs.rmSync(rotated(zip));
  }
}

/** A temp folder (removed after the test) for a tailed file named `name`. */
export function tailFixture(name = 'index.jsonl', root?: string): TailFixture {
  const dir = root ?? tempDir('cis490-tail-');
  const at = (n: string) => path.join(dir, n);
  const target = at(name);
  return {
    dir,
    path: target,
    at,
    write(n, text) {
      fs.mkdirSync(path.dirname(at(n)), { recursive: true });
      fs.writeFileSync(at(n), text);
    },
    append(text, n = name) {
      fs.appendFileSync(at(n), text);
    },
    rotateRename(to = `${name}.1`) {
      fs.renameSync(target, at(to));
      return at(to);
    },
    copyTruncate(to = `${name}.1`) {
      fs.copyFileSync(target, at(to));
      fs.truncateSync(target, 0);
      return at(to);
    },
    logrotate: (o) => logrotate(target, o),
    remove(n = name) {
      fs.rmSync(at(n), { force: true });
    },
    openWriter(n = name) {
      const fd = fs.openSync(at(n), 'a');
      return { write: (text) => fs.writeSync(fd, text), close: () => fs.closeSync(fd) };
    },
  };
}

/** `n` distinct JSON lines, each ending in '\n'. */
export function jsonLines(prefix: string, n: number, from = 1): string[] {
  return Array.from({ length: n }, (_, i) => `${JSON.stringify({ episode_id: `${prefix}-${from + i}` })}\n`);
}

/** The records `jsonLines` wrote, as the tailer delivers them (no '\n'). */
export const records = (lines: string[]): string[] => lines.map((l) => l.replace(/\r?\n$/, ''));

export interface TailRun {
  tailer: JsonlTailer;
  lines: string[];
  batches: TailBatch[];
  events: TailerEvent[];
  /** The checkpoint of the last batch delivered (what a consumer would have committed). */
  checkpoint(): Checkpoint | null;
  /** Resolves once `ok()` holds, checked after every batch and event; fails after 10 s. */
  until(ok: () => boolean, what: string): Promise<void>;
  untilLines(n: number): Promise<void>;
  /** Resolves with the first event from index `from` on that matches. */
  untilEvent(match: (e: TailerEvent) => boolean, what: string, from?: number): Promise<TailerEvent>;
}

/**
 * Starts a tailer that records what it delivers; stopped when the test finishes. Short poll and
 * grace times keep rotation tests quick.
 */
export async function runTailer(
  o: Omit<TailerOptions, 'onBatch' | 'onEvent'> & Partial<Pick<TailerOptions, 'onBatch' | 'onEvent'>>,
): Promise<TailRun> {
  const lines: string[] = [];
  const batches: TailBatch[] = [];
  const events: TailerEvent[] = [];
  const waiters = new Set<() => void>();
  const check = () => {
    for (const w of [...waiters]) w();
  };
  const tailer = new JsonlTailer({
    pollIntervalMs: 50,
    rotationGraceMs: 150,
    retryDelayMs: 50,
    ...o,
    async onBatch(batch) {
      await o.onBatch?.(batch);
      batches.push(batch);
      lines.push(...batch.lines);
      check();
    },
    onEvent(e) {
      o.onEvent?.(e);
      events.push(e);
      check();
    },
  });
  onTestFinished(() => tailer.stop());
  const until = (ok: () => boolean, what: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(
          new Error(
            `timed out waiting for ${what}; lines=${JSON.stringify(lines)} events=${JSON.stringify(events)}`,
          ),
        );
      }, 10_000);
      const waiter = () => {
        if (!ok()) return;
        clearTimeout(timer);
        waiters.delete(waiter);
        resolve();
      };
      waiters.add(waiter);
      waiter();
    });
  const run: TailRun = {
    tailer,
    lines,
    batches,
    events,
    checkpoint: () => batches.at(-1)?.checkpoint ?? null,
    until,
    untilLines: (n) => until(() => lines.length >= n, `${n} lines`),
    async untilEvent(match, what, from = 0) {
      const find = () => events.slice(from).find(match);
      await until(() => find() !== undefined, what);
      return find() as TailerEvent;
    },
  };
  await tailer.start();
  return run;
}
