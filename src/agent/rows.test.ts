/**
 * The agent's row store against a real redis-server whose stream was trimmed: a receiver that
 * never appended before its store began owns no row the stream lost (no gap, complete export),
 * while one that did is told exactly which seqs its export may lack.
 */
import { describe, expect, test } from 'vitest';
import { capturedLogger } from '../../test/support/log.js';
import { redisServer } from '../../test/support/redis-server.js';
import { lines, openLog } from '../../test/support/stream-harness.js';
import type { RedisStreamLog } from '../scaleout/redis-stream-log.js';
import { AgentRowStore } from './rows.js';

async function appended(log: RedisStreamLog, receiver: string, prefix: string, count: number) {
  const events = lines(prefix, 1, count).map((e) => ({ ...e, receiver }));
  const result = await log.append({ receiver, events });
  if (result.status !== 'appended') throw new Error(`append answered ${result.status}`);
  return { firstSeq: result.firstSeq, events };
}

async function trimBelow(log: RedisStreamLog, seq: number): Promise<void> {
  await log.command(['XTRIM', log.keys.stream, 'MINID', `${seq}-0`]);
}

describe('agent row store', () => {
  test('a store begun by a receiver with no earlier appends reconciles to complete after a trim; one whose receiver appended before reports the lost seqs as its gap', async () => {
    const redis = await redisServer();
    const log = await openLog(redis.url);
    // rack-b appends first, then rack-a's run starts; the stream is trimmed below rack-a's rows.
    await appended(log, 'rack-b', 'b', 40);
    const { logger, lines: logged } = capturedLogger();
    const fresh = new AgentRowStore(null, logger);
    fresh.begin(log.epoch, { appendedBefore: false, headAtStart: await log.lastSeq() });
    const a = await appended(log, 'rack-a', 'a', 10);
    fresh.record(a.firstSeq, a.events);
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
    late.begin(log.epoch, { appendedBefore: true, headAtStart: await log.lastSeq() });
    await late.reconcile(log, 'rack-b');
    expect(late.gap).toEqual({ from: 1, to: a.firstSeq + 4 });
    // What the stream still holds of rack-b's was filled in.
    expect(late.count()).toBe(5);
    expect(late.dirtyFrom).toBeNull();
    fresh.close();
    late.close();
  });
});
