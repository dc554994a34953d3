/**
 * The agent's heartbeat against a real redis-server: two agents started with one receiver name
 * find each other (each, and in the key replicas read); a restart that finds its predecessor's
 * unexpired heartbeat is not taken for a second agent; the conflict is over once the other stops.
 */
import { describe, expect, it, vi } from 'vitest';
import { capturedLogger } from '../../test/support/log.js';
import { redisServer } from '../../test/support/redis-server.js';
import { openLog } from '../../test/support/stream-harness.js';
import { HeartbeatWriter, readHeartbeat } from './heartbeat.js';
import type { RedisStreamLog } from './redis-stream-log.js';

const WAIT = { timeout: 10_000, interval: 20 };

function writer(log: RedisStreamLog, url: string, logger = capturedLogger().logger): HeartbeatWriter {
  return new HeartbeatWriter({ log, receiver: 'rack-2', url, version: 't', intervalMs: 60, logger });
}

describe('HeartbeatWriter', () => {
  it('finds a second agent writing the same receiver name, says so in the key, and clears once it stops', async () => {
    const redis = await redisServer();
    const log = await openLog(redis.url);
    const { logger, lines } = capturedLogger();
    const a = writer(log, 'http://a:8491', logger);
    const b = writer(log, 'http://b:8491');
    await a.start();
    await b.start();
    try {
      await vi.waitFor(() => {
        expect(a.conflict?.url).toBe('http://b:8491');
        expect(b.conflict?.url).toBe('http://a:8491');
      }, WAIT);
      await vi.waitFor(async () => {
        const beat = await readHeartbeat(log, 'rack-2');
        expect(beat?.conflict).toBeDefined();
      }, WAIT);
      expect(lines.filter((l) => String(l.msg).startsWith('another agent writes')).length).toBe(1);
      const since = a.conflict?.since;

      await b.stop(false);
      await vi.waitFor(() => expect(a.conflict).toBeNull(), WAIT);
      expect(since).toMatch(/^\d{4}-\d\d-\d\dT/);
      const beat = await readHeartbeat(log, 'rack-2');
      expect(beat?.url).toBe('http://a:8491');
      // The clean writes after it carry no conflict.
      await vi.waitFor(
        async () => expect((await readHeartbeat(log, 'rack-2'))?.conflict).toBeUndefined(),
        WAIT,
      );
    } finally {
      await a.stop(false);
      await b.stop(false);
    }
  });

  it('is not fooled by its predecessor’s heartbeat after a restart', async () => {
    const redis = await redisServer();
    const log = await openLog(redis.url);
    const before = writer(log, 'http://a:8491');
    await before.start();
    await before.stop(false); // killed: its key lives on for three intervals
    const after = writer(log, 'http://a:8491');
    await after.start();
    try {
      // Many writes later, still none.
      for (let i = 0; i < 8; i++) await after.beat();
      expect(after.conflict).toBeNull();
      expect((await readHeartbeat(log, 'rack-2'))?.conflict).toBeUndefined();
    } finally {
      await after.stop(false);
    }
  });
});
