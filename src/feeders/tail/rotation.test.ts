import { describe, expect, it, vi } from 'vitest';
import { MemFs } from '../../../test/support/memfs.js';
import { jsonLines, records, runTailer } from '../../../test/support/tail-fixture.js';
import { sha1Hex } from './fingerprint.js';
import { findSibling } from './locate.js';
import type { TailerEvent } from './types.js';

const DIR = '/data';
const FILE = '/data/index.jsonl';
const kinds = (events: TailerEvent[]) => events.map((e) => e.kind);

describe('JsonlTailer with a fake file system', () => {
  it('reports an unreadable file once while retrying, then reads it when it becomes readable', async () => {
    const fs = new MemFs();
    fs.mkdir(DIR);
    fs.write(FILE, jsonLines('a', 2).join(''));
    fs.openErrors.set(FILE, 'EACCES');
    const run = await runTailer({ path: FILE, fs, pollIntervalMs: 5, retryDelayMs: 5 });
    await run.untilEvent((e) => e.kind === 'error', 'error');
    // Several more attempts fail quietly.
    const opens = fs.opens;
    await vi.waitFor(() => expect(fs.opens).toBeGreaterThan(opens + 2));
    fs.openErrors.delete(FILE);
    await run.untilLines(2);
    expect(run.events.filter((e) => e.kind === 'error')).toEqual([
      { kind: 'error', path: FILE, code: 'EACCES', message: `EACCES: open '${FILE}'` },
    ]);
    expect(fs.openHandles).toBe(1);
    await run.tailer.stop();
    expect(fs.openHandles).toBe(0);
  });

  it('falls back to polling when the folder cannot be watched, and says so once', async () => {
    const fs = new MemFs();
    fs.mkdir(DIR);
    fs.write(FILE, jsonLines('a', 1).join(''));
    let watchAttempts = 0;
    const unwatchable = Object.assign(fs, {
      watchDir(): () => void {
        watchAttempts += 1;
        throw Object.assign(new Error('ENOSPC: inotify watch limit reached'), { code: 'ENOSPC' });
      },
    });
    const run = await runTailer({ path: FILE, fs: unwatchable, pollIntervalMs: 5 });
    await run.untilLines(1);
    await vi.waitFor(() => expect(watchAttempts).toBeGreaterThan(3));
    fs.append(FILE, jsonLines('a', 1, 2).join(''));
    await run.untilLines(2);
    expect(run.events.filter((e) => e.kind === 'error')).toMatchObject([{ code: 'watch_failed' }]);
  });

  it('detects a truncate by the first bytes when the file grew past the old offset before a look', async () => {
    const fs = new MemFs();
    fs.mkdir(DIR);
    fs.write(FILE, jsonLines('a', 2).join(''));
    const run = await runTailer({ path: FILE, fs, pollIntervalMs: 5 });
    await run.untilLines(2);
    fs.truncate(FILE);
    fs.append(FILE, jsonLines('bb', 5).join('')); // longer than what was read
    await run.untilLines(7);
    expect(run.lines.slice(2)).toEqual(records(jsonLines('bb', 5)));
    expect(run.events.filter((e) => e.kind === 'rotated')).toEqual([
      { kind: 'rotated', how: 'truncate', path: FILE },
    ]);
  });

  it('announces caught_up at start when the file is missing, and after each read', async () => {
    const fs = new MemFs();
    fs.mkdir(DIR);
    const run = await runTailer({ path: FILE, fs, pollIntervalMs: 5 });
    await run.tailer.whenCaughtUp();
    expect(kinds(run.events)).toEqual(['missing', 'caught_up']);
    fs.write(FILE, jsonLines('a', 1).join(''));
    await run.untilLines(1);
    await run.untilEvent((e) => e.kind === 'caught_up', 'second caught_up', 2);
    expect(kinds(run.events)).toEqual(['missing', 'caught_up', 'appeared', 'caught_up']);
  });

  it('keeps a checkpoint while the path is missing, draining its rotated file meanwhile', async () => {
    const fs = new MemFs();
    fs.mkdir(DIR);
    fs.write(FILE, jsonLines('a', 4).join(''));
    const first = await runTailer({ path: FILE, fs, pollIntervalMs: 5 });
    await first.untilLines(4);
    await first.tailer.stop();
    fs.append(FILE, jsonLines('a', 1, 5).join(''));
    fs.rename(FILE, `${FILE}.1`);
    const second = await runTailer({ path: FILE, fs, pollIntervalMs: 5, start: first.checkpoint() });
    await second.untilLines(1);
    await second.tailer.whenCaughtUp();
    expect(second.lines).toEqual(records(jsonLines('a', 1, 5)));
    expect(kinds(second.events)).not.toContain('checkpoint_lost');
    fs.write(FILE, jsonLines('b', 1).join(''));
    await second.untilLines(2);
    expect(second.events.filter((e) => e.kind === 'rotated')).toEqual([
      { kind: 'rotated', how: 'rename', path: FILE, drained: `${FILE}.1` },
    ]);
  });

  it('follows a renamed file while it grows, then moves on to the new file (even if it never stops)', async () => {
    const fs = new MemFs();
    fs.mkdir(DIR);
    fs.write(FILE, jsonLines('a', 1).join(''));
    let renamed = false;
    let n = 1;
    const run = await runTailer({
      path: FILE,
      fs,
      pollIntervalMs: 2,
      rotationGraceMs: 10,
      onBatch() {
        // A writer that keeps writing to the old file, faster than the grace period.
        if (renamed) fs.append(`${FILE}.1`, jsonLines('a', 1, ++n).join(''));
      },
    });
    await run.untilLines(1);
    fs.rename(FILE, `${FILE}.1`);
    renamed = true;
    fs.append(`${FILE}.1`, jsonLines('a', 1, ++n).join(''));
    fs.write(FILE, jsonLines('b', 1).join(''));
    const b = records(jsonLines('b', 1))[0] as string;
    await run.until(() => run.lines.includes(b), 'the new file');
    // The old file was followed through the grace period (it kept growing), and only then the new one.
    const bAt = run.lines.indexOf(b);
    expect(bAt).toBeGreaterThan(3);
    expect(run.lines.slice(0, bAt)).toEqual(records(jsonLines('a', bAt)));
    expect(run.events.filter((e) => e.kind === 'rotated')).toHaveLength(1);
  });

  it('stop() waits for the batch being consumed and then closes the file', async () => {
    const fs = new MemFs();
    fs.mkdir(DIR);
    fs.write(FILE, jsonLines('a', 1).join(''));
    let release = () => {};
    const consuming = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered = () => {};
    const inBatch = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const run = await runTailer({
      path: FILE,
      fs,
      async onBatch() {
        entered();
        await consuming;
      },
    });
    await inBatch;
    let stopped = false;
    const stopping = run.tailer.stop().then(() => {
      stopped = true;
    });
    await Promise.resolve();
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(fs.openHandles).toBe(0);
    expect(run.lines).toHaveLength(1);
  });
});

