import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { jsonLines, records, runTailer, tailFixture } from '../../../test/support/tail-fixture.js';
import { tempDir } from '../../../test/support/tmp.js';
import { nodeTailFs, type TailFs } from './fs.js';
import type { TailerEvent } from './types.js';

const kind =
  (k: TailerEvent['kind']) =>
  (e: TailerEvent): boolean =>
    e.kind === k;

/** Files this process has open (Linux). */
const openPaths = (): string[] =>
  fs.readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      return [fs.readlinkSync(`/proc/self/fd/${fd}`)];
    } catch {
      return [];
    }
  });

/** Node's file system without notifications: only the polling backstop wakes the tailer. */
const pollingOnly: TailFs = { stat: nodeTailFs.stat, open: nodeTailFs.open, readdir: nodeTailFs.readdir };

describe('JsonlTailer on real files', () => {
  it('reads the file from byte 0, then follows appends woken by the folder watch alone', async () => {
    const fx = tailFixture();
    const first = jsonLines('a', 3);
    fx.write('index.jsonl', first.join(''));
    // An hour between polls: only the directory watch can deliver the appended lines.
    const run = await runTailer({ path: fx.path, pollIntervalMs: 3_600_000 });
    await run.untilLines(3);
    await run.tailer.whenCaughtUp();
    const more = jsonLines('b', 2);
    fx.append(more.join(''));
    await run.untilLines(5);
    expect(run.lines).toEqual(records([...first, ...more]));
    expect(run.batches.at(-1)?.checkpoint.offset).toBe(fs.statSync(fx.path).size);
  });

  it('follows appends by polling alone when there are no notifications', async () => {
    const fx = tailFixture();
    fx.write('index.jsonl', '');
    const run = await runTailer({ path: fx.path, fs: pollingOnly, pollIntervalMs: 20 });
    await run.tailer.whenCaughtUp();
    const lines = jsonLines('p', 2);
    fx.append(lines.join(''));
    await run.untilLines(2);
    expect(run.lines).toEqual(records(lines));
  });

  it('waits for the newline of a half-written line, whatever fragments the line arrives in', async () => {
    const fx = tailFixture();
    fx.write('index.jsonl', '');
    const run = await runTailer({ path: fx.path });
    const lines = [...jsonLines('f', 20), '{"crlf":true}\r\n', '{"sep":"a\u2028b\u2029c\u0085d"}\n'];
    const text = Buffer.from(lines.join(''));
    let written = 0;
    let seed = 7;
    while (written < text.length) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const n = Math.min(text.length - written, 1 + (seed % 37));
      fx.append(text.subarray(written, written + n));
      written += n;
      // Let the tailer look at every fragment (it has seen the size) before the next one.
      await vi.waitFor(() => expect(run.tailer.stats().fileSize).toBe(written), { interval: 5 });
    }
    await run.untilLines(lines.length);
    expect(run.lines).toEqual([
      ...records(jsonLines('f', 20)),
      '{"crlf":true}',
      '{"sep":"a\u2028b\u2029c\u0085d"}',
    ]);
    for (const b of run.batches) expect(text[b.checkpoint.offset - 1]).toBe(10);
  });

  it('skips a 50 MiB line (reported with an excerpt) and keeps the lines around it', async () => {
    const fx = tailFixture();
    const fd = fs.openSync(fx.path, 'w');
    fs.writeSync(fd, '{"before":1}\n');
    const mib = Buffer.alloc(1024 * 1024, 'x');
    fs.writeSync(fd, '{"huge":"');
    for (let i = 0; i < 50; i++) fs.writeSync(fd, mib);
    fs.writeSync(fd, '"}\n{"after":2}\n');
    fs.closeSync(fd);
    const run = await runTailer({ path: fx.path });
    await run.untilLines(2);
    await run.tailer.whenCaughtUp();
    expect(run.lines).toEqual(['{"before":1}', '{"after":2}']);
    const skipped = run.batches.flatMap((b) => b.skipped);
    expect(skipped).toEqual([
      { reason: 'line_too_long', offset: 13, excerpt: `{"huge":"${'x'.repeat(111)}` },
    ]);
    expect(run.tailer.stats().skipped).toEqual({ line_too_long: 1 });
  });

  it('after a rename rotation, drains the old file (still being written) before the new one', async () => {
    const fx = tailFixture();
    const writer = fx.openWriter();
    writer.write(jsonLines('old', 3).join(''));
    const run = await runTailer({ path: fx.path });
    await run.untilLines(3);
    const rotated = fx.rotateRename();
    writer.write(jsonLines('old', 2, 4).join('')); // the writer has not reopened yet
    fx.write('index.jsonl', jsonLines('new', 2).join(''));
    writer.write(jsonLines('old', 1, 6).join(''));
    await run.untilLines(8);
    writer.close();
    expect(run.lines).toEqual(records([...jsonLines('old', 6), ...jsonLines('new', 2)]));
    expect(run.events.filter(kind('rotated'))).toEqual([
      { kind: 'rotated', how: 'rename', path: fx.path, drained: rotated },
    ]);
    const last = run.checkpoint();
    expect(last?.ino).toBe(fs.statSync(fx.path).ino);
    expect(run.tailer.stats().rotations).toEqual({ rename: 1, truncate: 0, replaced: 0 });
  });

  it('reads the renamed old file while the path stays missing, then the new file when it appears', async () => {
    const fx = tailFixture();
    const writer = fx.openWriter();
    writer.write(jsonLines('old', 2).join(''));
    const run = await runTailer({ path: fx.path });
    await run.untilLines(2);
    fx.rotateRename();
    await run.untilEvent(kind('missing'), 'missing');
    writer.write(jsonLines('old', 1, 3).join(''));
    await run.untilLines(3);
    writer.close();
    fx.write('index.jsonl', jsonLines('new', 1).join(''));
    await run.untilLines(4);
    expect(run.lines).toEqual(records([...jsonLines('old', 3), ...jsonLines('new', 1)]));
    expect(run.events.map((e) => e.kind)).toEqual(
      expect.arrayContaining(['missing', 'appeared', 'rotated']) as string[],
    );
  });

  it('after copytruncate, reads the lines written before the truncate from the copy: none lost', async () => {
    const fx = tailFixture();
    fx.write('index.jsonl', jsonLines('a', 3).join(''));
    const run = await runTailer({ path: fx.path });
    await run.untilLines(3);
    // Written after the tailer's last read and before the truncate: only the copy holds them.
    fx.append(jsonLines('a', 2, 4).join(''));
    const copy = fx.copyTruncate();
    fx.append(jsonLines('b', 2).join(''));
    await run.untilLines(7);
    expect(run.lines).toEqual(records([...jsonLines('a', 5), ...jsonLines('b', 2)]));
    expect(run.events.filter(kind('rotated'))).toEqual([
      { kind: 'rotated', how: 'truncate', path: fx.path, drained: copy },
    ]);
    expect(run.tailer.stats().lostBytes).toBe(0);
  });

  it('after a truncate with no copy, reads the file again from byte 0 and counts the loss', async () => {
    const fx = tailFixture();
    fx.write('index.jsonl', jsonLines('a', 3).join(''));
    const run = await runTailer({ path: fx.path });
    await run.untilLines(3);
    await run.tailer.whenCaughtUp();
    const unread = '{"never":"read"}\n';
    fx.append(unread);
    fs.truncateSync(fx.path, 0);
    fx.append(jsonLines('b', 1).join(''));
    await run.untilEvent(kind('rotated'), 'rotated');
    await run.untilLines(4);
    expect(run.lines.slice(3)).toEqual(records(jsonLines('b', 1)));
    expect(run.events.filter(kind('rotated'))).toEqual([{ kind: 'rotated', how: 'truncate', path: fx.path }]);
    // Lost unless the tailer happened to read it before the truncate.
    expect([0, unread.length]).toContain(run.tailer.stats().lostBytes);
  });

  it('notices a file deleted and created again (replaced) and reads the new one from byte 0', async () => {
    const fx = tailFixture();
    fx.write('index.jsonl', jsonLines('a', 2).join(''));
    const run = await runTailer({ path: fx.path });
    await run.untilLines(2);
    const tmp = fx.at('index.jsonl.tmp');
    fs.writeFileSync(tmp, jsonLines('b', 2).join(''));
    fs.renameSync(tmp, fx.path); // atomic replace: the old inode is gone from the folder
    await run.untilLines(4);
    expect(run.lines).toEqual(records([...jsonLines('a', 2), ...jsonLines('b', 2)]));
    expect(run.events.filter(kind('rotated'))).toEqual([{ kind: 'rotated', how: 'replaced', path: fx.path }]);
  });

  it('carries on at the old offset when the file is replaced by a longer copy of itself', async () => {
    const fx = tailFixture();
    fx.write('index.jsonl', jsonLines('a', 3).join(''));
    const run = await runTailer({ path: fx.path });
    await run.untilLines(3);
    const tmp = fx.at('index.jsonl.tmp');
    fs.copyFileSync(fx.path, tmp);
    fs.appendFileSync(tmp, jsonLines('a', 2, 4).join(''));
    fs.renameSync(tmp, fx.path);
    await run.untilLines(5);
    await run.untilEvent((e) => e.kind === 'rotated', 'rotated');
    await run.tailer.whenCaughtUp();
    expect(run.lines).toEqual(records(jsonLines('a', 5)));
  });

  it('reports a missing file once and reads all its first lines when it appears', async () => {
    const fx = tailFixture();
    const run = await runTailer({ path: fx.path });
    await run.untilEvent(kind('caught_up'), 'caught_up');
    expect(run.tailer.caughtUp).toBe(true);
    const lines = jsonLines('late', 3);
    fx.write('index.jsonl', lines.join(''));
    await run.untilLines(3);
    expect(run.lines).toEqual(records(lines));
    expect(run.events.filter(kind('missing'))).toHaveLength(1);
    expect(run.events.filter(kind('appeared'))).toHaveLength(1);
  });

  it('waits for a data root folder that does not exist yet', async () => {
    const root = path.join(tempDir(), 'not-yet');
    const fx = tailFixture('alerts.jsonl', root);
    const run = await runTailer({ path: fx.path });
    await run.untilEvent(kind('missing'), 'missing');
    fx.write('alerts.jsonl', jsonLines('x', 2).join(''));
    await run.untilLines(2);
    fx.append(jsonLines('x', 1, 3).join(''));
    await run.untilLines(3);
    expect(run.lines).toEqual(records(jsonLines('x', 3)));
  });

  it('reports a directory at the path once, keeps trying, and reads the file that replaces it', async () => {
    const fx = tailFixture();
    fs.mkdirSync(fx.path);
    const run = await runTailer({ path: fx.path });
    await run.untilEvent((e) => e.kind === 'error' && e.code === 'not_a_file', 'not_a_file');
    fs.rmdirSync(fx.path);
    fx.write('index.jsonl', jsonLines('a', 1).join(''));
    await run.untilLines(1);
    expect(run.events.filter(kind('error'))).toHaveLength(1);
  });

  it('offers a batch again after onBatch threw, and loses nothing', async () => {
    const fx = tailFixture();
    fx.write('index.jsonl', jsonLines('a', 2).join(''));
    let failures = 1;
    const run = await runTailer({
      path: fx.path,
      onBatch() {
        if (failures-- > 0) throw new Error('database is locked');
      },
    });
    await run.untilLines(2);
    expect(run.lines).toEqual(records(jsonLines('a', 2)));
    expect(run.events.filter(kind('error'))).toMatchObject([{ code: 'batch_failed' }]);
  });

  it('stop() closes its watch, timers and files', async () => {
    const fx = tailFixture();
    fx.write('index.jsonl', jsonLines('a', 1).join(''));
    // Another test's watchers close on a later turn of the loop: counted before they do, one of
    // them could hide ours.
    await new Promise((resolve) => setImmediate(resolve));
    const before = process.getActiveResourcesInfo();
    const count = (list: string[], what: string) => list.filter((r) => r === what).length;
    const run = await runTailer({ path: fx.path });
    await run.untilLines(1);
    await run.tailer.whenCaughtUp();
    const during = process.getActiveResourcesInfo();
    expect(openPaths()).toContain(fx.path);
    expect(count(during, 'FSEventWrap')).toBeGreaterThanOrEqual(1);
    await run.tailer.stop();
    // At most what was there before (another test's leftovers may have closed meanwhile), and one
    // watcher fewer than while it ran; a watcher's close completes on the next turn of the loop.
    await vi.waitFor(() => {
      const after = process.getActiveResourcesInfo();
      for (const what of ['FSEventWrap', 'Timeout']) {
        expect(count(after, what), what).toBeLessThanOrEqual(count(before, what));
      }
      expect(count(after, 'FSEventWrap')).toBeLessThan(count(during, 'FSEventWrap'));
    });
    expect(openPaths()).not.toContain(fx.path);
  });

  it('reports the lag: bytes read against the file size, a half-written line included', async () => {
    const fx = tailFixture();
    fx.write('index.jsonl', '{"a":1}\n{"b":');
    const run = await runTailer({ path: fx.path });
    await run.untilLines(1);
    await run.tailer.whenCaughtUp();
    expect(run.tailer.stats()).toMatchObject({ bytesRead: 8, fileSize: 13, lines: 1 });
  });
});

