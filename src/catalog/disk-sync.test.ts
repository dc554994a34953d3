import { spawn } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { episode } from '../../test/support/catalog.js';
import { tempDir } from '../../test/support/tmp.js';
import { DB_FILE, type Db, openDatabase, SCHEMA_VERSION } from './db.js';
import { type DiskFile, DiskSync } from './disk-sync.js';
import { EpisodeQueries, NO_FILTER } from './episodes-query.js';
import { EpisodeStore } from './ingest-store.js';
import { MIGRATIONS } from './schema.js';
import { integrityCounts } from './verifier-service.js';

const ROOT = '/data';

function file(host: string, id: string, size: number, mtimeMs = 1000): DiskFile {
  return { relPath: `episodes/${host}/${id}.tar.zst`, hostId: host, episodeId: id, size, mtimeMs };
}

function catalog(): Db {
  const db = openDatabase(null);
  return db;
}

function statuses(db: Db): Record<string, string> {
  const items = new EpisodeQueries(db).page(NO_FILTER, null, 500).items;
  return Object.fromEntries(items.map((e) => [e.episode_id, e.status]));
}

describe('DiskSync', () => {
  it('a file whose index row is written but not yet classified is that row, never also an unindexed file', () => {
    const db = catalog();
    new EpisodeStore(db).writeBatch([episode('e1', 'h1', 10), episode('e2', 'h1', 20)], null);
    const sync = new DiskSync(db, ROOT);
    // The listing lands before the classification reaches the rows (a cold start's first seconds).
    sync.applyListing([file('h1', 'e1', 10), file('h1', 'stray', 5)]);
    expect(statuses(db)).toEqual({ e1: 'unverified', e2: 'unverified', stray: 'unindexed' });
    expect(new EpisodeQueries(db).page(NO_FILTER, null, 500).total).toBe(3);
    expect(sync.syncNewRows(100)).toBe(2);
    expect(statuses(db)).toEqual({ e1: 'unverified', e2: 'missing', stray: 'unindexed' });
    expect(sync.nextToVerify(10).map((v) => v.relPath)).toEqual(['episodes/h1/e1.tar.zst']);
  });

  it('classifies index rows against the files: missing, unverified, corrupt by size, ok and corrupt by hash', () => {
    const db = catalog();
    new EpisodeStore(db).writeBatch(
      [episode('e1', 'h1', 10), episode('e2', 'h1', 20), episode('e3', 'h2', 30), episode('e4', 'h2', 40)],
      null,
    );
    const sync = new DiskSync(db, ROOT);
    expect(statuses(db)).toEqual({ e1: 'unverified', e2: 'unverified', e3: 'unverified', e4: 'unverified' });
    sync.applyListing([
      file('h1', 'e1', 10),
      file('h1', 'e2', 21),
      file('h2', 'e4', 40),
      file('h2', 'stray', 5),
    ]);
    expect(sync.syncNewRows(100)).toBe(4);
    expect(statuses(db)).toEqual({
      e1: 'unverified',
      e2: 'corrupt',
      e3: 'missing',
      e4: 'unverified',
      stray: 'unindexed',
    });
    const queue = sync.nextToVerify(10).map((v) => v.relPath);
    expect(queue.sort()).toEqual([
      'episodes/h1/e1.tar.zst',
      'episodes/h1/e2.tar.zst',
      'episodes/h2/e4.tar.zst',
    ]);
    sync.recordHash(
      { relPath: 'episodes/h1/e1.tar.zst', size: 10, mtimeMs: 1000 },
      `${'e1-sha'.padEnd(64, '0')}`,
    );
    sync.recordHash({ relPath: 'episodes/h2/e4.tar.zst', size: 40, mtimeMs: 1000 }, 'f'.repeat(64));
    expect(statuses(db)).toMatchObject({ e1: 'ok', e4: 'corrupt' });
    expect(integrityCounts(db)).toEqual({
      total: { ok: 1, corrupt: 2, missing: 1, unindexed: 1 },
      hosts: { h1: { ok: 1, corrupt: 1 }, h2: { corrupt: 1, missing: 1, unindexed: 1 } },
    });
  });

  it('follows files that appear, change and vanish, and index lines that arrive after their file', () => {
    const db = catalog();
    const store = new EpisodeStore(db);
    store.writeBatch([episode('e1', 'h1', 10)], null);
    const sync = new DiskSync(db, ROOT);
    sync.syncNewRows(100);
    expect(statuses(db)).toEqual({ e1: 'missing' });

    sync.applyListing([file('h1', 'e1', 10), file('h1', 'e2', 20)]);
    expect(statuses(db)).toEqual({ e1: 'unverified', e2: 'unindexed' });
    sync.recordHash({ relPath: 'episodes/h1/e1.tar.zst', size: 10, mtimeMs: 1000 }, 'e1-sha'.padEnd(64, '0'));
    expect(statuses(db)).toEqual({ e1: 'ok', e2: 'unindexed' });

    // The index line for the stray file arrives: it becomes an indexed, unverified episode.
    store.writeBatch([episode('e2', 'h1', 20)], null);
    sync.syncNewRows(100);
    expect(statuses(db)).toEqual({ e1: 'ok', e2: 'unverified' });

    // e1 is rewritten (new mtime): its cached hash no longer counts. Then it vanishes.
    sync.applyListing([file('h1', 'e1', 10, 2000), file('h1', 'e2', 20)]);
    expect(statuses(db)).toMatchObject({ e1: 'unverified' });
    sync.applyListing([file('h1', 'e2', 20)]);
    expect(statuses(db)).toEqual({ e1: 'missing', e2: 'unverified' });
    expect(integrityCounts(db).total).toEqual({ missing: 1, unverified: 1 });
  });

  it('matches an index line naming its own path, and refuses paths leaving episodes/', () => {
    const db = catalog();
    new EpisodeStore(db).writeBatch(
      [
        episode('e1', 'h1', 10, { path: 'episodes/h1/custom-name.tar.zst' }),
        episode('e2', 'h1', 20, { path: '../outside.tar.zst' }),
        episode('e3', 'h1', 30, { path: './episodes//h1/e3.tar.zst' }),
      ],
      null,
    );
    const sync = new DiskSync(db, ROOT);
    sync.syncNewRows(100);
    sync.applyListing([file('h1', 'custom-name', 10), file('h1', 'e3', 30)]);
    expect(statuses(db)).toEqual({ e1: 'unverified', e2: 'missing', e3: 'unverified' });
  });
});

