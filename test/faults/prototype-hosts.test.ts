/**
 * Fault case: host ids named like `Object.prototype` members (issue 14 item 5). Each input names
 * a different mix of them, so every map keyed by host meets an id it does not hold (where a plain
 * object would answer with an inherited function) and `__proto__` (where a plain assignment sets
 * the prototype instead of a key). Every answer must hold each host once, with its own numbers.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { buildEpisodeTarball, makeEpisodeId } from '../../src/generate/episode.js';
import type { EpisodeFacets, EpisodesPage, HostsResponse } from '../../src/protocol/api.js';
import type { DashboardState } from '../../src/protocol/index.js';
import { getJson, testServer, waitReady } from '../support/server.js';
import { tempDir } from '../support/tmp.js';

const WAIT = { timeout: 30_000, interval: 50 };
const HOSTS = ['constructor', '__proto__', 'toString', 'hasOwnProperty'] as const;
type Host = (typeof HOSTS)[number];

/** Which input names which host (no two inputs name the same set). */
const INDEXED: readonly Host[] = ['constructor', '__proto__', 'toString'];
const ALERTED: readonly Host[] = ['hasOwnProperty', 'constructor', '__proto__'];
const HEALTHY: readonly Host[] = ['toString', 'hasOwnProperty', '__proto__'];
const ON_DISK: readonly Host[] = ['constructor', 'hasOwnProperty', '__proto__'];

const own = (obj: object, key: string): unknown =>
  Object.hasOwn(obj, key) ? (obj as Record<string, unknown>)[key] : undefined;

function writeRoot(root: string): void {
  const now = Date.now();
  const index = INDEXED.flatMap((host, h) =>
    Array.from({ length: h + 1 }, (_, i) =>
      JSON.stringify({
        episode_id: `${host}-ep-${i}`,
        host_id: host,
        sha256: 'b'.repeat(64),
        size_bytes: 100 * (h + 1),
        received_at_wall: new Date(now - (h * 10 + i) * 60_000).toISOString(),
      }),
    ),
  );
  fs.writeFileSync(path.join(root, 'index.jsonl'), `${index.join('\n')}\n`);
  const alerts = ALERTED.map((host, i) =>
    JSON.stringify({
      host,
      symptom: i === 0 ? 'disk_low' : 'heartbeat_missed',
      detail: `${host} detail`,
      suggested_fix: 'look',
      detected_at_wall: new Date(now - i * 60_000).toISOString(),
      dedup_key: `${host}:k`,
    }),
  );
  fs.writeFileSync(path.join(root, 'alerts.jsonl'), `${alerts.join('\n')}\n`);
  fs.mkdirSync(path.join(root, 'health'));
  for (const host of HEALTHY) {
    fs.writeFileSync(
      path.join(root, 'health', `${host}.json`),
      JSON.stringify({
        host_id: host,
        last_heartbeat_wall: new Date(now).toISOString(),
        disk_free_bytes: 5e11,
        disk_total_bytes: 1e12,
        queue_depth: 0,
      }),
    );
  }
  for (const [h, host] of ON_DISK.entries()) {
    const dir = path.join(root, 'episodes', host);
    fs.mkdirSync(dir, { recursive: true });
    const episodeId = makeEpisodeId(now - h * 60_000, `${h}`.padStart(8, '0'));
    const tar = buildEpisodeTarball({
      episodeId,
      hostId: host,
      startMs: now - h * 60_000,
      monoStartNs: 1e12,
      telemetryKb: 1,
      seed: h + 1,
      outcome: 'completed',
    });
    fs.writeFileSync(path.join(dir, `${episodeId}.tar.zst`), tar);
  }
}

