import { describe, expect, it } from 'vitest';
import type { DashboardEvent } from '../protocol/index.js';
import { RingEventLog } from './event-log.js';

function ready(seq: number): DashboardEvent {
  return { type: 'ready', seq, ready: seq % 2 === 0 };
}

function filled(capacity: number, count: number): RingEventLog {
  const log = new RingEventLog(capacity);
  for (let seq = 1; seq <= count; seq++) log.append(ready(seq));
  return log;
}

const seqs = (events: DashboardEvent[] | null): number[] | null => events?.map((e) => e.seq) ?? null;

describe('RingEventLog', () => {
  it('is empty before any append', () => {
    const log = new RingEventLog(4);
    expect([log.size, log.oldestSeq, log.newestSeq]).toEqual([0, null, null]);
    expect(log.since(0)).toEqual([]);
  });

  it('returns the events after a seq, oldest first', () => {
    const log = filled(10, 6);
    expect(seqs(log.since(3))).toEqual([4, 5, 6]);
    expect(seqs(log.since(0))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(log.since(6)).toEqual([]);
  });

  it('keeps only the newest `capacity` events across the wrap', () => {
    const log = filled(4, 11);
    expect([log.size, log.oldestSeq, log.newestSeq]).toEqual([4, 8, 11]);
    expect(seqs(log.since(7))).toEqual([8, 9, 10, 11]);
    expect(seqs(log.since(9))).toEqual([10, 11]);
  });

  it('answers null when some missed events have aged out', () => {
    const log = filled(4, 11);
    expect(log.since(6)).toBeNull();
    expect(log.since(0)).toBeNull();
  });

  it('refuses an event whose seq does not follow the newest', () => {
    const log = filled(4, 2);
    expect(() => log.append(ready(4))).toThrow(expect.objectContaining({ code: 'seq_not_contiguous' }));
    expect(() => log.append(ready(2))).toThrow(expect.objectContaining({ code: 'seq_not_contiguous' }));
    expect(log.newestSeq).toBe(2);
  });

  it('refuses a capacity below one', () => {
    expect(() => new RingEventLog(0)).toThrow(expect.objectContaining({ code: 'bad_log_capacity' }));
  });
});

describe('RingEventLog byte budget', () => {
  it('drops the oldest events past the byte budget, so big snapshots cannot pile up', () => {
    const log = new RingEventLog(10_000, 50_000);
    const big = (seq: number) =>
      ({ type: 'ready', seq, ready: true, padding: 'x'.repeat(9_000) }) as unknown as DashboardEvent;
    for (let seq = 1; seq <= 100; seq++) log.append(big(seq));
    expect(log.bytes).toBeLessThanOrEqual(50_000);
    expect(log.size).toBeLessThan(10);
    expect(log.newestSeq).toBe(100);
    expect(log.since(50)).toBeNull();
    expect(log.since(98)?.map((e) => e.seq)).toEqual([99, 100]);
  });
});
