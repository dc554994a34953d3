/**
 * Which receivers' agents are up, as a replica sees them (against a real redis-server): up while
 * the heartbeat key is there, down once it expired, up again when the agent writes again; a
 * clean stop is down at once; while Redis is away nothing is guessed.
 */
import { describe, expect, it, vi } from 'vitest';
import { capturedLogger } from '../../test/support/log.js';
import { redisServer } from '../../test/support/redis-server.js';
import { openLog } from '../../test/support/stream-harness.js';
import { HeartbeatWriter } from '../scaleout/heartbeat.js';
import { AgentWatch } from './agent-watch.js';
import { API_RECEIVER } from './feed.js';

const WAIT = { timeout: 10_000, interval: 20 };

describe('AgentWatch', () => {
  it('calls an agent down when its heartbeat expires, up when it writes again, and keeps its last heartbeat', async () => {
    const redis = await redisServer();
    const log = await openLog(redis.url);
    const { logger, lines } = capturedLogger();
    const writer = (receiver: string) =>
      new HeartbeatWriter({
        log,
        receiver,
        url: `http://${receiver}`,
        version: 't',
        intervalMs: 100,
        logger,
      });
    const a = writer('rack-a');
    const b = writer('rack-b');
    await a.start();
    await b.start();
    // The replicas' own posts are appended as a receiver of their own: no agent to watch there.
    await log.command(['SADD', log.keys.receivers, API_RECEIVER]);
    // Every command the watch sends, by name.
    const sent: string[] = [];
    const stream = {
      keys: log.keys,
      command: (args: string[]) => {
        sent.push(args[0] ?? '');
        return log.command(args);
      },
    };
    const watch = new AgentWatch({ stream, logger, intervalMs: 50 });
    watch.start();
    try {
      await vi.waitFor(() => {
        const s = watch.statuses();
        expect(Object.keys(s)).toEqual(['rack-a', 'rack-b']);
        expect(s['rack-a']).toMatchObject({ up: true, since: null });
        expect(s['rack-b']).toMatchObject({ up: true, since: null });
      }, WAIT);

      // rack-b's agent dies (no clean stop): down once its key expires (3 × 100 ms), not before.
      await b.stop(false);
      const lastWritten = watch.statuses()['rack-b']?.last_heartbeat;
      await vi.waitFor(() => expect(watch.statuses()['rack-b']?.up).toBe(false), WAIT);
      const down = watch.statuses()['rack-b'];
      expect(down?.since).not.toBeNull();
      expect(down?.last_heartbeat).not.toBeNull();
      expect(String(down?.last_heartbeat) >= String(lastWritten)).toBe(true);
      expect(watch.statuses()['rack-a']?.up).toBe(true);
      expect(lines.some((l) => l.msg === 'agent down: no heartbeat' && l.receiver === 'rack-b')).toBe(true);

      // It comes back.
      const b2 = writer('rack-b');
      await b2.start();
      await vi.waitFor(() => expect(watch.statuses()['rack-b']?.up).toBe(true), WAIT);
      expect(watch.statuses()['rack-b']?.since).not.toBe(down?.since);

      // A clean stop deletes the key: down at the next look.
      await b2.stop(true);
      await vi.waitFor(() => expect(watch.statuses()['rack-b']?.up).toBe(false), WAIT);

      // Redis away: nothing is called down for it; the statuses read before stay, and no read is
      // sent behind the unanswered one (the client would queue every one of them for Redis).
      const before = watch.statuses();
      await redis.kill();
      await vi.waitFor(
        () => expect(lines.some((l) => l.msg === 'agent heartbeats not read; statuses kept')).toBe(true),
        WAIT,
      );
      const sentWhileAway = sent.length;
      for (let i = 0; i < 20; i++) await watch.look();
      expect(sent.length).toBe(sentWhileAway);
      expect(watch.statuses()).toEqual(before);
      await redis.restart();
      await vi.waitFor(
        () => expect(lines.some((l) => l.msg === 'agent heartbeats read again')).toBe(true),
        WAIT,
      );
      await vi.waitFor(() => expect(watch.statuses()['rack-a']?.up).toBe(true), WAIT);
    } finally {
      watch.stop();
      await a.stop(false);
    }
  });

  it('says when two agents write one receiver’s heartbeat, with both URLs', async () => {
    const redis = await redisServer();
    const log = await openLog(redis.url);
    const { logger } = capturedLogger();
    const writer = (url: string) =>
      new HeartbeatWriter({ log, receiver: 'rack-c', url, version: 't', intervalMs: 60, logger });
    const one = writer('http://b:8491');
    const two = writer('http://a:8491');
    await one.start();
    await two.start();
    const watch = new AgentWatch({ stream: log, logger, intervalMs: 30 });
    watch.start();
    try {
      await vi.waitFor(
        () =>
          expect(watch.statuses()['rack-c']?.conflict).toEqual([
            { url: 'http://a:8491', pid: process.pid },
            { url: 'http://b:8491', pid: process.pid },
          ]),
        WAIT,
      );
      await two.stop(false);
      await vi.waitFor(() => expect(watch.statuses()['rack-c']?.conflict).toBeUndefined(), WAIT);
      expect(watch.statuses()['rack-c']?.up).toBe(true);
    } finally {
      watch.stop();
      await one.stop(false);
    }
  });

  it('leaves a retired receiver alone until an agent writes again, and ignores other reads of receivers it does not watch', async () => {
    const redis = await redisServer();
    const log = await openLog(redis.url);
    const { logger } = capturedLogger();
    const old = new HeartbeatWriter({
      log,
      receiver: 'rack-old',
      url: 'http://old',
      version: 't',
      intervalMs: 60,
      logger,
    });
    await old.start();
    await old.stop(true); // gone for good
    const watch = new AgentWatch({ stream: log, logger, intervalMs: 30 });
    watch.start();
    try {
      await vi.waitFor(() => expect(watch.statuses()['rack-old']?.up).toBe(false), WAIT);
      await log.command(['SADD', log.keys.retired, 'rack-old']);
      await vi.waitFor(() => expect(watch.statuses()['rack-old']).toBeUndefined(), WAIT);
      // A detail proxy reading its (missing) heartbeat does not bring it back as offline.
      watch.note('rack-old', null);
      watch.note('never-seen', null);
      expect(Object.keys(watch.statuses())).toEqual([]);
      // An agent under that name again: watched again.
      const again = new HeartbeatWriter({
        log,
        receiver: 'rack-old',
        url: 'http://new',
        version: 't',
        intervalMs: 60,
        logger,
      });
      await again.start();
      await vi.waitFor(() => expect(watch.statuses()['rack-old']?.up).toBe(true), WAIT);
      await again.stop(false);
    } finally {
      watch.stop();
    }
  });
});
