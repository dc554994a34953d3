import { describe, expect, it } from 'vitest';
import { phaseClient } from './phase-client.js';

/** A fetch that answers each call with the next of `statuses` (202 with a seq, else an error body). */
function fakeFetch(statuses: number[]): { fetchFn: typeof fetch; calls: () => number } {
  let n = 0;
  const fetchFn = (async () => {
    const status = statuses[Math.min(n, statuses.length - 1)] as number;
    n++;
    const body = status === 202 ? { seq: 7 } : { error: { code: 'rate_limited', message: 'slow down' } };
    return new Response(JSON.stringify(body), { status, headers: { 'retry-after': '1' } });
  }) as typeof fetch;
  return { fetchFn, calls: () => n };
}

const post = { host_id: 'host-01', phase: 'grasp', episode_id: 'ep-1' };

describe('the demo orchestrator’s phase posts', () => {
  it('are sent again after Retry-After when the server is rate limiting (many hosts starting at once)', async () => {
    const { fetchFn, calls } = fakeFetch([429, 202]);
    expect(await phaseClient('http://127.0.0.1:1', 'token', fetchFn)(post)).toEqual({ ok: true, seq: 7 });
    expect(calls()).toBe(2);
  });

  it('give up after three refusals, saying why', async () => {
    const { fetchFn, calls } = fakeFetch([429]);
    expect(await phaseClient('http://127.0.0.1:1', 'token', fetchFn)(post)).toEqual({
      ok: false,
      reason: 'http_429',
    });
    expect(calls()).toBe(3);
  });
});
