/**
 * RedisStreamLog against a real redis-server under faults: SIGKILL mid-append, MAXLEN trimming,
 * and a subscription that lives through a restart.
 */
import fs from 'node:fs';
import { describe, expect, test } from 'vitest';
import { redisServer } from '../../test/support/redis-server.js';
import { Collector, episodeIds, lines, openLog } from '../../test/support/stream-harness.js';
import type { RedisStreamLog } from './redis-stream-log.js';

const BATCH = 10;

/** An agent appending `batches` keyed batches of BATCH lines of `receiver`'s index, in order. */
async function agent(
  log: RedisStreamLog,
  receiver: string,
  batches: number,
  onAck: (i: number) => void = () => {},
  stats = { resends: 0, skipped: 0 },
): Promise<void> {
  for (let i = 0; i < batches; i++) {
    const result = await log.appendKeyed(
      {
        receiver,
        mark: {
          source: 'index.jsonl',
          fileId: 'F1',
          startOffset: i * BATCH * 80,
          endOffset: (i + 1) * BATCH * 80,
        },
        events: lines(receiver, i * BATCH, BATCH),
      },
      {
        onResend: () => {
          stats.resends += 1;
        },
      },
    );
    // A batch whose first try landed but whose answer was lost comes back `skipped`: still acked.
    expect(['appended', 'skipped']).toContain(result.status);
    if (result.status === 'skipped') stats.skipped += 1;
    onAck(i);
  }
}

describe('RedisStreamLog under faults', () => {
  test('(c) redis-server SIGKILLed while three agents append, restarted on its dir: every line once, seq dense, epoch unchanged', async () => {
    const redis = await redisServer();
    const receivers = ['rack-a', 'rack-b', 'rack-c'];
    const logs = await Promise.all(receivers.map(() => openLog(redis.url)));
    const epoch = logs[0]?.epoch;
    const stats = { resends: 0, skipped: 0 };
    const acked = new Map<string, number>(receivers.map((r) => [r, 0]));
    let killed: Promise<void> | null = null;
    const batches = 120;

    await Promise.all(
      receivers.map((receiver, k) =>
        agent(
          logs[k] as RedisStreamLog,
          receiver,
          batches,
          (i) => {
            acked.set(receiver, i + 1);
            // Mid-stream, while the other agents have batches in flight: SIGKILL, then restart.
            if (receiver === 'rack-a' && i === 40) killed = redis.kill().then(() => redis.restart());
          },
          stats,
        ),
      ),
    );
    await killed;

    const log = logs[0] as RedisStreamLog;
    expect(log.epoch).toBe(epoch);
    const records = (await log.read(1, { limit: 100_000 })) ?? [];
    expect(records.map((r) => r.event.seq)).toEqual(
      Array.from({ length: 3 * batches * BATCH }, (_, i) => i + 1),
    );
    for (const receiver of receivers) {
      const own = records.filter((r) => r.receiver === receiver);
      expect(episodeIds(own)).toEqual(episodeIds(lines(receiver, 0, batches * BATCH)));
    }
    expect(await log.lastSeq()).toBe(3 * batches * BATCH);
    expect(redis.output).toContain('Ready to accept connections');
    process.stdout.write(
      `[scaleout] kill test: ${stats.resends} batch(es) re-sent after the kill, ${stats.skipped} of them had landed\n`,
    );
  });

  test('(d) read(fromSeq) after MAXLEN trimming returns null; a subscription behind the trim is reset', async () => {
    // Small stream nodes so `MAXLEN ~` (which trims whole nodes) trims at this scale.
    const redis = await redisServer({ config: { 'stream-node-max-entries': '10' } });
    const log = await openLog(redis.url, { maxLen: 20 });
    for (let i = 0; i < 10; i++) await log.append({ receiver: 'rack-a', events: lines('a', i * 10, 10) });
    expect(await log.lastSeq()).toBe(100);
    expect(await log.read(1)).toBeNull();
    expect(await log.read(50)).toBeNull();
    const tail = await log.read(100);
    expect(tail?.map((r) => r.event.seq)).toEqual([100]);
    expect(await log.read(101)).toEqual([]);
    const kept = (await log.read(81)) ?? [];
    expect(kept.map((r) => r.event.seq)).toEqual(Array.from({ length: 20 }, (_, i) => 81 + i));

    const behind = new Collector();
    const sub = await log.subscribe(1, behind);
    await sub.done;
    expect(behind.resets).toEqual([{ reason: 'trimmed', epoch: log.epoch, nextSeq: 1 }]);
    expect(behind.received).toEqual([]);
  });

  test('(e) a subscription delivers every seq in order, once, across a redis-server SIGKILL and restart', async () => {
    const redis = await redisServer();
    const writer = await openLog(redis.url);
    const reader = await openLog(redis.url, { blockMs: 200, readCount: 7 });
    const seen = new Collector();
    const sub = await reader.subscribe(1, seen);
    const batches = 60;
    let killed: Promise<void> | null = null;
    await agent(writer, 'rack-a', batches, (i) => {
      if (i === 20) killed = redis.kill().then(() => redis.restart());
    });
    await killed;
    await seen.until((c) => c.received.length >= batches * BATCH);
    expect(seen.received.map((r) => r.event.seq)).toEqual(
      Array.from({ length: batches * BATCH }, (_, i) => i + 1),
    );
    expect(episodeIds(seen.received)).toEqual(episodeIds(lines('rack-a', 0, batches * BATCH)));
    expect(seen.resets).toEqual([]);

    // Live after the restart too: one more append arrives.
    await writer.append({ receiver: 'rack-b', events: lines('b', 0, 1) });
    await seen.until((c) => c.received.length === batches * BATCH + 1);
    await sub.close();
  });

  test('a subscription whose Redis lost its data stops with an epoch reset; read() from the old position is null', async () => {
    const redis = await redisServer();
    const log = await openLog(redis.url, { blockMs: 200 });
    await log.append({ receiver: 'rack-a', events: lines('a', 0, 3) });
    const seen = new Collector();
    const sub = await log.subscribe(2, seen);
    await seen.until((c) => c.received.length === 2);
    await redis.kill();
    fs.rmSync(redis.dir, { recursive: true, force: true });
    fs.mkdirSync(redis.dir);
    await redis.restart();
    await sub.done;
    expect(seen.resets).toEqual([{ reason: 'epoch', epoch: null, nextSeq: 4 }]);
    expect(seen.received.map((r) => r.event.seq)).toEqual([2, 3]);
    // The position belongs to a stream that no longer exists: no events, a fresh start.
    const oldEpoch = log.epoch;
    expect(await log.read(2)).toBeNull();
    await log.append({ receiver: 'rack-a', events: lines('a', 3, 1) });
    expect(log.epoch).not.toBe(oldEpoch);
    expect(await log.read(2, { epoch: oldEpoch })).toBeNull();
    expect((await log.read(1))?.map((r) => r.event.seq)).toEqual([1]);
    expect(await log.read(1, { epoch: oldEpoch })).toBeNull();
  });
});