describe('JsonlTailer resuming from a checkpoint', () => {
  it('emits nothing twice and misses nothing when stopped after any batch', async () => {
    const fx = tailFixture();
    const all = jsonLines('r', 40);
    fx.write('index.jsonl', all.join(''));
    const first = await runTailer({ path: fx.path, maxBatchBytes: 200, maxLineBytes: 100 });
    await first.untilLines(20);
    await first.tailer.stop();
    const cp = first.checkpoint();
    expect(first.lines.length).toBeLessThan(all.length); // stopped part-way
    fx.append(jsonLines('r', 5, 41).join(''));
    const second = await runTailer({ path: fx.path, start: cp });
    await second.untilLines(45 - first.lines.length);
    await second.tailer.whenCaughtUp();
    expect([...first.lines, ...second.lines]).toEqual(records([...all, ...jsonLines('r', 5, 41)]));
    expect(second.events.filter(kind('checkpoint_lost'))).toEqual([]);
  });

  it('after a rename rotation while stopped, drains the rotated file from the checkpoint first', async () => {
    const fx = tailFixture();
    fx.write('index.jsonl', jsonLines('a', 3).join(''));
    const first = await runTailer({ path: fx.path });
    await first.untilLines(3);
    await first.tailer.stop();
    fx.append(jsonLines('a', 2, 4).join(''));
    const rotated = fx.rotateRename();
    fx.write('index.jsonl', jsonLines('b', 2).join(''));
    const second = await runTailer({ path: fx.path, start: first.checkpoint() });
    await second.untilLines(4);
    expect(second.lines).toEqual(records([...jsonLines('a', 2, 4), ...jsonLines('b', 2)]));
    expect(second.events.filter(kind('rotated'))).toEqual([
      { kind: 'rotated', how: 'rename', path: fx.path, drained: rotated },
    ]);
  });

  it('after copytruncate while stopped, reads the rest from the copy, then the file from 0', async () => {
    const fx = tailFixture();
    fx.write('index.jsonl', jsonLines('a', 3).join(''));
    const first = await runTailer({ path: fx.path });
    await first.untilLines(3);
    await first.tailer.stop();
    fx.append(jsonLines('a', 1, 4).join(''));
    const copy = fx.copyTruncate();
    fx.append(jsonLines('b', 2).join(''));
    const second = await runTailer({ path: fx.path, start: first.checkpoint() });
    await second.untilLines(3);
    expect(second.lines).toEqual(records([...jsonLines('a', 1, 4), ...jsonLines('b', 2)]));
    expect(second.events.filter(kind('rotated'))).toEqual([
      { kind: 'rotated', how: 'truncate', path: fx.path, drained: copy },
    ]);
  });

  it('says the checkpoint is lost when its file is gone, and reads the current file from 0', async () => {
    const fx = tailFixture();
    fx.write('index.jsonl', jsonLines('a', 3).join(''));
    const first = await runTailer({ path: fx.path });
    await first.untilLines(3);
    await first.tailer.stop();
    fx.remove();
    fx.write('index.jsonl', jsonLines('b', 2).join(''));
    const second = await runTailer({ path: fx.path, start: first.checkpoint() });
    await second.untilLines(2);
    expect(second.lines).toEqual(records(jsonLines('b', 2)));
    expect(second.events.filter(kind('checkpoint_lost'))).toHaveLength(1);
  });

  it('continues a copied data root (new inodes, same first bytes) at the checkpoint', async () => {
    const fx = tailFixture();
    fx.write('index.jsonl', jsonLines('a', 3).join(''));
    const first = await runTailer({ path: fx.path });
    await first.untilLines(3);
    await first.tailer.stop();
    const moved = tailFixture();
    fs.copyFileSync(fx.path, moved.path);
    moved.append(jsonLines('a', 1, 4).join(''));
    const second = await runTailer({ path: moved.path, start: first.checkpoint() });
    await second.untilLines(1);
    await second.tailer.whenCaughtUp();
    expect(second.lines).toEqual(records(jsonLines('a', 1, 4)));
  });
});
