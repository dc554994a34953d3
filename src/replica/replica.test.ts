import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
/**
 * Replicas (`serve --redis`) against a real redis-server: several receivers appending (directly
 * through RedisStreamLog, as their agents do), replicas building from snapshots + stream.
 */
import { describe, expect, test, vi } from 'vitest';
import { redisServer } from '../../test/support/redis-server.js';
import {
  appendLab,
  type Lab,
  newLab,
  receiverEpisode,
  startReplica,
  sums,
  until,
  writeSnapshot,
} from '../../test/support/replica-harness.js';
import { openLog } from '../../test/support/stream-harness.js';
import { tempDir } from '../../test/support/tmp.js';
import { DB_FILE } from '../catalog/db.js';
import type { Replica } from './replica.js';

/** A real Redis, a replica following it, and rack-a's first episode applied by it. */
async function replicaWithOneEpisode() {
  const redis = await redisServer();
  const log = await openLog(redis.url);
  const replica = await startReplica(redis.url);
  const episode = (n: number) => receiverEpisode('rack-a', n);
  await log.append({ receiver: 'rack-a', events: [episode(1)] });
  await until(replica, await log.lastSeq());
  return { redis, log, replica, episode };
}

function totals(replica: Replica) {
  const { total_episodes, total_alerts, total_bytes } = replica.feed.state;
  return { total_episodes, total_alerts, total_bytes };
}

