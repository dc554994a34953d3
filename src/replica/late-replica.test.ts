/**
 * Done-when item 6 with real agents (the built CLI, `npm run build:server` first): a replica that
 * starts after the stream was trimmed builds its live state from the snapshots + the tail and its
 * catalog's older rows from the agents' row export, and then holds the very rows the replica that
 * read them from the stream holds, at the same seqs. An agent down meanwhile is reported (readyz
 * detail via `catalogStatus`, a log line) and tried again; nothing passes for complete before.
 */
import { describe, expect, test, vi } from 'vitest';
import { Lab, spawnAgent } from '../../test/support/agent.js';
import { capturedLogger } from '../../test/support/log.js';
import { redisServer } from '../../test/support/redis-server.js';
import { startReplica, until } from '../../test/support/replica-harness.js';
import { openLog } from '../../test/support/stream-harness.js';
import { tempDir } from '../../test/support/tmp.js';
import { readHeartbeat } from '../scaleout/heartbeat.js';
import { readSnapshot } from '../scaleout/snapshot.js';
import type { Replica } from './replica.js';

const LONG = { timeout: 90_000, interval: 100 };
const FAST = ['--snapshot-interval', '0.2', '--heartbeat-interval', '0.2'];

function rowCount(replica: Replica): number {
  const dump = replica.catalog.dump();
  return dump.episodes.length + dump.alerts;
}

describe('a replica started after the stream was trimmed', () => {
  test('(6) builds from snapshots + tail, fetches the older catalog rows from the agents, and holds the same rows as the others at equal seq; an agent down is reported and retried', async () => {
    const redis = await redisServer();
    const log = await openLog(redis.url);
    const labs = { 'rack-a': new Lab(tempDir(), 'a'), 'rack-b': new Lab(tempDir(), 'b') };
    const stateDirs = { 'rack-a': tempDir('cis490-agent-'), 'rack-b': tempDir('cis490-agent-') };
    for (const lab of Object.values(labs)) {
      lab.writeIndex(400);
      lab.writeAlerts(30);
    }
    const agent = (receiver: 'rack-a' | 'rack-b') =>
      spawnAgent({
        dataRoot: labs[receiver].root,
        redisUrl: redis.url,
        receiver,
        args: ['--state-dir', stateDirs[receiver], ...FAST],
      });
    const agents = { 'rack-a': agent('rack-a'), 'rack-b': agent('rack-b') };
    const early = await startReplica(redis.url);
    const expected = () => Object.values(labs).reduce((n, lab) => n + lab.ids.length + lab.alerts.length, 0);
    await vi.waitFor(() => expect(rowCount(early)).toBe(expected()), LONG);

    // The stream keeps only its newest 50 entries; the labs go on writing.
    const trimmedAt = (await log.lastSeq()) - 50;
    await log.command(['XTRIM', log.keys.stream, 'MINID', `${trimmedAt + 1}-0`]);
    for (const lab of Object.values(labs)) {
      lab.writeIndex(60);
      lab.writeAlerts(5);
    }
    await vi.waitFor(() => expect(rowCount(early)).toBe(expected()), LONG);
    // The agents' snapshots are past the trim (the stream holds what came after them).
    await vi.waitFor(async () => {
      for (const receiver of Object.keys(labs)) {
        expect((await readSnapshot(log, receiver))?.seq ?? 0).toBeGreaterThan(trimmedAt);
      }
    }, LONG);

    const late = await startReplica(redis.url);
    await vi.waitFor(() => expect(late.catalogStatus()).toEqual({ complete: true, pending: [] }), LONG);
    let head = await log.lastSeq();
    await Promise.all([until(early, head), until(late, head)]);
    expect(late.catalog.position()).toEqual(early.catalog.position());
    const lateDump = late.catalog.dump();
    // The rows below the trim came from the agents: every line of both labs, once.
    expect(lateDump.episodes.length + lateDump.alerts).toBe(expected());
    expect(lateDump.episodes.some((e) => e.seq <= trimmedAt)).toBe(true);
    expect(lateDump).toEqual(early.catalog.dump());
    expect(late.feed.state.total_episodes).toBe(early.feed.state.total_episodes);
    // Hosts under `<receiver>/<host>` once, as the replica that read every event has them: the
    // agents' snapshots keep their hosts under their own ids (not `rack-a/host-01`, which a
    // replica built from them showed as `rack-a/rack-a/host-01`).
    const hostKeys = Object.keys(late.feed.state.hosts_indexed);
    expect(hostKeys.length).toBeGreaterThan(0);
    for (const key of hostKeys) expect(key).toMatch(/^rack-[ab]\/[^/]+$/);
    expect(late.feed.state.hosts_indexed).toEqual(early.feed.state.hosts_indexed);
    expect(late.feed.state.host_last_alert).toEqual(early.feed.state.host_last_alert);

    // rack-b's agent dies; a replica built now gets rack-a's rows, says rack-b's are missing, and
    // keeps trying until the agent is back.
    await agents['rack-b'].kill();
    await vi.waitFor(async () => expect(await readHeartbeat(log, 'rack-b')).toBeNull(), LONG);
    const { logger, lines } = capturedLogger();
    const second = await startReplica(redis.url, tempDir('cis490-replica-'), {
      logger,
      backfillRetryMs: 100,
    });
    await vi.waitFor(() => {
      const status = second.catalogStatus();
      expect(status.complete).toBe(false);
      expect(status.pending.map((p) => [p.receiver, p.error?.code])).toEqual([
        ['rack-b', 'agent_unavailable'],
      ]);
    }, LONG);
    expect(lines.some((l) => String(l.msg).startsWith('catalog incomplete: rows of receiver rack-b'))).toBe(
      true,
    );
    const again = agent('rack-b');
    await again.waitForLog('agent ready');
    await vi.waitFor(() => expect(second.catalogStatus()).toEqual({ complete: true, pending: [] }), LONG);
    head = await log.lastSeq();
    await Promise.all([until(early, head), until(second, head)]);
    expect(second.catalog.dump()).toEqual(early.catalog.dump());
  }, 180_000);
});
