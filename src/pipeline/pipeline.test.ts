import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { testPipeline } from '../../test/support/pipeline.js';
import { tempDir } from '../../test/support/tmp.js';
import { serialise } from '../bus/event-log.js';
import { generateDataRoot } from '../generate/generate.js';
import type { DashboardEvent, EpisodeRecord } from '../protocol/index.js';
import { silentLogger } from '../util/log.js';
import { type MembersCache, snapshotMembers } from './live-state.js';
import { createPipeline } from './pipeline.js';

/** A pipeline on `root` with an in-memory catalog; its snapshot timer stays out of the way. */
function memoryPipeline(root: string) {
  return testPipeline(root, null, { replayBuffer: 1000 });
}

describe('periodic snapshots', () => {
  it('are skipped while nothing changed (the replay ring keeps no identical copies) and sent after a change', async () => {
    const root = path.join(tempDir('cis490-root-'), 'root');
    await generateDataRoot({ out: root, hosts: 2, episodes: 4, alerts: 2, telemetryKb: 4, seed: 3 });
    const dashboard = memoryPipeline(root);
    await dashboard.start();
    try {
      await dashboard.whenReady();
      const events: DashboardEvent[] = [];
      const unsubscribe = dashboard.bus.subscribe((e) => events.push(e));
      const snapshots = () => events.filter((e) => e.type === 'snapshot');

      dashboard.live.periodicSnapshot();
      dashboard.live.periodicSnapshot();
      dashboard.live.periodicSnapshot();
      // Ready published one snapshot already; the same state is not sent again.
      expect(snapshots()).toHaveLength(0);

      fs.appendFileSync(
        path.join(root, 'index.jsonl'),
        `${JSON.stringify({ episode_id: 'ep-new', host_id: 'host-01', size_bytes: 5, received_at_wall: '2026-11-29T10:00:00Z' })}\n`,
      );
      await vi.waitFor(() => expect(events.some((e) => e.type === 'episode')).toBe(true), {
        timeout: 10_000,
      });
      dashboard.live.periodicSnapshot();
      dashboard.live.periodicSnapshot();
      expect(snapshots()).toHaveLength(1);
      expect(snapshots()[0]).toMatchObject({ total_episodes: 5 });
      unsubscribe();
    } finally {
      await dashboard.stop();
    }
  });
});