describe('DiskSync beside the catalog writer', () => {
  it('waits for another connection holding the write lock instead of failing with "database is locked"', async () => {
    const stateDir = tempDir('cis490-locked-');
    const db = openDatabase(stateDir);
    onTestFinished(() => {
      db.close();
    });
    new EpisodeStore(db).writeBatch([episode('e1', 'h1', 10)], null);
    const sync = new DiskSync(db, ROOT);
    // Another process (the catalog writer's place) takes the write lock, holds it a moment as a
    // large batch would, then commits.
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const db = require('better-sqlite3')(${JSON.stringify(path.join(stateDir, DB_FILE))});
         db.pragma('busy_timeout = 5000');
         db.exec('BEGIN IMMEDIATE');
         db.prepare("INSERT INTO sync_state (name, value) VALUES ('holder', 1)").run();
         process.stdout.write('locked\\n');
         setTimeout(() => { db.exec('COMMIT'); db.close(); }, 300);`,
      ],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
    // Each of these reads before it writes: a deferred transaction could not wait for the lock.
    expect(sync.applyListing([file('h1', 'e1', 10), file('h1', 'e2', 20)])).toBe(2);
    expect(sync.syncNewRows(100)).toBe(1);
    expect(await exited).toBe(0);
    expect(statuses(db)).toEqual({ e1: 'unverified', e2: 'unindexed' });
  });
});

describe('schema migration', () => {
  it('upgrades a v1 catalog with rows to the current version without losing any', () => {
    const stateDir = tempDir('cis490-migrate-');
    const v1 = new Database(path.join(stateDir, DB_FILE));
    (MIGRATIONS[0] as (db: Db) => void)(v1);
    v1.pragma('user_version = 1');
    // Rows as that version wrote them: every text in full (a path, its default place or not).
    const v1Rows = [
      episode('e1', 'h1', 10, { path: 'episodes/h1/e1.tar.zst' }),
      episode('e2', 'h2', 20),
      episode('e3', 'h2', 30, { path: 'episodes/h2/elsewhere.tar.zst' }),
    ];
    const insertV1 = v1.prepare(
      `INSERT INTO episodes (episode_id, host_id, sha256, size_bytes, received_at, received_ms, path, first_seen_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, '2026-01-01T00:00:00.000Z')`,
    );
    for (const e of v1Rows) {
      const ms = Date.parse(e.received_at as string);
      insertV1.run(e.episode_id, e.host_id, e.sha256, e.size_bytes, e.received_at, ms, e.path ?? null);
    }
    v1.exec("INSERT INTO host_totals (host_id, episodes, bytes) VALUES ('h1', 1, 10), ('h2', 2, 50)");
    v1.prepare(
      "INSERT INTO alerts (host_id, symptom, detected_at, detected_ms, dedup_key) VALUES ('h1', 'disk_full', '2026-01-01T00:00:00.000Z', 1767225600000, 'k1')",
    ).run();
    v1.close();

    const db = openDatabase(stateDir);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBeGreaterThan(1);
    const page = new EpisodeQueries(db).page(NO_FILTER, null, 10);
    expect(page.total).toBe(3);
    // Read back as written (the full texts of earlier versions are read as they are).
    expect(page.items).toEqual([...v1Rows].reverse().map((e) => ({ ...e, status: 'unverified' })));
    expect(db.prepare('SELECT count(*) FROM alerts').pluck().get()).toBe(1);
    // The old rows are classified like new ones.
    new DiskSync(db, ROOT).syncNewRows(100);
    expect(integrityCounts(db).total).toEqual({ missing: 3 });
    db.close();
    // Opening again is a no-op.
    const again = openDatabase(stateDir);
    expect(again.prepare('SELECT count(*) FROM episodes').pluck().get()).toBe(3);
    again.close();
  });
});
