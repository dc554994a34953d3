/**
 * The scale-out agent as a real process of the built CLI (`npm run build:server` first), against
 * a real redis-server, over real files: crashes of the agent, of Redis, and a cut connection.
 * Every assertion is at the stream (what replicas read), the snapshot and the heartbeat.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, onTestFailed, test, vi } from 'vitest';
import {
  alertDetailsOf,
  DropProxy,
  episodeIdsOf,
  fetchRows,
  Lab,
  readAll,
  spawnAgent,
} from '../../test/support/agent.js';
import { redisServer } from '../../test/support/redis-server.js';
import { openLog } from '../../test/support/stream-harness.js';
import { tempDir } from '../../test/support/tmp.js';
import { readHeartbeat } from '../scaleout/heartbeat.js';
import type { StreamRecord } from '../scaleout/records.js';
import type { RedisStreamLog } from '../scaleout/redis-stream-log.js';
import { readSnapshot } from '../scaleout/snapshot.js';

const LONG = { timeout: 90_000, interval: 200 };

/** Waits until the stream holds every line the labs wrote (counted per receiver). */
async function waitForAll(log: RedisStreamLog, labs: Record<string, Lab>): Promise<StreamRecord[]> {
  let records: StreamRecord[] = [];
  await vi.waitFor(async () => {
    records = await readAll(log);
    const seen = `${records.length} records, epoch ${log.epoch}, last seq ${records.at(-1)?.event.seq}`;
    for (const [receiver, lab] of Object.entries(labs)) {
      expect(episodeIdsOf(records, receiver).length, seen).toBeGreaterThanOrEqual(lab.ids.length);
      expect(alertDetailsOf(records, receiver).length, seen).toBeGreaterThanOrEqual(lab.alerts.length);
    }
  }, LONG);
  return records;
}

/** Every line of every lab exactly once, in file order; the stream's seqs dense from 1. */
function expectExactlyOnce(records: readonly StreamRecord[], labs: Record<string, Lab>): void {
  for (const [receiver, lab] of Object.entries(labs)) {
    expect(episodeIdsOf(records, receiver)).toEqual(lab.ids);
    expect(alertDetailsOf(records, receiver)).toEqual(lab.alerts);
  }
  expect(records.map((r) => r.event.seq)).toEqual(records.map((_, i) => i + 1));
}

