/** `Idempotency-Key` on one box (no Redis): a retried phase post is published once. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { testServer } from '../../test/support/server.js';
import { tempDir } from '../../test/support/tmp.js';
import type { DashboardEvent } from '../protocol/index.js';

describe('Idempotency-Key on a single box', () => {
  it('a phase post retried with the same key is published once and answers the first seq; without a key, every post is published', async () => {
    const base = tempDir('cis490-idem-');
    const dataRoot = path.join(base, 'data');
    fs.mkdirSync(dataRoot);
    const phaseTokenFile = path.join(base, 'phase-token');
    fs.writeFileSync(phaseTokenFile, 'phase-token-abcdefgh\n', { mode: 0o600 });
    const server = await testServer({ dataRoot, phaseTokenFile });
    const phases: DashboardEvent[] = [];
    server.pipeline.bus.subscribe((e: DashboardEvent) => {
      if (e.type === 'phase') phases.push(e);
    });
    const post = (key?: string) =>
      fetch(`${server.url}/api/phase`, {
        method: 'POST',
        headers: {
          authorization: 'Bearer phase-token-abcdefgh',
          'content-type': 'application/json',
          ...(key ? { 'idempotency-key': key } : {}),
        },
        body: JSON.stringify({ host_id: 'host-01', phase: 'boot' }),
      });
    const first = await post('retry-me');
    const again = await post('retry-me');
    expect([first.status, again.status]).toEqual([202, 202]);
    const { seq } = (await first.json()) as { seq: number };
    expect(await again.json()).toEqual({ seq });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    await post();
    await post();
    expect(phases.map((e) => e.seq)).toHaveLength(3);
    expect(phases[0]?.seq).toBe(seq);
  });
});
