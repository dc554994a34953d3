/**
 * Rotations while the tailer is stopped: on start, every rotated file between the checkpointed one
 * and the live file is read, oldest first, whether logrotate renamed, copytruncated or both.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  jsonLines,
  records,
  runTailer,
  type TailFixture,
  tailFixture,
} from '../../../test/support/tail-fixture.js';
import type { Checkpoint, TailerEvent } from './types.js';

const ofKind = <K extends TailerEvent['kind']>(events: TailerEvent[], k: K) =>
  events.filter((e): e is Extract<TailerEvent, { kind: K }> => e.kind === k);
const bytes = (lines: string[]) => Buffer.byteLength(lines.join(''));

/** Writes `lines` to the tailed file, reads them all, stops: the checkpoint a consumer committed. */
async function readThenStop(fx: TailFixture, lines: string[]): Promise<Checkpoint> {
  fx.write('index.jsonl', lines.join(''));
  const first = await runTailer({ path: fx.path });
  await first.untilLines(lines.length);
  await first.tailer.stop();
  const cp = first.checkpoint();
  if (!cp) throw new Error('no checkpoint');
  return cp;
}

/** Starts from `cp` and returns what was read once the live file is reached. */
async function resume(fx: TailFixture, cp: Checkpoint) {
  const run = await runTailer({ path: fx.path, start: cp });
  await run.tailer.whenCaughtUp();
  return run;
}

