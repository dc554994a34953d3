import { describe, expect, it } from 'vitest';
import { alert, episode } from '../../test/support/ws-harness.js';
import { type DashboardEvent, emptyState } from '../protocol/index.js';
import { applyEvent } from '../protocol/reduce.js';
import { createLogger, silentLogger } from '../util/log.js';
import { Bus } from './bus.js';
import { RingEventLog } from './event-log.js';

const quietBus = (opts: ConstructorParameters<typeof Bus>[0] = {}) =>
  new Bus({ logger: silentLogger(), ...opts });

describe('Bus', () => {
  it('stamps contiguous seqs and folds events with the shared reducer', () => {
    const bus = quietBus();
    expect(bus.seq).toBe(0);
    const published = [
      bus.publish(episode()),
      bus.publish(alert()),
      bus.publish({ type: 'ready', ready: true }),
    ];
    expect(published.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(bus.seq).toBe(3);
    expect(bus.state).toEqual(published.reduce(applyEvent, emptyState()));
    expect(bus.state.total_episodes).toBe(1);
    expect(bus.state.ready).toBe(true);
  });

  it('starts from the initial state it is given', () => {
    const bus = quietBus({ initialState: { ...emptyState(), total_alerts: 41 } });
    bus.publish(alert());
    expect(bus.state.total_alerts).toBe(42);
  });

  it('hands each event to subscribers synchronously until they unsubscribe', () => {
    const bus = quietBus();
    const seen: number[] = [];
    const unsubscribe = bus.subscribe((e) => seen.push(e.seq));
    bus.publish(episode());
    expect(seen).toEqual([1]);
    unsubscribe();
    bus.publish(episode());
    expect(seen).toEqual([1]);
  });

  it('does not give an event to a subscriber added while that event is being delivered', () => {
    const bus = quietBus();
    const late: number[] = [];
    let helloSeq = -1;
    bus.subscribe(() => {
      if (helloSeq >= 0) return;
      helloSeq = bus.hello().seq;
      bus.subscribe((e) => late.push(e.seq));
    });
    bus.publish(episode());
    bus.publish(episode());
    // The hello taken during event 1 already includes it; the new subscriber starts at 2.
    expect(helloSeq).toBe(1);
    expect(late).toEqual([2]);
  });

  it('keeps delivering when a subscriber throws, and logs it with the event', () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      destination: { write: (line: string) => lines.push(line) },
    });
    const bus = new Bus({ logger });
    const seen: number[] = [];
    bus.subscribe(() => {
      throw new Error('widget exploded');
    });
    bus.subscribe((e) => seen.push(e.seq));
    expect(() => bus.publish(episode())).not.toThrow();
    expect(seen).toEqual([1]);
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged).toEqual([
      expect.objectContaining({
        level: 50,
        seq: 1,
        type: 'episode',
        msg: expect.stringContaining('widget exploded'),
      }),
    ]);
  });

  it('says hello with its epoch, seq and state, and marks resets', () => {
    const bus = quietBus({ epoch: 'e1' });
    bus.publish(episode());
    expect(bus.hello()).toEqual({ type: 'hello', epoch: 'e1', seq: 1, state: bus.state });
    expect(bus.hello(true)).toEqual({ type: 'hello', epoch: 'e1', seq: 1, state: bus.state, reset: true });
  });

  it('gets a fresh epoch per instance', () => {
    expect(quietBus().epoch).not.toBe(quietBus().epoch);
  });

  describe('resume', () => {
    function busWith(events: number, capacity = 100): Bus {
      const bus = quietBus({ epoch: 'e1', capacity });
      for (let i = 0; i < events; i++) bus.publish(episode());
      return bus;
    }
    const seqsOf = (r: ReturnType<Bus['resume']>) =>
      r.kind === 'events' ? r.events.map((e: DashboardEvent) => e.seq) : r.kind;

    it('replays exactly the missed events in the same epoch', () => {
      expect(seqsOf(busWith(5).resume(2, 'e1'))).toEqual([3, 4, 5]);
      expect(seqsOf(busWith(5).resume(0, 'e1'))).toEqual([1, 2, 3, 4, 5]);
      expect(seqsOf(busWith(5).resume(5, 'e1'))).toEqual([]);
      expect(seqsOf(busWith(0).resume(0, 'e1'))).toEqual([]);
    });

    it('resets on another epoch or none', () => {
      expect(busWith(5).resume(2, 'e0').kind).toBe('reset');
      expect(busWith(5).resume(2, undefined).kind).toBe('reset');
    });

    it('resets when since is beyond our seq (another server) or not a count', () => {
      expect(busWith(5).resume(6, 'e1').kind).toBe('reset');
      expect(busWith(5).resume(-1, 'e1').kind).toBe('reset');
      expect(busWith(5).resume(1.5, 'e1').kind).toBe('reset');
      expect(busWith(5).resume(Number.NaN, 'e1').kind).toBe('reset');
    });

    it('resets when the missed events have aged out of the log', () => {
      const bus = busWith(10, 4);
      expect(bus.resume(5, 'e1').kind).toBe('reset');
      expect(seqsOf(bus.resume(6, 'e1'))).toEqual([7, 8, 9, 10]);
    });
  });

  it('counts events by type and reports the log size', () => {
    const bus = quietBus({ log: new RingEventLog(2) });
    bus.publish(episode());
    bus.publish(episode());
    bus.publish(alert());
    expect(bus.stats()).toEqual({ seq: 3, events_total_by_type: { episode: 2, alert: 1 }, log_size: 2 });
  });
});