describe('snapshot JSON', () => {
  it('is what JSON.stringify makes of the snapshot and of its event, with records of every shape', async () => {
    const root = path.join(tempDir('cis490-snapjson-'), 'root');
    await generateDataRoot({ out: root, hosts: 2, episodes: 4, alerts: 2, telemetryKb: 4, seed: 5 });
    const dashboard = memoryPipeline(root);
    await dashboard.start();
    try {
      await dashboard.whenReady();
      const events: DashboardEvent[] = [];
      let sentJson = '';
      // As the WebSocket hub does: the JSON is taken while the event is delivered.
      const unsubscribe = dashboard.bus.subscribe((e) => {
        events.push(e);
        if (e.type === 'snapshot') sentJson = serialise(e);
      });
      const lines = [
        {
          episode_id: 'ep-ü "quoted" \\ \u2028',
          host_id: 'host-01',
          size_bytes: 5,
          received_at_wall: 1764928800.5,
        },
        {
          episode_id: 'ep-path',
          host_id: 'host-02',
          sha256: null,
          path: 'episodes/x/ep-path.tar.zst',
          extra_key: { n: [1, 2.5e-7, null] },
        },
        {
          episode_id: 'ep-plain',
          host_id: 'host-01',
          sha256: 'b'.repeat(64),
          size_bytes: 0,
          received_at_wall: '2026-11-29T10:00:00+02:00',
        },
      ];
      fs.appendFileSync(path.join(root, 'index.jsonl'), lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
      await vi.waitFor(() => expect(events.filter((e) => e.type === 'episode')).toHaveLength(3), {
        timeout: 10_000,
      });
      dashboard.live.periodicSnapshot();
      const snapshot = events.find((e) => e.type === 'snapshot');
      expect(snapshot).toBeDefined();
      const event = snapshot as DashboardEvent;
      // What the hub sends is the event's JSON, made from the snapshot's without stringifying it again.
      expect(sentJson).toBe(JSON.stringify(event));
      const live = dashboard.live.snapshot();
      expect(`{${snapshotMembers(live)}}`).toBe(JSON.stringify(live));
      expect(`{${snapshotMembers({ ...live, integrity: undefined as unknown as null })}}`).toBe(
        JSON.stringify({ ...live, integrity: undefined }),
      );
      // The per-host maps of records, with keys JSON orders apart (integer-like first) and odd ones.
      const hosts = ['b-host', '10', '2', '__proto__', 'h "q" ü'];
      const alertOf = (h: string) => ({ ...(live.recent_alerts[0] ?? {}), host_id: h, detail: `d ${h}` });
      const healthOf = (h: string) => ({
        host_id: h,
        read_at: 'x',
        file_mtime: 'y',
        data: { n: [1, null], s: h },
      });
      const mapOf = <T>(make: (h: string) => T): Record<string, T> => {
        const m = Object.create(null) as Record<string, T>;
        for (const h of hosts) Object.defineProperty(m, h, { value: make(h), enumerable: true });
        return m;
      };
      const crafted = {
        ...live,
        host_last_alert: mapOf(alertOf) as typeof live.host_last_alert,
        health: mapOf(healthOf),
        hosts_indexed: mapOf((h) => ({ episodes: h.length, bytes: 7, last_received_at: null })),
        integrity: { total: { ok: 1 }, hosts: mapOf(() => ({ ok: 1, missing: 2 })) },
      };
      expect(`{${snapshotMembers(crafted)}}`).toBe(JSON.stringify(crafted));
      expect(`{${snapshotMembers(crafted)}}`).toBe(JSON.stringify(crafted)); // the records' JSON made once, reused
      // With a cache: windows and maps holding the same records come from it, changed ones are joined again.
      const cache: MembersCache = new Map();
      expect(`{${snapshotMembers(crafted, cache)}}`).toBe(JSON.stringify(crafted));
      expect(`{${snapshotMembers({ ...crafted }, cache)}}`).toBe(JSON.stringify(crafted));
      const changed = {
        ...crafted,
        recent_episodes: [
          { ...(live.recent_episodes[0] as EpisodeRecord), episode_id: 'new' },
          ...live.recent_episodes,
        ],
        recent_alerts: live.recent_alerts.slice(1),
        health: { ...mapOf(healthOf), b_new: healthOf('b_new') },
        hosts_indexed: { ...crafted.hosts_indexed, '2': { episodes: 3, bytes: 8, last_received_at: 'z' } },
      };
      expect(`{${snapshotMembers(changed, cache)}}`).toBe(JSON.stringify(changed));
      expect(`{${snapshotMembers(crafted, cache)}}`).toBe(JSON.stringify(crafted));
      const reordered = { ...crafted, recent_alerts: [...live.recent_alerts].reverse(), health: {} };
      expect(`{${snapshotMembers(reordered, cache)}}`).toBe(JSON.stringify(reordered));
      // Delivered events keep no text in the ring; a resuming reader's are stringified again.
      expect(serialise(event)).toBe(JSON.stringify(event));
      unsubscribe();
    } finally {
      await dashboard.stop();
    }
  });
});

describe('recent episodes', () => {
  it('hold 200 distinct episodes when ids repeat among the last 200 lines (first pass and live)', async () => {
    const root = tempDir('cis490-recent-');
    const line = (id: string) =>
      `${JSON.stringify({ episode_id: id, host_id: 'h1', sha256: 'a'.repeat(64), size_bytes: 1, received_at_wall: '2026-11-01T12:00:00Z' })}\n`;
    // 400 distinct ids, then 10 repeats of earlier ids among the last 200 lines.
    const ids = Array.from({ length: 400 }, (_, i) => `ep-${i}`);
    const lines = ids.map(line);
    for (let k = 0; k < 10; k++) lines.splice(300 + k * 5, 0, line(`ep-${k}`));
    fs.writeFileSync(path.join(root, 'index.jsonl'), lines.join(''));
    const pipeline = memoryPipeline(root);
    await pipeline.start();
    try {
      await pipeline.whenReady();
      const newest = ids.slice(-200).reverse();
      expect(pipeline.live.snapshot().recent_episodes.map((r) => r.episode_id)).toEqual(newest);

      // Live: a batch of new ids with repeats among them.
      const more = Array.from({ length: 5 }, (_, i) => `ep-new-${i}`);
      fs.appendFileSync(
        path.join(root, 'index.jsonl'),
        more.flatMap((id) => [line(id), line('ep-399')]).join(''),
      );
      await vi.waitFor(() => expect(pipeline.live.snapshot().total_episodes).toBe(405), { timeout: 10_000 });
      expect(pipeline.live.snapshot().recent_episodes.map((r) => r.episode_id)).toEqual(
        [...more.slice().reverse(), ...newest].slice(0, 200),
      );
    } finally {
      await pipeline.stop();
    }
  });
});

describe('a cold first pass on two threads', () => {
  it('gives the same live state and the same catalog rows as one thread', async () => {
    const root = path.join(tempDir('cis490-two-'), 'root');
    await generateDataRoot({
      out: root,
      hosts: 5,
      episodes: 40,
      alerts: 3,
      indexLines: 12_000,
      telemetryKb: 4,
      seed: 12,
    });
    // Repeated ids across ranges (the duplicates count, the rows do not).
    const index = path.join(root, 'index.jsonl');
    const head = fs.readFileSync(index, 'utf8').split('\n').slice(0, 300).join('\n');
    fs.appendFileSync(index, `${head}\n`);
    const run = async (firstPassRangeBytes: number | undefined) => {
      const pipeline = createPipeline({
        dataRoot: root,
        stateDir: tempDir('cis490-two-state-'),
        logger: silentLogger(),
        pollInterval: 0.05,
        rescanInterval: 3600,
        snapshotInterval: 3600,
        replayBuffer: 1000,
        ...(firstPassRangeBytes ? { firstPassRangeBytes } : {}),
      });
      await pipeline.start();
      try {
        await pipeline.whenCatalogCaughtUp();
        const { recent_episodes, total_episodes, total_bytes, hosts_indexed } = pipeline.live.snapshot();
        const rows = pipeline.db
          .prepare(
            'SELECT id, episode_id, host_id, sha256, size_bytes, received_at, received_ms, path, extra, duplicates FROM episodes ORDER BY id',
          )
          .all();
        const hostTotals = pipeline.db.prepare('SELECT * FROM host_totals ORDER BY host_id').all();
        return {
          state: { recent_episodes, total_episodes, total_bytes, hosts_indexed },
          rows,
          hostTotals,
          stats: pipeline.stats().index,
        };
      } finally {
        await pipeline.stop();
      }
    };
    const one = await run(undefined);
    // 64 KiB ranges: about 40 of them, so the scanner thread takes part.
    const two = await run(64 * 1024);
    expect(one.state.total_episodes).toBe(12_000);
    expect(one.rows).toHaveLength(12_000);
    expect(two.state).toEqual(one.state);
    expect(two.rows).toEqual(one.rows);
    expect(two.hostTotals).toEqual(one.hostTotals);
    // The same counts, in more batches (one per range).
    expect(two.stats).toEqual({ ...one.stats, batches: two.stats.batches });
    expect(two.stats.batches).toBeGreaterThan(one.stats.batches);
  });
});