describe('JsonlTailer after rotations while it was stopped', () => {
  it('reads every renamed file between the checkpoint and the live one (two renames)', async () => {
    const fx = tailFixture();
    const cp = await readThenStop(fx, jsonLines('a', 100));
    const tail = jsonLines('a', 10, 101); // the writer went on after the stop
    fx.append(tail.join(''));
    fx.logrotate({ how: 'rename' });
    const b = jsonLines('b', 100);
    fx.write('index.jsonl', b.join(''));
    fx.logrotate({ how: 'rename' });
    const c = jsonLines('c', 100);
    fx.write('index.jsonl', c.join(''));

    const run = await resume(fx, cp);
    expect(run.lines).toEqual(records([...tail, ...b, ...c]));
    expect(ofKind(run.events, 'checkpoint_lost')).toEqual([]);
    expect(ofKind(run.events, 'rotated').map((e) => e.drained)).toEqual([
      fx.at('index.jsonl.2'),
      fx.at('index.jsonl.1'),
    ]);
    expect(run.tailer.stats()).toMatchObject({ lostBytes: 0, checkpointsLost: 0 });
  });

  it('reads a mix of copytruncates and renames in order: 2,410 lines, none lost or repeated', async () => {
    const fx = tailFixture();
    const a = jsonLines('a', 500);
    const cp = await readThenStop(fx, a.slice(0, 410));
    fx.append(a.slice(410).join(''));
    fx.logrotate({ how: 'copytruncate' });
    const b = jsonLines('b', 600);
    fx.append(b.join(''));
    fx.logrotate({ how: 'rename' });
    const c = jsonLines('c', 500);
    fx.write('index.jsonl', c.join(''));
    fx.logrotate({ how: 'copytruncate' });
    const d = jsonLines('d', 400);
    fx.append(d.join(''));
    fx.logrotate({ how: 'rename' });
    const e = jsonLines('e', 410);
    fx.write('index.jsonl', e.join(''));

    const run = await resume(fx, cp);
    expect(410 + run.lines.length).toBe(2410);
    expect(run.lines).toEqual(records([...a.slice(410), ...b, ...c, ...d, ...e]));
    expect(ofKind(run.events, 'checkpoint_lost')).toEqual([]);
  });

  it('reads nothing twice from rotated files older than the checkpointed one', async () => {
    const fx = tailFixture();
    const old = await readThenStop(fx, jsonLines('z', 5));
    fx.logrotate({ how: 'rename' }); // index.jsonl.1: read before the stop below
    const a = jsonLines('a', 20);
    const run1 = await runTailer({ path: fx.path, start: old });
    fx.write('index.jsonl', a.join(''));
    await run1.untilLines(20);
    await run1.tailer.whenCaughtUp();
    await run1.tailer.stop();
    const cp = run1.checkpoint() as Checkpoint;
    fx.logrotate({ how: 'copytruncate' });
    const b = jsonLines('b', 30);
    fx.append(b.join(''));

    const run = await resume(fx, cp);
    expect(run.lines).toEqual(records(b));
  });

  it('reports a compressed rotated file (.N.gz) once, with the bytes it holds, and reads the rest', async () => {
    const fx = tailFixture();
    const cp = await readThenStop(fx, jsonLines('a', 100));
    const aTail = jsonLines('a', 20, 101);
    fx.append(aTail.join(''));
    const rotate = () => fx.logrotate({ how: 'rename', compress: true, delaycompress: true });
    rotate();
    const b = jsonLines('b', 100);
    fx.write('index.jsonl', b.join(''));
    rotate();
    const c = jsonLines('c', 100);
    fx.write('index.jsonl', c.join(''));
    rotate();
    const d = jsonLines('d', 100);
    fx.write('index.jsonl', d.join(''));
    // Now .3.gz = a (the checkpointed file), .2.gz = b, .1 = c, index.jsonl = d.

    const run = await resume(fx, cp);
    expect(run.lines).toEqual(records([...c, ...d]));
    expect(ofKind(run.events, 'compressed_skipped')).toEqual([
      {
        kind: 'compressed_skipped',
        path: fx.path,
        file: fx.at('index.jsonl.3.gz'),
        unreadBytes: bytes(aTail),
      },
      { kind: 'compressed_skipped', path: fx.path, file: fx.at('index.jsonl.2.gz'), unreadBytes: bytes(b) },
    ]);
    expect(ofKind(run.events, 'checkpoint_lost')).toEqual([]);
    expect(run.tailer.stats()).toMatchObject({
      compressedSkipped: 2,
      lostBytes: bytes(aTail) + bytes(b),
    });
  });

  it('says how far it had read when the checkpointed file is gone, and reads the rotated files left', async () => {
    const fx = tailFixture();
    const a = jsonLines('a', 100);
    const cp = await readThenStop(fx, a);
    fx.logrotate({ how: 'rename', rotate: 1 });
    const b = jsonLines('b', 100);
    fx.write('index.jsonl', b.join(''));
    fx.logrotate({ how: 'rename', rotate: 1 }); // the checkpointed file is deleted
    const c = jsonLines('c', 100);
    fx.write('index.jsonl', c.join(''));

    const run = await resume(fx, cp);
    expect(run.lines).toEqual(records([...b, ...c]));
    const lost = ofKind(run.events, 'checkpoint_lost');
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ offset: bytes(a), unreadBytes: null });
    expect(lost[0]?.reason).toContain(`read up to byte ${bytes(a)}`);
    expect(run.tailer.stats()).toMatchObject({ checkpointsLost: 1, lostBytes: 0 });
  });

  it('reads the rotated files while the live file is missing, then the live one when it appears', async () => {
    const fx = tailFixture();
    const cp = await readThenStop(fx, jsonLines('a', 10));
    fx.logrotate({ how: 'rename' });
    const b = jsonLines('b', 10);
    fx.write('index.jsonl', b.join(''));
    fx.logrotate({ how: 'rename' });
    expect(fs.existsSync(fx.path)).toBe(false);

    const run = await runTailer({ path: fx.path, start: cp });
    await run.untilLines(10);
    const c = jsonLines('c', 10);
    fx.write('index.jsonl', c.join(''));
    await run.untilLines(20);
    expect(run.lines).toEqual(records([...b, ...c]));
  });

  it('follows a numbering that counts up (each rotated file takes the next number)', async () => {
    const fx = tailFixture();
    fx.write('index.jsonl.7', jsonLines('z', 5).join('')); // left by an earlier rotation, already read
    const cp = await readThenStop(fx, jsonLines('a', 50));
    fx.rotateRename('index.jsonl.8');
    const b = jsonLines('b', 50);
    fx.write('index.jsonl', b.join(''));
    fx.copyTruncate('index.jsonl.9');
    const c = jsonLines('c', 50);
    fx.append(c.join(''));
    // Rotations minutes apart, as a receiver makes them (here all within one clock tick).
    const hour = Date.now() / 1000 - 3600;
    for (const n of [7, 8, 9]) fs.utimesSync(fx.at(`index.jsonl.${n}`), hour + n * 60, hour + n * 60);

    const run = await resume(fx, cp);
    expect(run.lines).toEqual(records([...b, ...c]));
  });
});
