/**
 * The agent's row store against a real redis-server whose stream was trimmed (MAXLEN does so in a
 * long run): the store says its export lacks rows only when rows of its receiver may really be
 * missing — never for rows that were never its receiver's, nor after a clean restart.
 */
import { describe, expect, test } from 'vitest';
import { capturedLogger } from '../../test/support/log.js';
import { redisServer } from '../../test/support/redis-server.js';
import { lines, openLog } from '../../test/support/stream-harness.js';
import type { UnsequencedEvent } from '../protocol/index.js';
import type { RedisStreamLog } from '../scaleout/redis-stream-log.js';
import { AgentRowStore, type AnsweredMark, type StartMarks } from './rows.js';

const SOURCE = { episode: 'index.jsonl', alert: 'alerts.jsonl' } as const;

/** Appends `count` episode (or alert) events of `receiver`, keyed by a mark on file `fileId` when given. */
async function appended(
  log: RedisStreamLog,
  receiver: string,
  prefix: string,
  count: number,
  keyed?: { kind: 'episode' | 'alert'; fileId: string; startOffset: number },
) {
  const events: UnsequencedEvent[] =
    keyed?.kind === 'alert'
      ? Array.from({ length: count }, (_, i) => ({
          type: 'alert' as const,
          host_id: 'host-01',
          symptom: 'disk_full',
          detail: `${prefix}:${i + 1}`,
          suggested_fix: null,
          detected_at: null,
          dedup_key: null,
          receiver,
        }))
      : lines(prefix, 1, count).map((e) => ({ ...e, receiver }));
  const endOffset = (keyed?.startOffset ?? 0) + 100 * count;
  const mark = keyed && {
    source: SOURCE[keyed.kind],
    fileId: keyed.fileId,
    startOffset: keyed.startOffset,
    endOffset,
  };
  const result = await log.append({ receiver, events, ...(mark ? { mark } : {}) });
  if (result.status !== 'appended') throw new Error(`append answered ${result.status}`);
  const answered: AnsweredMark | null = keyed
    ? { kind: keyed.kind, fileId: keyed.fileId, offset: endOffset }
    : null;
  return { firstSeq: result.firstSeq, lastSeq: result.lastSeq, events, answered };
}

async function trimBelow(log: RedisStreamLog, seq: number): Promise<void> {
  await log.command(['XTRIM', log.keys.stream, 'MINID', `${seq}-0`]);
}

async function marksOf(log: RedisStreamLog, receiver: string): Promise<StartMarks> {
  return {
    episode: await log.marks(receiver, SOURCE.episode),
    alert: await log.marks(receiver, SOURCE.alert),
  };
}

describe('agent row store', () => {
  test('a store begun by a receiver with no earlier appends reconciles to complete after a trim; one whose receiver appended before reports the lost seqs as its gap', async () => {
    const redis = await redisServer();
    const log = await openLog(redis.url);
    // rack-b appends first, then rack-a's run starts; the stream is trimmed below rack-a's rows.
    await appended(log, 'rack-b', 'b', 40, { kind: 'episode', fileId: 'B1', startOffset: 0 });
    const { logger, lines: logged } = capturedLogger();
    const fresh = new AgentRowStore(null, logger);
    fresh.begin(log.epoch, { marks: await marksOf(log, 'rack-a'), headAtStart: await log.lastSeq() });
    const a = await appended(log, 'rack-a', 'a', 10, { kind: 'episode', fileId: 'A1', startOffset: 0 });
    fresh.record(a.firstSeq, a.events, a.answered as AnsweredMark);
    await appended(log, 'rack-b', 'b2', 5);
    await trimBelow(log, a.firstSeq + 5);

    await fresh.reconcile(log, 'rack-a');
    expect(fresh.gap).toBeNull();
    expect(fresh.dirtyFrom).toBeNull();
    expect(fresh.page(0, await log.lastSeq(), 100).map((r) => r.seq)).toEqual(
      a.events.map((_, i) => a.firstSeq + i),
    );
    expect(logged.filter((l) => l.level === 50)).toEqual([]);

    // rack-b's store is new too, but rack-b had appended in this epoch: its first 40 rows are only
    // in the stream, and the trim took them.
    const late = new AgentRowStore(null, logger);
    late.begin(log.epoch, { marks: await marksOf(log, 'rack-b'), headAtStart: await log.lastSeq() });
    await late.reconcile(log, 'rack-b');
    expect(late.gap).toEqual({ from: 1, to: a.firstSeq + 4 });
    // What the stream still holds of rack-b's was filled in.
    expect(late.count()).toBe(5);
    expect(late.dirtyFrom).toBeNull();
    fresh.close();
    late.close();
  });

  test('a restart after every append was recorded is clean even when the stream was trimmed past its quiet source; one killed before a record is dirty and names what the trim took', async () => {
    const redis = await redisServer();
    const log = await openLog(redis.url);
    const { logger } = capturedLogger();
    const store = new AgentRowStore(null, logger);
    store.begin(log.epoch, { marks: await marksOf(log, 'rack-a'), headAtStart: await log.lastSeq() });
    // Its alerts file is quiet after one batch; its index goes on, with another receiver's between.
    const alerts = await appended(log, 'rack-a', 'al', 3, { kind: 'alert', fileId: 'F-al', startOffset: 0 });
    store.record(alerts.firstSeq, alerts.events, alerts.answered as AnsweredMark);
    let offset = 0;
    for (let i = 0; i < 4; i++) {
      const batch = await appended(log, 'rack-a', `ep${i}`, 20, {
        kind: 'episode',
        fileId: 'F-ix',
        startOffset: offset,
      });
      offset = (batch.answered as AnsweredMark).offset;
      store.record(batch.firstSeq, batch.events, batch.answered as AnsweredMark);
      await appended(log, 'rack-b', `b${i}`, 30);
    }
    // MAXLEN: the stream keeps its newest 40 entries, long past the alerts' rows.
    await trimBelow(log, (await log.lastSeq()) - 39);

    // Restarted (same epoch, same store): nothing of rack-a's is unrecorded.
    store.begin(log.epoch, { marks: await marksOf(log, 'rack-a'), headAtStart: await log.lastSeq() });
    expect(store.dirtyFrom).toBeNull();
    await store.reconcile(log, 'rack-a');
    expect(store.gap).toBeNull();
    expect(store.count()).toBe(3 + 4 * 20);

    // Killed between an alerts append and its record: the stream's alerts mark is ahead of the
    // store's, so the store is dirty from its last alert row, and the trim took what lay there.
    const lost = await appended(log, 'rack-a', 'al2', 2, { kind: 'alert', fileId: 'F-al', startOffset: 300 });
    await appended(log, 'rack-b', 'b9', 60);
    await trimBelow(log, (await log.lastSeq()) - 9);
    store.begin(log.epoch, { marks: await marksOf(log, 'rack-a'), headAtStart: await log.lastSeq() });
    expect(store.dirtyFrom).toBe(alerts.lastSeq + 1);
    await store.reconcile(log, 'rack-a');
    const oldest = (await log.lastSeq()) - 9;
    expect(store.gap).toEqual({ from: alerts.lastSeq + 1, to: oldest - 1 });
    expect(lost.lastSeq).toBeLessThan(oldest);
    store.close();
  });
});