describe('agent', () => {
  test('killed the moment an append was answered, then restarted after the lab wrote and rotated: no line twice, none missing; the snapshot counts each once', async () => {
    const redis = await redisServer();
    const lab = new Lab(tempDir(), 'a');
    lab.writeIndex(12_000); // ~2.9 MB: three reader batches
    lab.writeAlerts(300);
    const labs = { 'rack-a': lab };

    // One row store across the restarts: the rows a killed run appended without recording them
    // are found in the stream by the next one.
    const stateDir = tempDir('cis490-agent-');
    const first = spawnAgent(
      { dataRoot: lab.root, redisUrl: redis.url, receiver: 'rack-a', args: ['--state-dir', stateDir] },
      { CIS490_FAULT_KILL_AFTER_APPENDS: '2' },
    );
    expect((await first.exited).signal, first.output()).toBe('SIGKILL');
    const log = await openLog(redis.url);
    const landed = episodeIdsOf(await readAll(log), 'rack-a');
    // Some batch landed and its reader never heard of it; the rest did not.
    expect(landed.length).toBeGreaterThan(0);
    expect(landed.length).toBeLessThan(12_000);
    expect(landed).toEqual(lab.ids.slice(0, landed.length));

    // The lab goes on while the agent is down: more lines, a rename rotation, a new file.
    lab.writeIndex(500);
    lab.rotateIndex();
    lab.writeIndex(700);
    lab.writeAlerts(40);

    const second = spawnAgent({
      dataRoot: lab.root,
      redisUrl: redis.url,
      receiver: 'rack-a',
      args: ['--snapshot-interval', '0.2', '--state-dir', stateDir],
    });
    expectExactlyOnce(await waitForAll(log, labs), labs);
    await vi.waitFor(async () => {
      const snap = await readSnapshot(log, 'rack-a');
      expect(snap?.state.total_episodes).toBe(lab.ids.length);
      expect(snap?.state.total_alerts).toBe(lab.alerts.length);
      expect(snap?.epoch).toBe(log.epoch);
    }, LONG);

    // Killed again, at whatever instant, three times while the lab writes: still each line once.
    let agent = second;
    for (let round = 0; round < 3; round++) {
      const before = episodeIdsOf(await readAll(log), 'rack-a').length;
      lab.writeIndex(6000);
      lab.writeAlerts(20);
      await vi.waitFor(async () => {
        expect(episodeIdsOf(await readAll(log), 'rack-a').length).toBeGreaterThan(before);
      }, LONG);
      await agent.kill('SIGKILL');
      agent = spawnAgent({
        dataRoot: lab.root,
        redisUrl: redis.url,
        receiver: 'rack-a',
        args: ['--state-dir', stateDir],
      });
    }
    const records = await waitForAll(log, labs);
    expectExactlyOnce(records, labs);
    await agent.waitForLog('first pass appended');
    // Its row export: exactly the receiver's episode and alert records of the stream, at their seqs.
    const beat = await readHeartbeat(log, 'rack-a');
    const exported = await fetchRows(beat?.url ?? '', log.epoch, await log.lastSeq(), 5000);
    expect(exported.complete).toBe(true);
    const expectedRows = records
      .filter((r) => r.receiver === 'rack-a' && (r.event.type === 'episode' || r.event.type === 'alert'))
      .map((r) => r.event);
    expect(exported.rows.map((r) => ({ ...r.event, seq: r.seq }))).toEqual(expectedRows);
    expect((await agent.kill('SIGTERM')).code, agent.output()).toBe(0);
  }, 240_000);

  test('Redis SIGKILLed while two agents append, restarted on its dir: every line of every file once in the stream, seq dense, epoch unchanged', async () => {
    const redis = await redisServer();
    onTestFailed(() => {
      process.stderr.write(`--- redis-server printed:\n${redis.output.slice(-5000)}\n`);
    });
    const labs = { 'rack-a': new Lab(tempDir(), 'a'), 'rack-b': new Lab(tempDir(), 'b') };
    for (const lab of Object.values(labs)) {
      lab.writeIndex(3000);
      lab.writeAlerts(50);
    }
    const log = await openLog(redis.url);
    const epoch = log.epoch;
    for (const [receiver, lab] of Object.entries(labs)) {
      spawnAgent({ dataRoot: lab.root, redisUrl: redis.url, receiver });
    }
    // The labs keep writing all along (a batch every few milliseconds).
    const writing = setInterval(() => {
      for (const lab of Object.values(labs)) {
        lab.writeIndex(40);
        if (lab.ids.length % 400 === 0) lab.writeAlerts(3);
      }
    }, 5);
    try {
      // Both agents are appending (each has lines in the stream) when Redis dies.
      await vi.waitFor(async () => {
        const records = await readAll(log);
        for (const receiver of Object.keys(labs)) {
          expect(episodeIdsOf(records, receiver).length).toBeGreaterThan(1000);
        }
      }, LONG);
      await redis.kill();
      await redis.restart();
      const afterRestart = await log.lastSeq();
      await vi.waitFor(async () => expect(await log.lastSeq()).toBeGreaterThan(afterRestart + 2000), LONG);
    } finally {
      clearInterval(writing);
    }
    const records = await waitForAll(log, labs);
    expectExactlyOnce(records, labs);
    expect(await log.ensureEpoch()).toBe(epoch);
  }, 180_000);

  test('a receiver cut off from Redis for 30 s while its lab writes: its heartbeat goes stale, then it catches up in order and its heartbeat is fresh', async () => {
    const redis = await redisServer();
    const proxy = await DropProxy.start(redis.port);
    const lab = new Lab(tempDir(), 'a');
    lab.writeIndex(2000);
    lab.writeAlerts(30);
    const labs = { 'rack-a': lab };
    spawnAgent({
      dataRoot: lab.root,
      redisUrl: proxy.url,
      receiver: 'rack-a',
      args: ['--heartbeat-interval', '0.5'],
    });
    const log = await openLog(redis.url);
    await waitForAll(log, labs);
    await vi.waitFor(async () => expect(await readHeartbeat(log, 'rack-a')).not.toBeNull(), LONG);

    proxy.cut();
    const cutAt = Date.now();
    const sent = lab.ids.length;
    lab.writeIndex(1500);
    lab.writeAlerts(20);
    // Three missed beats: the key expires, replicas call the receiver offline.
    await vi.waitFor(async () => expect(await readHeartbeat(log, 'rack-a')).toBeNull(), LONG);
    expect(episodeIdsOf(await readAll(log), 'rack-a')).toEqual(lab.ids.slice(0, sent));
    lab.writeIndex(1500);
    // The cut lasts 30 s: the fault's duration, not a wait for a result.
    await delay(Math.max(0, 30_000 - (Date.now() - cutAt)));
    expect(episodeIdsOf(await readAll(log), 'rack-a')).toEqual(lab.ids.slice(0, sent));
    lab.writeIndex(500);

    proxy.restore();
    const restoredAt = new Date();
    expectExactlyOnce(await waitForAll(log, labs), labs);
    await vi.waitFor(async () => {
      const hb = await readHeartbeat(log, 'rack-a');
      expect(hb).not.toBeNull();
      expect(Date.parse(hb?.at ?? '')).toBeGreaterThanOrEqual(restoredAt.getTime() - 1000);
    }, LONG);
  }, 180_000);
});