describe('fault: host ids named like Object.prototype members', { timeout: 120_000 }, () => {
  it('keeps every host once with its own numbers in hosts, facets, phase mix, alerts, health and /metrics', async () => {
    const root = tempDir('cis490-fault-proto-');
    writeRoot(root);
    const server = await testServer({ dataRoot: root });
    await waitReady(server);
    await vi.waitFor(async () => {
      const page = await getJson<EpisodesPage>(server, '/api/episodes?limit=1');
      // Indexed rows, and the tarballs on disk (no index line: unindexed rows).
      expect(page.body.total).toBe(6 + ON_DISK.length);
      const mix = await getJson<{ population_episodes: number }>(server, '/api/phase-mix');
      expect(mix.body.population_episodes).toBe(ON_DISK.length);
      const state = (await getJson<DashboardState>(server, '/api/state')).body;
      expect(Object.keys(state.host_last_alert).sort()).toEqual([...ALERTED].sort());
      expect(Object.keys(state.health).sort()).toEqual([...HEALTHY].sort());
      expect(Object.keys(state.host_counts).sort()).toEqual([...ON_DISK].sort());
    }, WAIT);

    const state = (await getJson<DashboardState>(server, '/api/state')).body;
    expect(state.total_episodes).toBe(6);
    for (const [h, host] of INDEXED.entries()) {
      expect(own(state.hosts_indexed, host), host).toMatchObject({
        episodes: h + 1,
        bytes: (h + 1) ** 2 * 100,
      });
    }
    for (const host of ON_DISK) expect(own(state.host_counts, host), host).toBe(1);

    const hosts = (await getJson<HostsResponse>(server, '/api/hosts')).body.hosts;
    expect(hosts.map((h) => h.host_id).sort()).toEqual([...HOSTS].sort());
    for (const h of hosts) {
      const i = INDEXED.indexOf(h.host_id as Host);
      expect(h.episodes, h.host_id).toBe(i + 1);
      expect(h.bytes, h.host_id).toBe((i + 1) ** 2 * 100);
      expect(h.files_on_disk, h.host_id).toBe(ON_DISK.includes(h.host_id as Host) ? 1 : 0);
      expect(h.health === null, h.host_id).toBe(!HEALTHY.includes(h.host_id as Host));
      expect(h.last_alert === null, h.host_id).toBe(!ALERTED.includes(h.host_id as Host));
      expect(h.live_phase, h.host_id).toBeNull();
    }

    const facets = (await getJson<EpisodeFacets>(server, '/api/episodes/facets')).body;
    expect(Object.keys(facets.host).sort()).toEqual([...HOSTS].sort());
    for (const host of HOSTS) {
      const indexed = INDEXED.indexOf(host) + 1;
      expect(own(facets.host, host), host).toBe(indexed + (ON_DISK.includes(host) ? 1 : 0));
    }
    const one = (await getJson<EpisodesPage>(server, '/api/episodes?host=__proto__&host=constructor')).body;
    expect(one.total).toBe(1 + 2 + 2); // indexed 1 + 2, one file on disk each

    const mix = (
      await getJson<{ per_host: Record<string, { population_episodes: number }> }>(server, '/api/phase-mix')
    ).body;
    expect(Object.keys(mix.per_host).sort()).toEqual([...ON_DISK].sort());
    for (const host of ON_DISK) {
      expect((own(mix.per_host, host) as { population_episodes: number }).population_episodes, host).toBe(1);
      const alone = await getJson<{ population_episodes: number }>(
        server,
        `/api/phase-mix?host=${encodeURIComponent(host)}`,
      );
      expect(alone.status, host).toBe(200);
      expect(alone.body.population_episodes, host).toBe(1);
    }
    expect((await getJson(server, '/api/phase-mix?host=toString')).status).toBe(404);

    const groups = (
      await getJson<{ items: Array<{ dedup_key: string; count: number }> }>(server, '/api/alerts?dedup=1')
    ).body.items;
    expect(groups.map((g) => g.dedup_key).sort()).toEqual(ALERTED.map((h) => `${h}:k`).sort());
    const lifecycle = (
      await getJson<{ items: Array<{ dedup_key: string; host_id: string | null }> }>(
        server,
        '/api/alerts/lifecycle',
      )
    ).body.items;
    expect(lifecycle.map((g) => g.host_id).sort()).toEqual([...ALERTED].sort());

    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).not.toContain('native code');
    for (const host of INDEXED)
      expect(metrics).toMatch(
        new RegExp(`^cis490_dashboard_host_last_received_timestamp_seconds\\{host="${host}"\\} \\d`, 'm'),
      );
    expect(JSON.stringify([state, hosts, facets, mix])).not.toContain('native code');
  });
});
