/**
 * Episodes dated in the future (issue 14 item 8): a receiver with its clock a year ahead, or a
 * hand-edited line. They are kept as written; the server flags them (`/metrics`, the episode
 * detail) and clamps them at now where a view means "up to now": the explorer windows the
 * Overview's "last hour" / "last 24 h" ask for, and the per-host last-episode time in `/metrics`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { getJson, testServer, waitReady } from '../../../test/support/server.js';
import { tempDir } from '../../../test/support/tmp.js';
import type { EpisodeDetail, EpisodesPage, HostsResponse } from '../../protocol/api.js';

const HOUR = 3_600_000;
/** The catalog writer runs in a thread: give it time on a loaded machine. */
const WAIT = { timeout: 20_000, interval: 50 };

function line(id: string, host: string, receivedMs: number): string {
  return `${JSON.stringify({
    episode_id: id,
    host_id: host,
    sha256: 'a'.repeat(64),
    size_bytes: 10,
    received_at_wall: new Date(receivedMs).toISOString(),
  })}\n`;
}

describe('episodes dated in the future', () => {
  it('are counted in /metrics, flagged in the detail, and clamped at now in the last-hour views', async () => {
    const root = tempDir('cis490-future-');
    const now = Date.now();
    // host-stale: last real episode 3 days ago, then one dated 364 days ahead.
    // host-live: 2 episodes in the last hour, 1 ten hours ago, 2 dated hours/days ahead.
    const lines = [
      line('stale-old', 'host-stale', now - 72 * HOUR),
      line('stale-future', 'host-stale', now + 364 * 24 * HOUR),
      line('live-1', 'host-live', now - 0.2 * HOUR),
      line('live-2', 'host-live', now - 0.5 * HOUR),
      line('live-3', 'host-live', now - 10 * HOUR),
      line('live-future-1', 'host-live', now + 2 * HOUR),
      line('live-future-2', 'host-live', now + 30 * 24 * HOUR),
      // host-skew: its receiver's clock 30 s ahead of ours (or an episode that arrived since a
      // page read its clock): within the minute of skew, not flagged anywhere.
      line('skew-1', 'host-skew', now + 30_000),
    ];
    fs.writeFileSync(path.join(root, 'index.jsonl'), lines.join(''));
    const server = await testServer({ dataRoot: root });
    await waitReady(server);
    await vi.waitFor(async () => {
      expect((await getJson<EpisodesPage>(server, '/api/episodes?limit=1')).body.total).toBe(8);
    }, WAIT);

    // The windows the Overview asks for ("last hour", "last 24 h": from now - span to now).
    const window = async (span: number) => {
      const t = Date.now();
      const q = `from=${new Date(t - span).toISOString()}&to=${new Date(t).toISOString()}&limit=1`;
      return (await getJson<EpisodesPage>(server, `/api/episodes?${q}`)).body.total;
    };
    expect(await window(HOUR)).toBe(2);
    expect(await window(24 * HOUR)).toBe(3);

    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^cis490_dashboard_episodes_future_dated 3$/m);
    const lastSeen = (host: string) =>
      Number(
        new RegExp(
          `^cis490_dashboard_host_last_received_timestamp_seconds\\{host="${host}"\\} (\\S+)$`,
          'm',
        ).exec(metrics)?.[1],
      );
    // Clamped at now: not a year ahead.
    expect(lastSeen('host-stale')).toBeLessThanOrEqual(Date.now() / 1000);
    expect(lastSeen('host-live')).toBeLessThanOrEqual(Date.now() / 1000);

    const detail = async (id: string) => (await getJson<EpisodeDetail>(server, `/api/episodes/${id}`)).body;
    expect((await detail('stale-future')).future_dated).toBe(true);
    expect((await detail('live-future-1')).future_dated).toBe(true);
    expect((await detail('live-1')).future_dated).toBe(false);
    expect((await detail('stale-old')).future_dated).toBe(false);
    expect((await detail('skew-1')).future_dated).toBe(false);

    // The Hosts scene's rule, served by /api/hosts: the skewed host is fresh, not "in the future".
    const hosts = (await getJson<HostsResponse>(server, '/api/hosts')).body.hosts;
    const skew = hosts.find((h) => h.host_id === 'host-skew');
    expect(skew?.status_reasons.map((r) => r.text)).not.toContain('newest episode dated in the future');
    expect(skew?.status).toBe('ok');
    const live = hosts.find((h) => h.host_id === 'host-live');
    expect(live?.status_reasons.map((r) => r.text)).toContain('newest episode dated in the future');
  });
});