describe('findSibling', () => {
  const id = (text: string, ino: number) => ({
    dev: 1,
    ino,
    fingerprint: sha1Hex(Buffer.from(text)),
    fingerprintLen: Buffer.byteLength(text),
  });

  it('prefers the same inode to a copy with the same first bytes', async () => {
    const fs = new MemFs();
    fs.mkdir(DIR);
    fs.write(FILE, 'x\n');
    fs.write(`${DIR}/copy`, 'abc\n');
    fs.write(`${DIR}/index.jsonl.1`, 'abc\n');
    const ino = (await fs.stat(`${DIR}/index.jsonl.1`))?.ino ?? 0;
    const found = await findSibling(fs, FILE, id('abc\n', ino), { minSize: 0 });
    expect(found).toMatchObject({ path: `${DIR}/index.jsonl.1`, match: 'inode' });
  });

  it('finds the newest copy by its first bytes, and never by an empty fingerprint', async () => {
    const fs = new MemFs();
    fs.mkdir(DIR);
    fs.write(FILE, '');
    fs.write(`${DIR}/older`, 'abc\nold\n');
    fs.write(`${DIR}/newer`, 'abc\nnew\n');
    fs.write(`${DIR}/other`, 'xyz\n');
    const found = await findSibling(fs, FILE, id('abc\n', 999), { minSize: 0, copiesOnly: true });
    expect(found?.path).toBe(`${DIR}/newer`);
    expect(await findSibling(fs, FILE, id('', 999), { minSize: 0 })).toBeNull();
    expect(await findSibling(fs, FILE, id('abc\n', 999), { minSize: 100 })).toBeNull();
  });
});
