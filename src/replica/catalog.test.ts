import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../catalog/db.js';
import { EPISODE_SORTS, type EpisodeFilter, parseEpisodeFilter } from '../protocol/episode-filter.js';
import type { EpisodeRecord } from '../protocol/index.js';
import { ReplicaCatalog, type ReplicaCursor } from './catalog.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('the replica catalog', () => {
  it('drops a catalog of the old layout (a second index by id) so the replica rebuilds it from the stream', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cis490-replica-catalog-'));
    dirs.push(dir);
    const old = openDatabase(dir);
    old.exec(`
      CREATE TABLE replica_position (id INTEGER PRIMARY KEY CHECK (id = 1), epoch TEXT NOT NULL, seq INTEGER NOT NULL);
      CREATE TABLE replica_episodes (seq INTEGER PRIMARY KEY, receiver TEXT NOT NULL, episode_id TEXT NOT NULL,
        host_id TEXT NOT NULL, sha256 TEXT, size_bytes INTEGER, received_at TEXT, received_ms INTEGER, path TEXT,
        extra TEXT, UNIQUE (receiver, episode_id));
      CREATE INDEX replica_episodes_by_time ON replica_episodes(received_ms, seq);
      CREATE INDEX replica_episodes_by_id ON replica_episodes(episode_id);
      INSERT INTO replica_position VALUES (1, 'e1', 5);
      INSERT INTO replica_episodes (seq, receiver, episode_id, host_id) VALUES (5, 'r1', 'x', 'h');
    `);
    old.close();
    const catalog = new ReplicaCatalog(dir);
    try {
      expect(catalog.position()).toBeNull();
      expect(catalog.dump().episodes).toEqual([]);
      catalog.apply('e1', 1, [
        {
          type: 'episode',
          seq: 1,
          episode_id: 'x',
          host_id: 'h',
          sha256: null,
          size_bytes: 1,
          received_at: null,
          receiver: 'r1',
        },
      ]);
      expect(catalog.find('x')?.receiver).toBe('r1');
      expect(catalog.position()).toEqual({ epoch: 'e1', seq: 1 });
    } finally {
      catalog.close();
    }
    // Opened again in the new layout: kept.
    const again = new ReplicaCatalog(dir);
    expect(again.position()).toEqual({ epoch: 'e1', seq: 1 });
    again.close();
  });

  it('finds a sha256 written in capitals by its lowercase prefix, also in a catalog written before (layout 2)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cis490-replica-catalog-'));
    dirs.push(dir);
    const upper = 'ABCDEF0123456789'.repeat(4);
    const episode = (seq: number, id: string, sha256: string) => ({
      type: 'episode' as const,
      seq,
      episode_id: id,
      host_id: 'h',
      sha256,
      size_bytes: 1,
      received_at: null,
      receiver: 'r1',
    });
    const byPrefix = (catalog: ReplicaCatalog, q: string) =>
      catalog
        .page(
          {
            filter: parseEpisodeFilter({ all: () => [], one: (k) => (k === 'q' ? q : undefined) }),
            receivers: [],
          },
          { sort: 'received', order: 'desc' },
          null,
          10,
        )
        .items.map((i) => i.episode_id);
    const catalog = new ReplicaCatalog(dir);
    catalog.apply('e1', 1, [episode(1, 'new', upper)]);
    expect(byPrefix(catalog, 'abcdef01')).toEqual(['new']);
    expect(byPrefix(catalog, 'ABCDEF01')).toEqual(['new']);
    // A layout-2 replica kept the capitals: opened again, its rows are mended in place (kept).
    catalog.db.exec(`UPDATE replica_episodes SET sha256 = '${upper}'; UPDATE replica_layout SET version = 2`);
    catalog.close();
    const again = new ReplicaCatalog(dir);
    try {
      expect(again.find('new')?.sha256).toBe(upper.toLowerCase());
      expect(again.position()).toEqual({ epoch: 'e1', seq: 1 });
    } finally {
      again.close();
    }
  });

  it('replaces the host order index of a catalog written before (host, seq) with (host, received time, seq), rows kept', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cis490-replica-catalog-'));
    dirs.push(dir);
    const catalog = new ReplicaCatalog(dir);
    catalog.apply('e1', 1, [
      {
        type: 'episode',
        seq: 1,
        episode_id: 'kept',
        host_id: 'h',
        sha256: null,
        size_bytes: 1,
        received_at: null,
        receiver: 'r1',
      },
    ]);
    // What the earlier version's schema made.
    catalog.db.exec(
      'DROP INDEX replica_episodes_by_host_time; CREATE INDEX replica_episodes_by_host ON replica_episodes(host_id, seq)',
    );
    catalog.close();
    const again = new ReplicaCatalog(dir);
    try {
      const indexes = again.db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'replica_episodes'")
        .pluck()
        .all();
      expect(indexes).toContain('replica_episodes_by_host_time');
      expect(indexes).not.toContain('replica_episodes_by_host');
      expect(again.find('kept')?.host_id).toBe('h');
    } finally {
      again.close();
    }
  });

  it('keeps paging host and status without a gap or a repeat when a backfill deletes the cursor row', () => {
    const episode = (seq: number, id: string, minute: number | null) => ({
      type: 'episode' as const,
      seq,
      episode_id: id,
      host_id: 'h',
      sha256: null,
      size_bytes: 1,
      received_at: minute === null ? null : `2026-11-01T10:${String(minute).padStart(2, '0')}:00Z`,
      receiver: 'r1',
    });
    const filter: EpisodeFilter = parseEpisodeFilter({ all: () => [], one: () => undefined });
    for (const sort of ['host', 'status'] as const) {
      for (const order of ['asc', 'desc'] as const) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cis490-replica-catalog-'));
        dirs.push(dir);
        const catalog = new ReplicaCatalog(dir);
        try {
          // Rows at minutes 50..10; the stream lost seqs 6..20; then it carries a repeat of X
          // (first sent at seq 15, lost) at seq 22.
          catalog.apply(
            'e1',
            5,
            [1, 2, 3, 4, 5].map((s) => episode(s, `a${s}`, 60 - s * 10)),
          );
          catalog.skipTo('e1', 20, ['r1']);
          catalog.apply('e1', 22, [episode(21, 'b21', null), episode(22, 'X', 30)]);
          const page = (cursor: ReplicaCursor | null) =>
            catalog.page({ filter, receivers: [] }, { sort, order }, cursor, 1);
          const all: string[] = [];
          for (let c: ReplicaCursor | null = null, first = true; first || c !== null; first = false) {
            const p = page(c);
            all.push(...p.items.map((i) => i.episode_id));
            c = p.next;
          }
          // Page up to X, then the agent's backfill brings X's first arrival (seq 15): the
          // later repeat (seq 22), the cursor's row, goes.
          const seen: string[] = [];
          let cursor: ReplicaCursor | null = null;
          while (seen.at(-1) !== 'X') {
            const p = page(cursor);
            seen.push(...p.items.map((i) => i.episode_id));
            cursor = p.next;
          }
          const [job] = catalog.backfillJobs();
          expect(job && catalog.applyBackfill(job, [episode(15, 'X', 30)], 20, true)).toBe(true);
          while (cursor !== null) {
            const p = page(cursor);
            seen.push(...p.items.map((i) => i.episode_id));
            cursor = p.next;
          }
          // X itself moved (an earlier arrival, the same time): it may be met again at its new
          // place. Every other row comes once, in order.
          const others = (ids: string[]) => ids.filter((id) => id !== 'X');
          expect({ sort, order, seen: others(seen) }).toEqual({ sort, order, seen: others(all) });
          expect(seen).toContain('X');
        } finally {
          catalog.close();
        }
      }
    }
  });

  it('pages every explorer sort in both orders: key in order, rows without it last, ties by arrival (host and status: by received time)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cis490-replica-catalog-'));
    dirs.push(dir);
    const catalog = new ReplicaCatalog(dir);
    try {
      // Repeating sizes, hosts and times (ties), some rows without a size or a time.
      const events: Array<EpisodeRecord & { type: 'episode'; seq: number }> = [];
      for (let seq = 1; seq <= 61; seq++) {
        events.push({
          type: 'episode',
          seq,
          episode_id: `ep-${String((seq * 37) % 101).padStart(3, '0')}`,
          host_id: ['host-b', 'host-a', 'host-c'][seq % 3] as string,
          sha256: null,
          size_bytes: seq % 7 === 0 ? null : (seq * 13) % 5,
          received_at: seq % 5 === 0 ? null : `2026-11-01T10:0${seq % 4}:00Z`,
          receiver: seq % 2 ? 'rack-1' : 'rack-2',
        });
      }
      catalog.apply('e1', 61, events);
      const filter: EpisodeFilter = parseEpisodeFilter({ all: () => [], one: () => undefined });
      const keyOf = {
        received: (e: EpisodeRecord) => (e.received_at === null ? null : Date.parse(e.received_at)),
        size: (e: EpisodeRecord) => e.size_bytes,
        host: (e: EpisodeRecord) => e.host_id,
        status: () => 'unverified',
      };
      const ms = (e: EpisodeRecord) => (e.received_at === null ? null : Date.parse(e.received_at));
      /** A host's or status's rows for `asc`: newest first, untimed after, latest arrival first. */
      const byTime = (a: (typeof events)[number], b: (typeof events)[number]) => {
        const ma = ms(a);
        const mb = ms(b);
        if (ma !== mb) return ma === null ? 1 : mb === null ? -1 : mb - ma;
        return b.seq - a.seq;
      };
      for (const sort of EPISODE_SORTS) {
        for (const order of ['asc', 'desc'] as const) {
          const dir = order === 'asc' ? 1 : -1;
          const key = keyOf[sort];
          const expected = [...events]
            .sort((a, b) => {
              const ka = key(a);
              const kb = key(b);
              if (ka !== kb && (ka === null || kb === null)) return ka === null ? 1 : -1;
              if (ka !== null && kb !== null && ka !== kb) return ka < kb ? -dir : dir;
              return sort === 'host' || sort === 'status' ? dir * byTime(a, b) : dir * (a.seq - b.seq);
            })
            .map((e) => `${e.receiver}/${e.episode_id}`);
          const got: string[] = [];
          let cursor: ReplicaCursor | null = null;
          for (let pages = 0; pages < 20; pages++) {
            const page = catalog.page({ filter, receivers: [] }, { sort, order }, cursor, 7);
            expect(page.total).toBe(61);
            got.push(...page.items.map((i) => `${i.receiver}/${i.episode_id}`));
            if (page.next === null) break;
            cursor = page.next;
          }
          expect({ sort, order, got }).toEqual({ sort, order, got: expected });
        }
      }
    } finally {
      catalog.close();
    }
  });
});
