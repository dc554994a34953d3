/**
 * The append script against a real redis-server: dense seq across clients, at-most-once per
 * (receiver, file identity, offset), rotation, and the epoch.
 */
import fs from 'node:fs';
import { describe, expect, test } from 'vitest';
import { redisServer } from '../../test/support/redis-server.js';
import { episode, episodeIds, lines, openLog } from '../../test/support/stream-harness.js';

const ids = episodeIds;

describe('append script', () => {
  test('(a) two agents appending at once interleave into one dense seq, each line once, each in its own order', async () => {
    const redis = await redisServer();
    const [a, b] = [await openLog(redis.url), await openLog(redis.url)];
    expect(a.epoch).toBe(b.epoch);
    const agent = async (log: typeof a, receiver: string): Promise<void> => {
      for (let i = 0; i < 40; i++) {
        const result = await log.append({
          receiver,
          mark: {
            source: 'index.jsonl',
            fileId: 'dev1:ino1:fp',
            startOffset: i * 100,
            endOffset: (i + 1) * 100,
          },
          events: lines(receiver, i * 25, 25),
        });
        expect(result.status).toBe('appended');
      }
    };
    await Promise.all([agent(a, 'rack-a'), agent(b, 'rack-b')]);

    const records = await a.read(1, { limit: 5000 });
    expect(records?.map((r) => r.event.seq)).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    const all = ids(records ?? []);
    expect(new Set(all).size).toBe(2000);
    for (const receiver of ['rack-a', 'rack-b']) {
      const own = (records ?? []).filter((r) => r.receiver === receiver);
      expect(ids(own)).toEqual(ids(lines(receiver, 0, 1000)));
    }
    // Interleaved, not one after the other (both ran at once): rack-b has seqs below rack-a's last.
    const lastA = Math.max(...(records ?? []).filter((r) => r.receiver === 'rack-a').map((r) => r.event.seq));
    const firstB = Math.min(
      ...(records ?? []).filter((r) => r.receiver === 'rack-b').map((r) => r.event.seq),
    );
    expect(firstB).toBeLessThan(lastA);
  });

  test('(b) a batch appended again (agent restarted after the append, before its checkpoint) is skipped', async () => {
    const redis = await redisServer();
    const mark = { source: 'index.jsonl', fileId: 'F1', startOffset: 0, endOffset: 300 };
    const batch = { receiver: 'rack-a', mark, events: lines('a', 0, 3) };
    const first = await openLog(redis.url);
    expect(await first.append(batch)).toMatchObject({ status: 'appended', firstSeq: 1, lastSeq: 3 });
    await first.close();

    const restarted = await openLog(redis.url);
    expect(await restarted.append(batch)).toEqual({ status: 'skipped', epoch: first.epoch, markOffset: 300 });
    // A shorter batch inside the mark is skipped too; one straddling it is refused with the mark.
    expect(await restarted.append({ ...batch, mark: { ...mark, endOffset: 200 } })).toMatchObject({
      status: 'skipped',
    });
    expect(await restarted.append({ ...batch, mark: { ...mark, startOffset: 200, endOffset: 400 } })).toEqual(
      {
        status: 'overlap',
        epoch: first.epoch,
        markOffset: 300,
      },
    );
    // The agent resumes from the mark Redis holds (its checkpoint).
    expect(await restarted.marks('rack-a', 'index.jsonl')).toEqual([
      { fileId: 'F1', offset: 300, generation: 1 },
    ]);
    expect(
      await restarted.append({
        ...batch,
        mark: { ...mark, startOffset: 300, endOffset: 400 },
        events: lines('a', 3, 1),
      }),
    ).toMatchObject({ status: 'appended', firstSeq: 4, lastSeq: 4 });
    // Another receiver's identical mark is its own.
    expect(await restarted.append({ ...batch, receiver: 'rack-b' })).toMatchObject({ status: 'appended' });

    expect(ids((await restarted.read(1)) ?? [])).toEqual(['a:0', 'a:1', 'a:2', 'a:3', 'a:0', 'a:1', 'a:2']);
    expect(((await restarted.read(1)) ?? []).map((r) => r.receiver)).toEqual([
      'rack-a',
      'rack-a',
      'rack-a',
      'rack-a',
      'rack-b',
      'rack-b',
      'rack-b',
    ]);
  });

  test('rotation: the old file re-sent after the new one started is skipped; its late tail lands once', async () => {
    const redis = await redisServer();
    const log = await openLog(redis.url, { keepIdentities: 2 });
    const send = (fileId: string, startOffset: number, endOffset: number, id: string) =>
      log.append({
        receiver: 'rack-a',
        mark: { source: 'index.jsonl', fileId, startOffset, endOffset },
        events: [episode(id)],
      });
    expect((await send('F1', 0, 100, 'old-1')).status).toBe('appended');
    expect((await send('F2', 0, 50, 'new-1')).status).toBe('appended');
    // Restarted agent re-sends the rotated file from 0: one mark per source would compare 100
    // with F2's 50 and append it again.
    expect(await send('F1', 0, 100, 'old-1')).toMatchObject({ status: 'skipped', markOffset: 100 });
    expect((await send('F1', 100, 120, 'old-late')).status).toBe('appended');
    expect(await send('F2', 0, 50, 'new-1')).toMatchObject({ status: 'skipped', markOffset: 50 });
    expect(await log.marks('rack-a', 'index.jsonl')).toEqual([
      { fileId: 'F2', offset: 50, generation: 2 },
      { fileId: 'F1', offset: 120, generation: 1 },
    ]);
    // A third identity with keepIdentities 2: the oldest mark is dropped, the hash stays small.
    expect((await send('F3', 0, 10, 'newer-1')).status).toBe('appended');
    expect((await log.marks('rack-a', 'index.jsonl')).map((m) => m.fileId)).toEqual(['F3', 'F2']);
    expect(ids((await log.read(1)) ?? [])).toEqual(['old-1', 'new-1', 'old-late', 'newer-1']);
  });

  test('events without a mark are always appended; an empty keyed batch only moves the mark', async () => {
    const redis = await redisServer();
    const log = await openLog(redis.url);
    const health = { type: 'ready', ready: true } as const;
    expect(await log.append({ receiver: 'rack-a', events: [health] })).toMatchObject({
      firstSeq: 1,
      lastSeq: 1,
    });
    expect(await log.append({ receiver: 'rack-a', events: [health] })).toMatchObject({
      firstSeq: 2,
      lastSeq: 2,
    });
    const blank = { source: 'alerts.jsonl', fileId: 'A1', startOffset: 0, endOffset: 10 };
    expect(await log.append({ receiver: 'rack-a', mark: blank, events: [] })).toMatchObject({
      status: 'appended',
      firstSeq: 3,
      lastSeq: 2,
    });
    expect(await log.marks('rack-a', 'alerts.jsonl')).toEqual([{ fileId: 'A1', offset: 10, generation: 1 }]);
    expect(await log.lastSeq()).toBe(2);
    await expect(
      log.append({ receiver: 'rack a', events: [health] }),
      'a receiver name with a space',
    ).rejects.toMatchObject({ code: 'bad_receiver_name' });
  });

  test('the epoch is created once and survives a restart; a Redis that lost its data gets a new one', async () => {
    const redis = await redisServer();
    const changes: [string, string][] = [];
    const log = await openLog(redis.url, { onEpochChange: (p, c) => changes.push([p, c]) });
    const epoch = log.epoch;
    expect(epoch).toMatch(/^[0-9a-z]+-[0-9a-f]{12}$/);
    expect((await openLog(redis.url)).epoch).toBe(epoch);
    await log.append({ receiver: 'rack-a', events: [episode('x')] });

    await redis.stop();
    await redis.restart();
    expect((await openLog(redis.url)).epoch).toBe(epoch);

    await redis.kill();
    // The data is gone (a new disk, a wiped dir): Redis starts empty on the same port.
    fs.rmSync(redis.dir, { recursive: true, force: true });
    fs.mkdirSync(redis.dir);
    await redis.restart();
    const result = await log.append({ receiver: 'rack-a', events: [episode('y')] });
    expect(result).toMatchObject({ status: 'appended', firstSeq: 1 });
    expect(result.epoch).not.toBe(epoch);
    expect(changes).toEqual([[epoch, result.epoch]]);
  });
});
