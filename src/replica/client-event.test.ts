import { describe, expect, it } from 'vitest';
import { serialise } from '../bus/event-log.js';
import type { UnsequencedEvent } from '../protocol/index.js';
import { parseEntry } from '../scaleout/records.js';
import { API_RECEIVER, clientEvent } from './feed.js';

/** A stream entry as `append` writes it: id `<seq>-0`, the receiver and the event's JSON. */
const entry = (seq: number, receiver: string, event: UnsequencedEvent | Record<string, unknown>) => [
  `${seq}-0`,
  ['r', receiver, 'e', JSON.stringify(event)],
];

describe('a stream record as the replica sends it on', () => {
  it('keeps the JSON read from the stream (plus its seq) only where it is what JSON.stringify gives', () => {
    const episode = {
      type: 'episode',
      episode_id: 'e1',
      host_id: 'h\u2028"',
      sha256: null,
      size_bytes: 5,
      received_at: null,
      receiver: 'rack-1',
    } as const;
    const cases = [
      entry(7, 'rack-1', episode),
      // Stamped by the replica (the JSON names no receiver, or another one).
      entry(8, 'rack-2', episode),
      entry(9, 'rack-1', { type: 'phase_mix', counts: {}, weighted_seconds: {} }),
      entry(10, API_RECEIVER, { type: 'phase', host_id: 'h', episode_id: 'e', phase: 'p', at: 'x' }),
      // A JSON with a seq of its own: the entry id wins, and the text is not reused.
      entry(11, 'rack-1', { ...episode, seq: 3 } as Record<string, unknown>),
    ];
    for (const e of cases) {
      const event = clientEvent(parseEntry(e));
      expect(serialise(event)).toBe(JSON.stringify(event));
      expect(event.seq).toBe(Number(String(e[0]).split('-')[0]));
    }
    expect(clientEvent(parseEntry(cases[1] as unknown[]))).toMatchObject({ receiver: 'rack-2' });
  });
});
