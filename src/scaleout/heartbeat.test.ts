/**
 * The agent's heartbeat against a real redis-server: two agents started with one receiver name
 * find each other (each, and in the key replicas read), also when they write at different
 * intervals; a restart that finds its predecessor's unexpired heartbeat is not taken for a second
 * agent; the conflict is over once the other has written nothing for its TTL; a clean stop leaves
 * no heartbeat behind.
 */
import { describe, expect, it } from 'vitest';
import { capturedLogger } from '../../test/support/log.js';
import { redisServer } from '../../test/support/redis-server.js';
import { openLog } from '../../test/support/stream-harness.js';
import { HeartbeatWriter, readHeartbeat } from './heartbeat.js';
import type { RedisStreamLog } from './redis-stream-log.js';

/** A writer whose timer never fires within a test (each write is the test's `beat()`). */
function writer(
  log: RedisStreamLog,
  url: string,
  o: { intervalMs?: number; now?: () => Date; logger?: ReturnType<typeof capturedLogger>['logger'] } = {},
): HeartbeatWriter {
  return new HeartbeatWriter({
    log,
    receiver: 'rack-2',
    url,
    version: 't',
    intervalMs: o.intervalMs ?? 600_000,
    logger: o.logger ?? capturedLogger().logger,
    ...(o.now ? { now: o.now } : {}),
  });
}

describe('HeartbeatWriter', () => {
  it('finds a second agent under the same name, at any pace, until it has written nothing for its TTL', async () => {
    const redis = await redisServer();
    const log = await openLog(redis.url);
    const { logger, lines } = capturedLogger();
    let clock = Date.parse('2026-12-07T10:00:00Z');
    const now = () => new Date(clock);
    // The slow one writes every 5 s (TTL 15 s), the fast one every second.
    const slow = writer(log, 'http://a:8491', { intervalMs: 5000, now });
    const fast = writer(log, 'http://b:8491', { intervalMs: 1000, now, logger });
    await slow.start();
    await fast.start(); // finds slow's, but has not written yet: could be a predecessor's
    try {
      expect(fast.conflict).toBeNull();
      await slow.beat(); // finds fast's
      expect(slow.conflict?.url).toBe('http://b:8491');
      await fast.beat(); // finds slow's
      expect(fast.conflict?.url).toBe('http://a:8491');
      // Four of its own in a row between two of the slow one's: still a conflict.
      for (let i = 0; i < 4; i++) {
        clock += 1000;
        await fast.beat();
        expect(fast.conflict, `own write ${i + 1}`).not.toBeNull();
      }
      expect((await readHeartbeat(log, 'rack-2'))?.conflict?.url).toBe('http://a:8491');
      expect(lines.filter((l) => String(l.msg).startsWith('another agent writes')).length).toBe(1);

      // The slow one stops: over once its TTL (15 s) and an interval (1 s) have passed since the
      // fast one last found it (4 s ago now).
      await slow.stop(false);
      clock += 11_000;
      await fast.beat();
      expect(fast.conflict).not.toBeNull();
      clock += 2000;
      await fast.beat();
      expect(fast.conflict).toBeNull();
      await fast.beat();
      expect((await readHeartbeat(log, 'rack-2'))?.conflict).toBeUndefined();
    } finally {
      await slow.stop(false);
      await fast.stop(false);
    }
  });

  it('is not fooled by its predecessor’s heartbeat after a restart, and a clean stop removes its key', async () => {
    const redis = await redisServer();
    const log = await openLog(redis.url);
    const before = writer(log, 'http://a:8491');
    await before.start();
    await before.stop(false); // killed: its key lives on for three intervals
    const after = writer(log, 'http://a:8491');
    await after.start();
    for (let i = 0; i < 5; i++) await after.beat();
    expect(after.conflict).toBeNull();
    expect((await readHeartbeat(log, 'rack-2'))?.conflict).toBeUndefined();
    // A write still in flight when the stop comes lands before the key is removed, not after.
    void after.beat();
    await after.stop(true);
    expect(await readHeartbeat(log, 'rack-2')).toBeNull();
  });
});
