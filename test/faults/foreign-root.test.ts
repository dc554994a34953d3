/**
 * Data we did not make: a root written by `bench/foreign-root.py` (stdlib Python, `json.dumps`
 * lines with 37 host names of every shape, three id forms, nested extra keys, any key order, six
 * time forms, integral floats, null hashes, re-logged ids, real tarballs). Python's own `json` and
 * `datetime` are the oracle: the live totals, every host's explorer total, the statuses and each
 * episode's received time, sha256, path and extra keys must be what Python reads from the same
 * bytes.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import type { EpisodesPage } from '../../src/protocol/api.js';
import type { DashboardState } from '../../src/protocol/index.js';
import { getJson, testServer } from '../support/server.js';
import { tempDir } from '../support/tmp.js';

const SCRIPT = new URL('../../bench/foreign-root.py', import.meta.url).pathname;

/** Python's reading of the index: first occurrence of each id wins, as a receiver's re-log repeats it. */
const ORACLE = `
import json, sys, datetime as dt, collections
from decimal import Decimal
root = sys.argv[1]
first = {}
for line in open(root + '/index.jsonl', encoding='utf-8'):
    r = json.loads(line)
    first.setdefault(r['episode_id'], r)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
KNOWN = {'episode_id', 'host_id', 'sha256', 'size_bytes', 'received_at_wall', 'path'}
def ms(v):
    # Whole milliseconds, truncated (as JavaScript's Date keeps them): exact integer arithmetic.
    if isinstance(v, int):
        return v * 1000
    if isinstance(v, float):
        return int(Decimal(repr(v)) * 1000 // 1)
    t = dt.datetime.fromisoformat(v)
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return (t - EPOCH) // dt.timedelta(milliseconds=1)
hosts = collections.Counter(r['host_id'] for r in first.values())
print(json.dumps({
    'episodes': len(first),
    'bytes': sum(int(r['size_bytes']) for r in first.values()),
    'hosts': hosts,
    'received': {k: ms(r['received_at_wall']) for k, r in first.items()},
    'fields': {k: [r.get('sha256'), r.get('path'), {x: v for x, v in r.items() if x not in KNOWN} or None]
               for k, r in first.items()},
}))
`;

interface Oracle {
  episodes: number;
  bytes: number;
  hosts: Record<string, number>;
  received: Record<string, number>;
  /** Per id: sha256, path and the other keys (null: none). */
  fields: Record<string, [string | null, string | null, Record<string, unknown> | null]>;
}

describe('a data root written by another program', () => {
  it('reads what Python reads: totals, every host (non-ASCII, dotted, 46 chars), statuses, received times', async () => {
    const root = path.join(tempDir('cis490-foreign-'), 'root');
    execFileSync('python3', [SCRIPT, root, '--lines', '6000', '--episodes', '80', '--alerts', '300']);
    const want = JSON.parse(
      execFileSync('python3', ['-c', ORACLE, root], { encoding: 'utf8', maxBuffer: 64 << 20 }),
    ) as Oracle;
    expect(Object.keys(want.hosts).length).toBe(37);

    const server = await testServer({ dataRoot: root });
    await server.pipeline.whenReady();
    await server.pipeline.whenCatalogCaughtUp();
    const { body: state } = await getJson<DashboardState>(server, '/api/state');
    expect({ episodes: state.total_episodes, bytes: state.total_bytes, alerts: state.total_alerts }).toEqual({
      episodes: want.episodes,
      bytes: want.bytes,
      alerts: 300,
    });

    const got: Record<string, number> = {};
    const received: Record<string, number> = {};
    const fields: Oracle['fields'] = {};
    for (const host of Object.keys(want.hosts)) {
      let cursor: string | null = null;
      do {
        const q = new URLSearchParams({ host, limit: '500' });
        if (cursor) q.set('cursor', cursor);
        const { body: page } = await getJson<EpisodesPage>(server, `/api/episodes?${q}`);
        got[host] = page.total;
        for (const ep of page.items) {
          received[ep.episode_id] = Date.parse(ep.received_at ?? '');
          fields[ep.episode_id] = [ep.sha256, ep.path ?? null, ep.extra ?? null];
        }
        cursor = page.next_cursor;
      } while (cursor);
    }
    expect(got).toEqual(want.hosts);
    // Every time form (offsets, fractions, naive, epoch int and float) lands on Python's instant.
    const wrong = Object.entries(want.received).filter(([id, ms]) => received[id] !== ms);
    expect(wrong.slice(0, 5).map(([id, ms]) => [id, ms, received[id]])).toEqual([]);
    expect(Object.keys(received)).toHaveLength(want.episodes);
    // The catalog writer takes these from where the first pass found them in the bytes (the extra
    // keys as their own JSON text): what Python's json reads, nested values and \uXXXX escapes included.
    const differ = Object.entries(want.fields).filter(([id, f]) => !isDeepStrictEqual(fields[id], f));
    expect(differ.slice(0, 3).map(([id, f]) => [id, f, fields[id]])).toEqual([]);

    // Once every tarball is hashed: the 80 match the sha256 and size their lines carry; every other
    // line has no tarball.
    await vi.waitFor(
      async () => {
        const { body } = await getJson<{ status: Record<string, number> }>(server, '/api/episodes/facets');
        expect(body.status).toEqual({ ok: 80, missing: want.episodes - 80 });
      },
      { timeout: 30_000, interval: 200 },
    );
  }, 120_000);
});
