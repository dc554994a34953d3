import { setTimeout as sleep } from 'node:timers/promises';
import type { PhasePost } from '../protocol/index.js';

/**
 * The orchestrator's side of `POST /api/phase`: one transition per call, with the bearer token.
 * Never throws: the lab's orchestrator keeps running when the dashboard is down, and so does the
 * demo's — the outcome says what happened.
 */

export type PhaseOutcome = { ok: true; seq: number } | { ok: false; reason: string };

export type PostPhase = (post: PhasePost) => Promise<PhaseOutcome>;

/** Gives up on one post after this long (the server answers in milliseconds). */
const POST_TIMEOUT_MS = 5_000;
/** Tries of one post the server refused with 429 (rate limited), each after its `Retry-After`. */
const RATE_LIMITED_TRIES = 3;

export function phaseClient(baseUrl: string, token: string, fetchFn: typeof fetch = fetch): PostPhase {
  const url = new URL('/api/phase', baseUrl).toString();
  return async (post) => {
    try {
      for (let attempt = 1; ; attempt++) {
        const res = await fetchFn(url, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(post),
          signal: AbortSignal.timeout(POST_TIMEOUT_MS),
        });
        const body = (await res.json().catch(() => null)) as { seq?: unknown } | null;
        if (res.status === 202 && typeof body?.seq === 'number') return { ok: true, seq: body.seq };
        // Too many posts this second (many hosts starting at once): sent again when the server says.
        if (res.status === 429 && attempt < RATE_LIMITED_TRIES) {
          const after = Number(res.headers.get('retry-after'));
          await sleep(Math.min(Number.isFinite(after) && after > 0 ? after : 1, 5) * 1000);
          continue;
        }
        return { ok: false, reason: `http_${res.status}` };
      }
    } catch (err) {
      return { ok: false, reason: (err as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable' };
    }
  };
}
