import { describe, expect, it } from 'vitest';
import type { DashboardEvent } from '../protocol/index.js';
import { RingEventLog } from './event-log.js';

function ready(seq: number): DashboardEvent {
  return { type: 'ready', seq, ready: seq % 2 === 0 };
}

function filled(capacity: number, count: number): RingEventLog {
  const log = new RingEventLog(capacity);
  for (let seq = 1; seq <= count; seq++) log.append(unsequenced(seq));
  return log;
}

const unsequenced = (seq: number) => {
  const { seq: _seq, ...rest } = ready(seq);
  return rest;
};

const seqs = (events: DashboardEvent[] | null): number[] | null => events?.map((e) => e.seq) ?? null;

describe('RingEventLog', () => {
  it('is empty before any append', () => {
    const log = new RingEventLog(4);
    expect([log.size, log.oldestSeq, log.newestSeq]).toEqual([0, null, null]);
    expect(log.read(1)).toEqual([]);
  });

  it('returns the events after a seq, oldest first', () => {
    const log = filled(10, 6);
    expect(seqs(log.read(4))).toEqual([4, 5, 6]);
    expect(seqs(log.read(1))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(log.read(7)).toEqual([]);
  });

  it('keeps only the newest `capacity` events across the wrap', () => {
    const log = filled(4, 11);
    expect([log.size, log.oldestSeq, log.newestSeq]).toEqual([4, 8, 11]);
    expect(seqs(log.read(8))).toEqual([8, 9, 10, 11]);
    expect(seqs(log.read(10))).toEqual([10, 11]);
  });

  it('answers null when some missed events have aged out', () => {
    const log = filled(4, 11);
    expect(log.read(7)).toBeNull();
    expect(log.read(1)).toBeNull();
  });

  it('stamps contiguous seqs and hands each event to its subscribers in order', () => {
    const log = filled(4, 2);
    const seen: number[] = [];
    const unsubscribe = log.subscribe((e) => seen.push(e.seq));
    expect(log.append(unsequenced(99)).seq).toBe(3);
    log.append(unsequenced(0));
    unsubscribe();
    log.append(unsequenced(0));
    expect(seen).toEqual([3, 4]);
    expect([log.seq, log.newestSeq]).toEqual([5, 5]);
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
    for (let seq = 1; seq <= 100; seq++) log.append(big(seq) as never);
    expect(log.bytes).toBeLessThanOrEqual(50_000);
    expect(log.size).toBeLessThan(10);
    expect(log.newestSeq).toBe(100);
    expect(log.read(51)).toBeNull();
    expect(log.read(99)?.map((e) => e.seq)).toEqual([99, 100]);
  });

  it('follows a shared log: starts after startSeq, takes the given seqs, refuses a gap or a repeat', () => {
    const log = new RingEventLog(3, undefined, { epoch: 'stream-epoch', startSeq: 41 });
    const heard: number[] = [];
    log.subscribe((e) => heard.push(e.seq));
    expect([log.seq, log.epoch, log.read(42)]).toEqual([41, 'stream-epoch', []]);
    expect(() => log.follow(ready(43))).toThrow(/does not follow 41/);
    for (let seq = 42; seq <= 45; seq++) log.follow(ready(seq));
    expect(() => log.follow(ready(45))).toThrow(/does not follow 45/);
    expect(heard).toEqual([42, 43, 44, 45]);
    expect(seqs(log.read(43))).toEqual([43, 44, 45]);
    // Aged out of the ring: a resuming reader must be told.
    expect(log.read(42)).toBeNull();
  });

  it('follows a read of a shared log at once: all seqs checked first, batch subscribers get it whole', () => {
    const log = new RingEventLog(10, undefined, { epoch: 'e', startSeq: 10 });
    const heard: string[] = [];
    log.subscribeBatch((events) => heard.push(`batch ${events.map((e) => e.seq).join(',')} at ${log.seq}`));
    log.subscribe((e) => heard.push(`one ${e.seq}`));
    expect(() => log.followAll([ready(11), ready(13)])).toThrow(/does not follow 11/);
    expect([log.seq, log.size, heard]).toEqual([10, 0, []]);
    log.followAll([ready(11), ready(12), ready(13)]);
    log.follow(ready(14));
    expect(heard).toEqual(['batch 11,12,13 at 13', 'one 11', 'one 12', 'one 13', 'batch 14 at 14', 'one 14']);
    expect(seqs(log.read(11))).toEqual([11, 12, 13, 14]);
  });
});
