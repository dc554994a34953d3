/**
 * A state dir removed under a running server (a tmp cleaner, an operator clearing it): the server
 * says so — /readyz and the explorer 503 `catalog_gone`, `/metrics` names the fault — instead of
 * answering ready while the explorer fails and its commits go to a deleted file; the live state
 * goes on.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { getJson, testServer } from '../../test/support/server.js';
import { tempDir } from '../../test/support/tmp.js';
import { generateDataRoot } from '../generate/generate.js';
import type { DashboardState } from '../protocol/index.js';

describe('the catalog file removed while the server runs', () => {
  it('is a fault /readyz, the explorer and /metrics report; the live state goes on', async () => {
    const root = path.join(tempDir('cis490-root-'), 'root');
    await generateDataRoot({ out: root, hosts: 2, episodes: 4, alerts: 1, telemetryKb: 1, seed: 11 });
    const stateDir = path.join(tempDir('cis490-state-'), 'state');
    const server = await testServer({ dataRoot: root, stateDir });
    await server.pipeline.whenReady();
    expect((await getJson(server, '/readyz')).status).toBe(200);
    expect((await getJson(server, '/api/episodes')).status).toBe(200);

    // The writer may be mid-commit and make a -wal or -journal file between the walk and the
    // rmdir (CI saw ENOTEMPTY); `rm -rf` run twice is what an operator would do too.
    fs.rmSync(stateDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    // Found at its next look (every 5 s).
    await vi.waitFor(async () => expect((await getJson(server, '/readyz')).status).toBe(503), {
      timeout: 15_000,
      interval: 200,
    });
    const readyz = await getJson<{ reason: { code: string; message: string } }>(server, '/readyz');
    expect(readyz.body.reason.code).toBe('catalog_gone');
    expect(readyz.body.reason.message).toContain('a restart rebuilds it from the data root');
    const episodes = await getJson<{ error: { code: string } }>(server, '/api/episodes');
    expect(episodes.status).toBe(503);
    expect(episodes.body.error.code).toBe('catalog_gone');
    const metrics = await fetch(`${server.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/^cis490_dashboard_catalog_fault\{reason="gone"\} 1$/m);
    // The live state still answers, and still moves.
    const before = (await getJson<DashboardState>(server, '/api/state')).body.total_episodes;
    fs.appendFileSync(
      path.join(root, 'index.jsonl'),
      `${JSON.stringify({ episode_id: 'after-rm', host_id: 'host-01', sha256: null, size_bytes: 1, received_at_wall: 1_796_000_000 })}\n`,
    );
    await vi.waitFor(
      async () =>
        expect((await getJson<DashboardState>(server, '/api/state')).body.total_episodes).toBe(before + 1),
      { timeout: 10_000, interval: 100 },
    );
  });
});