describe('replica', () => {
  test('(4) three receivers × two replicas: totals are the sums, hosts are (receiver, host), catalogs identical', async () => {
    const redis = await redisServer();
    const log = await openLog(redis.url);
    const labs: Lab[] = ['rack-a', 'rack-b', 'rack-c'].map(newLab);
    // Before the replicas: part of it covered by snapshots, part only in the stream.
    for (const lab of labs) await appendLab(log, lab, 30);
    for (const lab of labs) await writeSnapshot(log, lab, await log.lastSeq());
    for (const lab of labs) await appendLab(log, lab, 25);
    const one = await startReplica(redis.url);
    const two = await startReplica(redis.url);
    // While they follow.
    for (const lab of labs) await appendLab(log, lab, 40);
    const head = await log.lastSeq();
    await Promise.all([until(one, head), until(two, head)]);

    for (const replica of [one, two]) {
      expect(totals(replica)).toEqual(sums(labs));
      const state = replica.feed.state;
      // Every receiver has host-0 and host-1: six hosts, not two.
      expect(Object.keys(state.hosts_indexed).sort()).toEqual(
        labs.flatMap((l) => [`${l.receiver}/host-0`, `${l.receiver}/host-1`]).sort(),
      );
      for (const lab of labs) {
        expect(state.receivers?.[lab.receiver]?.total_episodes).toBe(lab.episodes);
      }
    }
    expect(one.catalog.position()).toEqual(two.catalog.position());
    expect(one.catalog.position()?.seq).toBe(head);
    const dump = one.catalog.dump();
    expect(dump).toEqual(two.catalog.dump());
    // Only the stream tail after each replica's... no: the catalog holds every episode the stream holds.
    expect(dump.episodes).toHaveLength(labs.reduce((n, l) => n + l.episodes, 0));
    expect(dump.alerts).toBe(labs.reduce((n, l) => n + l.alerts, 0));
  });

  test('a restarted replica resumes its catalog from its committed seq: nothing twice, nothing skipped', async () => {
    const redis = await redisServer();
    const log = await openLog(redis.url);
    const lab = newLab('rack-a');
    await appendLab(log, lab, 50);
    const dir = tempDir('cis490-replica-');
    const first = await startReplica(redis.url, dir);
    await until(first, await log.lastSeq());
    await first.stop();
    await appendLab(log, lab, 50);
    const again = await startReplica(redis.url, dir);
    const head = await log.lastSeq();
    await until(again, head);
    const dump = again.catalog.dump();
    expect(dump.episodes.map((e) => e.episode_id)).toEqual(
      Array.from({ length: 100 }, (_, i) => `rack-a-ep-${i}`),
    );
    expect(dump.alerts).toBe(2);
    expect(again.catalog.position()?.seq).toBe(head);
    expect(totals(again)).toEqual(sums([lab]));
  });

  test('a restarted replica keeps the alert actions and live phases viewers posted before the receivers’ latest snapshots', async () => {
    const redis = await redisServer();
    const log = await openLog(redis.url);
    const lab = newLab('rack-a');
    await appendLab(log, lab, 20);
    const action = {
      dedup_key: 'host-01:disk_low',
      kind: 'acknowledge' as const,
      by: 'Ada',
      at: new Date().toISOString(),
      until: null,
      note: null,
      receiver: 'rack-a',
    };
    const key = 'rack-a/host-01:disk_low';
    const phase = {
      host_id: 'rack-a/host-01',
      episode_id: 'ep-1',
      phase: 'grasp',
      at: new Date().toISOString(),
    };
    await log.append({
      receiver: '_api',
      events: [
        { type: 'alert_action', dedup_key: key, action },
        { type: 'alert_action', dedup_key: 'rack-a/gone', action: { ...action, dedup_key: 'gone' } },
        { type: 'alert_action', dedup_key: 'rack-a/gone', action: null },
        { type: 'phase', ...phase },
      ],
    });
    const dir = tempDir('cis490-replica-');
    const first = await startReplica(redis.url, dir);
    await until(first, await log.lastSeq());
    expect(first.feed.state.alert_actions?.[key]).toEqual(action);
    await first.stop();
    // The receiver's snapshot moves past the posts: a restart no longer reads the stream below it.
    await appendLab(log, lab, 20);
    await writeSnapshot(log, lab, await log.lastSeq());
    await appendLab(log, lab, 5);
    const again = await startReplica(redis.url, dir);
    await until(again, await log.lastSeq());
    expect(again.feed.state.alert_actions?.[key]).toEqual(action);
    expect(Object.keys(again.feed.state.alert_actions ?? {})).toEqual([key]);
    expect(again.feed.state.live_phases?.['rack-a/host-01']).toMatchObject({
      phase: 'grasp',
      episode_id: 'ep-1',
    });

    // A catalog of the layout before (no kept posts): what the stream still holds is read back once.
    await again.stop();
    const file = new Database(path.join(dir, DB_FILE));
    file.exec('DELETE FROM replica_api_state; UPDATE replica_layout SET version = 3');
    file.close();
    const upgraded = await startReplica(redis.url, dir);
    await until(upgraded, await log.lastSeq());
    expect(upgraded.feed.state.alert_actions?.[key]).toEqual(action);
    expect(Object.keys(upgraded.feed.state.alert_actions ?? {})).toEqual([key]);
    expect(upgraded.catalog.apiReplayPending()).toBe(false);
  });

  test('(6, live state) a replica started after the stream was trimmed builds from snapshots + tail and matches the others; with no agent to fetch the older rows from, its catalog says it is incomplete', async () => {
    const redis = await redisServer();
    // A tiny MAXLEN: the stream keeps only the newest ~100 entries.
    const log = await openLog(redis.url, { maxLen: 100 });
    const labs: Lab[] = ['rack-a', 'rack-b'].map(newLab);
    const early = await startReplica(redis.url);
    for (let round = 0; round < 6; round++) {
      for (const lab of labs) await appendLab(log, lab, 60);
      // The agents' periodic snapshots.
      for (const lab of labs) await writeSnapshot(log, lab, await log.lastSeq());
    }
    for (const lab of labs) await appendLab(log, lab, 20);
    const oldest = (await log.command(['XRANGE', log.keys.stream, '-', '+', 'COUNT', '1'])) as [
      string,
      unknown,
    ][];
    expect(Number(oldest[0]?.[0].split('-')[0])).toBeGreaterThan(1);
    const late = await startReplica(redis.url);
    const head = await log.lastSeq();
    await Promise.all([until(early, head), until(late, head)]);
    expect(totals(late)).toEqual(sums(labs));
    expect(totals(late)).toEqual(totals(early));
    expect(Object.keys(late.feed.state.hosts_indexed).sort()).toEqual(
      Object.keys(early.feed.state.hosts_indexed).sort(),
    );
    // Both follow from here on alike.
    for (const lab of labs) await appendLab(log, lab, 5);
    const after = await log.lastSeq();
    await Promise.all([until(early, after), until(late, after)]);
    expect(totals(late)).toEqual(totals(early));
    expect(late.catalog.position()).toEqual(early.catalog.position());
    // These receivers have no agent (the test appends for them): the older rows cannot come, and
    // the catalog says so rather than passing for complete (late-replica.test.ts has the agents).
    await vi.waitFor(() => {
      const status = late.catalogStatus();
      expect(status.complete).toBe(false);
      expect(status.pending.map((p) => [p.receiver, p.error?.code])).toEqual([
        ['rack-a', 'agent_unavailable'],
        ['rack-b', 'agent_unavailable'],
      ]);
    });
    expect(early.catalogStatus().complete).toBe(true);
  });

  test('(2, catalog) Redis SIGKILLed and restarted on its dir while receivers append: each catalog has every record once, epoch unchanged', async () => {
    const redis = await redisServer();
    const log = await openLog(redis.url);
    const epoch = log.epoch;
    const one = await startReplica(redis.url);
    const two = await startReplica(redis.url);
    const receivers = ['rack-a', 'rack-b'];
    const BATCH = 10;
    const BATCHES = 60;
    let killed: Promise<void> | null = null;
    await Promise.all(
      receivers.map(async (receiver) => {
        for (let i = 0; i < BATCHES; i++) {
          const events = Array.from({ length: BATCH }, (_, k) => ({
            type: 'episode' as const,
            episode_id: `${receiver}-${i * BATCH + k}`,
            host_id: 'host-0',
            sha256: null,
            size_bytes: 1,
            received_at: null,
          }));
          await log.appendKeyed({
            receiver,
            mark: { source: 'index.jsonl', fileId: 'F1', startOffset: i * 100, endOffset: (i + 1) * 100 },
            events,
          });
          if (i === BATCHES / 2 && killed === null) killed = redis.kill().then(() => redis.restart());
        }
      }),
    );
    await killed;
    const head = await log.lastSeq();
    expect(log.epoch).toBe(epoch);
    await Promise.all([until(one, head), until(two, head)]);
    const expected = receivers
      .flatMap((r) => Array.from({ length: BATCH * BATCHES }, (_, i) => `${r}-${i}`))
      .sort();
    for (const replica of [one, two]) {
      expect(replica.feed.epoch).toBe(epoch);
      const ids = replica.catalog.dump().episodes.map((e) => e.episode_id);
      expect([...ids].sort()).toEqual(expected);
      expect(replica.feed.state.total_episodes).toBe(expected.length);
    }
    expect(head).toBe(expected.length);
  });

  test('Redis away for longer than a command times out (5 s): the replica reports the outage (its /readyz `stream`) and reads on once Redis is back', async () => {
    const { redis, log, replica, episode } = await replicaWithOneEpisode();
    await redis.kill();
    // Past the client's 5 s command timeout: the blocked read and the ones queued behind it fail
    // with a timeout, not with a lost connection.
    await vi.waitFor(() => expect(replica.streamError).not.toBeNull(), { timeout: 10_000, interval: 100 });
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    await redis.restart();
    await log.append({ receiver: 'rack-a', events: [episode(2), episode(3)] });
    const head = await log.lastSeq();
    await until(replica, head);
    expect(replica.feed.state.total_episodes).toBe(3);
    await vi.waitFor(() => expect(replica.streamError).toBeNull(), { timeout: 10_000, interval: 100 });
  }, 60_000);

  test('a replica that cannot apply the stream (its catalog refuses writes) is not ready until it can; after Redis came back empty, its /readyz says the stream answers again', async () => {
    const { redis, log, replica, episode } = await replicaWithOneEpisode();
    expect(replica.ready).toBe(true);
    // The catalog's disk fills: every apply throws.
    const apply = replica.catalog.apply.bind(replica.catalog);
    replica.catalog.apply = () => {
      throw new Error('SQLITE_FULL: database or disk is full');
    };
    await log.append({ receiver: 'rack-a', events: [episode(2)] });
    await vi.waitFor(() => expect(replica.ready).toBe(false), { timeout: 10_000, interval: 50 });
    await vi.waitFor(() => expect(replica.rebuildError).toMatch(/SQLITE_FULL/), {
      timeout: 10_000,
      interval: 50,
    });
    replica.catalog.apply = apply;
    await until(replica, await log.lastSeq());
    await vi.waitFor(() => expect(replica.ready).toBe(true), { timeout: 10_000, interval: 50 });
    expect(replica.rebuildError).toBeNull();

    // Redis loses its data: a new epoch. The replica rebuilds, and no stale outage stays in /readyz.
    await redis.kill();
    await vi.waitFor(() => expect(replica.streamError).not.toBeNull(), { timeout: 10_000, interval: 50 });
    fs.rmSync(redis.dir, { recursive: true, force: true });
    fs.mkdirSync(redis.dir, { recursive: true });
    await redis.restart();
    await vi.waitFor(() => expect(replica.feed.epoch).not.toBe(log.epoch), { timeout: 20_000, interval: 50 });
    expect(replica.streamError).toBeNull();
  }, 60_000);
});
