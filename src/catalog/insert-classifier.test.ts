import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { episode } from '../../test/support/catalog.js';
import { tempDir } from '../../test/support/tmp.js';
import { type Db, openDatabase } from './db.js';
import { type DiskFile, DiskSync, SYNCED_ROW } from './disk-sync.js';
import { EpisodeQueries, NO_FILTER } from './episodes-query.js';
import { EpisodeStore } from './ingest-store.js';
import { integrityCounts } from './verifier-service.js';

/** A data root that does not exist: no file is on disk unless `disk_files` says so. */
const ROOT = '/nonexistent-cis490-root';

function file(host: string, name: string, size: number): DiskFile {
  return { relPath: `episodes/${host}/${name}.tar.zst`, hostId: host, episodeId: name, size, mtimeMs: 1000 };
}

function statuses(db: Db): Record<string, string> {
  const items = new EpisodeQueries(db).page(NO_FILTER, null, 500).items;
  return Object.fromEntries(items.map((e) => [e.episode_id, e.status]));
}

const watermark = (db: Db) =>
  db.prepare('SELECT value FROM sync_state WHERE name = ?').pluck().get(SYNCED_ROW) as number | undefined;

/** Rows naming files listed, unlisted, resized, shared by two lines, custom paths, unsafe paths. */
const FILES = [
  file('h1', 'e1', 10),
  file('h1', 'e2', 21),
  file('h2', 'custom-name', 30),
  file('h2', 'stray', 5),
];
const BATCH = [
  episode('e1', 'h1', 10),
  episode('e2', 'h1', 20),
  episode('e3', 'h2', 30, { path: 'episodes/h2/custom-name.tar.zst' }),
  episode('e4', 'h2', 40, { path: 'episodes/h1/e1.tar.zst' }),
  episode('e5', 'h2', 50, { path: '../outside.tar.zst' }),
  episode('e6', 'h1', 60),
];

describe('InsertClassifier (the catalog writer classifies live rows)', () => {
  it('gives each new row the status the verifier would, with the same counts, claims and watermark', () => {
    const byVerifier = openDatabase(null);
    const byWriter = openDatabase(null);
    for (const db of [byVerifier, byWriter]) new DiskSync(db, ROOT).applyListing(FILES);
    new EpisodeStore(byVerifier).writeBatch(BATCH, null);
    new DiskSync(byVerifier, ROOT).syncNewRows(100);
    const writer = new EpisodeStore(byWriter);
    writer.classifyLive(ROOT);
    writer.writeBatch(BATCH, null);
    // Files claimed: the verifier has them to hash.
    expect(writer.leftVerifierWork).toBe(true);
    expect(statuses(byWriter)).toEqual(statuses(byVerifier));
    expect(statuses(byWriter)).toEqual({
      e1: 'unverified',
      e2: 'corrupt',
      e3: 'unverified',
      e4: 'missing',
      e5: 'missing',
      e6: 'missing',
      stray: 'unindexed',
    });
    expect(integrityCounts(byWriter)).toEqual(integrityCounts(byVerifier));
    expect(watermark(byWriter)).toBe(6);
    const claims = (db: Db) =>
      db.prepare('SELECT rel_path, episode_row FROM disk_files ORDER BY rel_path').all();
    expect(claims(byWriter)).toEqual(claims(byVerifier));
    // Nothing left for the verifier's row pass.
    expect(new DiskSync(byWriter, ROOT).syncNewRows(100)).toBe(0);
  });

  it('leaves the verifier no work for rows without files, and matches a file that comes later to its row', () => {
    const db = openDatabase(null);
    const store = new EpisodeStore(db);
    store.classifyLive(ROOT);
    const sync = new DiskSync(db, ROOT);
    store.writeBatch(
      [episode('e1', 'h1', 10), episode('e2', 'h1', 20, { path: 'episodes/h1/other.tar.zst' })],
      null,
    );
    expect(store.leftVerifierWork).toBe(false);
    expect(statuses(db)).toEqual({ e1: 'missing', e2: 'missing' });
    expect(integrityCounts(db).total).toEqual({ missing: 2 });
    // The files land: the sync (made before the rows) finds the custom path's row too.
    sync.applyListing([file('h1', 'e1', 10), file('h1', 'other', 20)]);
    expect(statuses(db)).toEqual({ e1: 'unverified', e2: 'unverified' });
    expect(integrityCounts(db).total).toEqual({ unverified: 2 });
  });

  it('classifies nothing while the verifier has rows to reach', () => {
    const db = openDatabase(null);
    const store = new EpisodeStore(db);
    store.writeBatch([episode('e1', 'h1', 10)], null); // before classifyLive: left to the verifier
    store.classifyLive(ROOT);
    store.writeBatch([episode('e2', 'h1', 20)], null);
    expect(store.leftVerifierWork).toBe(true);
    expect(statuses(db)).toEqual({ e1: 'unverified', e2: 'unverified' });
    expect(watermark(db)).toBeUndefined();
    expect(new DiskSync(db, ROOT).syncNewRows(100)).toBe(2);
    store.writeBatch([episode('e3', 'h1', 30)], null);
    expect(store.leftVerifierWork).toBe(false);
    expect(statuses(db)).toEqual({ e1: 'missing', e2: 'missing', e3: 'missing' });
    expect(watermark(db)).toBe(3);
  });

  it('stops at a row whose file is on disk but not listed yet: it and the rows after it are the verifier’s', () => {
    const root = tempDir('cis490-classify-');
    fs.mkdirSync(path.join(root, 'episodes', 'h1'), { recursive: true });
    fs.writeFileSync(path.join(root, 'episodes', 'h1', 'e2.tar.zst'), 'x');
    const db = openDatabase(null);
    const store = new EpisodeStore(db);
    store.classifyLive(root);
    store.writeBatch([episode('e1', 'h1', 10), episode('e2', 'h1', 1), episode('e3', 'h1', 30)], null);
    expect(store.leftVerifierWork).toBe(true);
    expect(statuses(db)).toEqual({ e1: 'missing', e2: 'unverified', e3: 'unverified' });
    expect(watermark(db)).toBe(1);
    expect(integrityCounts(db).total).toEqual({ missing: 1, unverified: 2 });
    const sync = new DiskSync(db, root);
    sync.applyListing([{ ...file('h1', 'e2', 1) }]);
    expect(sync.syncNewRows(100)).toBe(2);
    expect(statuses(db)).toEqual({ e1: 'missing', e2: 'unverified', e3: 'missing' });
  });

  it('counts a repeated id once and classifies only the row inserted', () => {
    const db = openDatabase(null);
    const store = new EpisodeStore(db);
    store.classifyLive(ROOT);
    store.writeBatch([episode('e1', 'h1', 10)], null);
    store.writeBatch([episode('e1', 'h1', 10), episode('e2', 'h1', 20)], null);
    expect(statuses(db)).toEqual({ e1: 'missing', e2: 'missing' });
    expect(integrityCounts(db).total).toEqual({ missing: 2 });
    expect(watermark(db)).toBe(2);
  });
});
