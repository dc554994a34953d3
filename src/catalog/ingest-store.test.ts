import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/tmp.js';
import { MAX_LINE_BYTES } from '../feeders/index-ranges.js';
import { scanIndexRange } from '../feeders/index-scan.js';
import type { Checkpoint } from '../feeders/tail/types.js';
import { matchesEpisodeFilter } from '../protocol/episode-filter.js';
import type { EpisodeRecord } from '../protocol/index.js';
import { type Db, openDatabase, SCHEMA_VERSION } from './db.js';
import { EpisodeQueries, NO_FILTER } from './episodes-query.js';
import { AlertStore, EpisodeStore, loadStoredTotals, readCheckpoint } from './ingest-store.js';
import { dropEpisodeIndexesForLoad, EPISODE_KEY_NAME, ensureEpisodeIndexes } from './schema.js';

describe('checkpoints in the catalog', () => {
  it('keep the files a tailer holds queued behind the one it reads, across a reopen', () => {
    const dir = tempDir();
    const queued: Checkpoint = {
      dev: 2049,
      ino: 77,
      fingerprint: 'ab'.repeat(20),
      fingerprintLen: 512,
      offset: 1234,
      pending: [
        { dev: 2049, ino: 78, fingerprint: 'cd'.repeat(20), fingerprintLen: 300, size: 300, copy: true },
        { dev: 2049, ino: 79, fingerprint: 'ef'.repeat(20), fingerprintLen: 10, size: 10 },
      ],
    };
    let db = openDatabase(dir);
    new EpisodeStore(db).writeBatch([], queued);
    db.close();
    db = openDatabase(dir);
    expect(readCheckpoint(db, 'index')).toEqual(queued);

    // A later checkpoint with nothing queued clears them.
    const plain: Checkpoint = {
      dev: 2049,
      ino: 79,
      fingerprint: 'ef'.repeat(20),
      fingerprintLen: 10,
      offset: 40,
    };
    new EpisodeStore(db).writeBatch([], plain);
    new AlertStore(db).writeBatch([], queued);
    expect(readCheckpoint(db, 'index')).toEqual(plain);
    expect(readCheckpoint(db, 'alerts')).toEqual(queued);
    db.close();
  });
});

const ep = (id: string, host: string, size: number): EpisodeRecord => ({
  episode_id: id,
  host_id: host,
  sha256: null,
  size_bytes: size,
  received_at: '2026-01-01T00:00:00.000Z',
});

const cp = (offset: number): Checkpoint => ({
  dev: 1,
  ino: 2,
  fingerprint: 'ab'.repeat(20),
  fingerprintLen: 64,
  offset,
});

/** The unique key of `episodes`: the inline one (a table of migration v1) or episodes_by_id. */
function keys(db: Db): string[] {
  return (db.prepare('PRAGMA index_list(episodes)').all() as Array<{ name: string; unique: number }>)
    .filter((r) => r.unique === 1)
    .map((r) => r.name);
}

/** A cold bulk load as the catalog writer runs it, up to its rows (repeats of e1 and e3 among them). */
function loadRows(db: Db): EpisodeStore {
  const store = new EpisodeStore(db);
  db.transaction(() => dropEpisodeIndexesForLoad(db))();
  store.startBulk();
  expect(keys(db)).toEqual([]);
  const first = store.writeBatch([ep('e1', 'h1', 10), ep('e2', 'h2', 20), ep('e1', 'h1', 99)], cp(100));
  // A repeat the main thread told (duplicateIds), and one in a later batch.
  const second = store.writeBatch([ep('e3', 'h1', 30), ep('e3', 'h2', 98)], cp(200), ['e2']);
  // Held lines count neither way until the key is there.
  expect([first, second]).toEqual([
    { inserted: 2, duplicates: 0 },
    { inserted: 1, duplicates: 0 },
  ]);
  return store;
}

function contents(db: Db) {
  return {
    rows: db.prepare('SELECT episode_id, host_id, size_bytes, duplicates FROM episodes ORDER BY id').all(),
    counters: db.prepare('SELECT name, value FROM counters ORDER BY name').all(),
    hosts: db.prepare('SELECT host_id, episodes, bytes FROM host_totals ORDER BY host_id').all(),
    held: db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'bulk_repeats'").pluck().get(),
  };
}

const loaded = {
  rows: [
    { episode_id: 'e1', host_id: 'h1', size_bytes: 10, duplicates: 1 },
    { episode_id: 'e2', host_id: 'h2', size_bytes: 20, duplicates: 1 },
    { episode_id: 'e3', host_id: 'h1', size_bytes: 30, duplicates: 1 },
  ],
  counters: [
    { name: 'duplicate_lines', value: 3 },
    { name: 'total_bytes', value: 60 },
    { name: 'total_episodes', value: 3 },
  ],
  hosts: [
    { host_id: 'h1', episodes: 2, bytes: 40 },
    { host_id: 'h2', episodes: 1, bytes: 20 },
  ],
  held: 0,
};

describe('a cold bulk load', () => {
  it('loads the rows without a unique key, then builds it and applies the repeats it held', () => {
    const db = openDatabase(tempDir());
    ensureEpisodeIndexes(db);
    // A new catalog's table has its key inline (migration v1).
    expect(keys(db)).toEqual(['sqlite_autoindex_episodes_1']);
    const store = loadRows(db);
    ensureEpisodeIndexes(db);
    expect(store.endBulk()).toEqual({ inserted: 0, duplicates: 3 });
    expect(keys(db)).toEqual([EPISODE_KEY_NAME]);
    expect(contents(db)).toEqual(loaded);
    // Live writes after it find their repeats through the key.
    expect(store.writeBatch([ep('e2', 'h2', 1), ep('e4', 'h2', 40)], cp(300))).toEqual({
      inserted: 1,
      duplicates: 1,
    });
    expect(() =>
      db.prepare("INSERT INTO episodes (episode_id, host_id, first_seen_at) VALUES ('e4', 'h', 'x')").run(),
    ).toThrow(/UNIQUE/);
    db.close();
  });

  it("takes a first-pass batch's repeats from its marks: a marked line is held, then applied by the key", () => {
    const db = openDatabase(tempDir());
    const store = new EpisodeStore(db);
    db.transaction(() => dropEpisodeIndexesForLoad(db))();
    store.startBulk();
    const line = (id: string, host: string, size: number) =>
      `{"episode_id": "${id}", "host_id": "${host}", "size_bytes": ${size}, "received_at_wall": "2026-01-01T00:00:00Z"}`;
    // e1 twice (the main thread marked its second line), e3 marked though no line had it before
    // (an id whose hash another id shares): held, then inserted once the key tells them apart.
    const lines = [line('e1', 'h1', 10), line('e2', 'h2', 20), line('e1', 'h1', 99), line('e3', 'h1', 30)];
    const bytes = Buffer.from(`${lines.join('\n')}\n`);
    const { batch } = scanIndexRange(bytes, 0, MAX_LINE_BYTES);
    expect(store.writeColumns({ ...batch, bytes, duplicateAt: [2, 3] }, cp(100))).toEqual({
      inserted: 2,
      duplicates: 0,
    });
    // The tailer's lines (no range plan) the same way: e2 marked, e4 not.
    expect(store.writeLines([line('e2', 'h2', 1), line('e4', 'h2', 40)], [0], cp(200))).toEqual({
      inserted: 1,
      duplicates: 0,
    });
    expect(store.marked).toBe(true);
    ensureEpisodeIndexes(db);
    expect(store.endBulk()).toEqual({ inserted: 1, duplicates: 2 });
    expect(store.marked).toBe(false);
    expect(db.prepare('SELECT episode_id, size_bytes, duplicates FROM episodes ORDER BY id').all()).toEqual([
      { episode_id: 'e1', size_bytes: 10, duplicates: 1 },
      { episode_id: 'e2', size_bytes: 20, duplicates: 1 },
      { episode_id: 'e4', size_bytes: 40, duplicates: 0 },
      { episode_id: 'e3', size_bytes: 30, duplicates: 0 },
    ]);
    expect(loadStoredTotals(db).total_episodes).toBe(4);
    expect(loadStoredTotals(db).duplicate_lines).toBe(2);
    db.close();
  });

  it('cut short, gets its key back at the next open, and its held lines at the writer start', () => {
    const dir = tempDir();
    let db = openDatabase(dir);
    loadRows(db);
    db.close(); // killed before its end: no key, repeats held
    db = openDatabase(dir);
    expect(keys(db)).toEqual([EPISODE_KEY_NAME]);
    // The main thread's lookup by id reads the key, not the table.
    expect(db.prepare("EXPLAIN QUERY PLAN SELECT 1 FROM episodes WHERE episode_id = 'e1'").all()).toEqual([
      expect.objectContaining({ detail: expect.stringContaining(EPISODE_KEY_NAME) }),
    ]);
    ensureEpisodeIndexes(db);
    expect(new EpisodeStore(db).applyHeld()).toEqual({ inserted: 0, duplicates: 3 });
    expect(contents(db)).toEqual(loaded);
    // Nothing left to apply.
    expect(new EpisodeStore(db).applyHeld()).toEqual({ inserted: 0, duplicates: 0 });
    db.close();
  });

  it("applies its held lines when another thread writes between the lines' read and the first write", () => {
    // In the server the main thread (phase-mix cache) or the verifier may commit while the writer
    // reads a 100k-line load's held repeats. A transaction that took the write lock only at its
    // first write then failed at once ("database is locked") and was retried, logged as an error.
    const dir = tempDir();
    const setup = openDatabase(dir);
    loadRows(setup);
    setup.close(); // cut short: its repeats are held
    const writer = openDatabase(dir);
    ensureEpisodeIndexes(writer);
    const other = openDatabase(dir);
    other.pragma('busy_timeout = 0'); // the other thread would wait; here it answers at once
    const store = new EpisodeStore(writer);
    // The first write of applyHeld (a held line's insert, or a repeat's bump), after its read.
    type Run = { run(...args: unknown[]): unknown };
    const internals = store as unknown as Record<'insert' | 'bumpDuplicate', Run>;
    let otherWrite: string | null = null;
    for (const name of ['insert', 'bumpDuplicate'] as const) {
      const statement = internals[name];
      internals[name] = {
        run(...args) {
          if (otherWrite === null) {
            try {
              other.prepare("INSERT OR REPLACE INTO sync_state (name, value) VALUES ('probe', 1)").run();
              otherWrite = 'committed';
            } catch (err) {
              otherWrite = (err as { code?: string }).code ?? String(err);
            }
          }
          return statement.run(...args);
        },
      };
    }
    expect(store.applyHeld()).toEqual({ inserted: 0, duplicates: 3 });
    // The writer held the lock from its BEGIN: the other connection waited (here: was refused).
    expect(otherWrite).toBe('SQLITE_BUSY');
    expect(contents(writer)).toEqual(loaded);
    other.close();
    writer.close();
  });

  it('leaves a table with its key inline as it is', () => {
    const db = openDatabase(tempDir());
    new EpisodeStore(db).writeBatch([ep('e1', 'h1', 10), ep('e1', 'h1', 10)], null);
    ensureEpisodeIndexes(db);
    ensureEpisodeIndexes(db);
    expect(keys(db)).toEqual(['sqlite_autoindex_episodes_1']);
    db.close();
  });
});

describe('a sha256 written in capitals', () => {
  const upper = 'ABCDEF0123456789'.repeat(4);
  const lower = upper.toLowerCase();

  it('is stored lowercased and found by a prefix in either case, by the catalog and the web filter', () => {
    const db = openDatabase(tempDir());
    ensureEpisodeIndexes(db);
    new EpisodeStore(db).writeBatch(
      [
        { ...ep('e1', 'h1', 1), sha256: upper },
        { ...ep('e2', 'h1', 1), sha256: 'NOT-HEX-ABC' },
      ],
      null,
    );
    expect(db.prepare('SELECT sha256 FROM episodes ORDER BY id').pluck().all()).toEqual([
      lower,
      'NOT-HEX-ABC',
    ]);
    const queries = new EpisodeQueries(db);
    for (const q of ['ABCDEF01', 'abcdef01']) {
      const f = { ...NO_FILTER, q };
      expect(queries.page(f, null, 10).items.map((i) => i.episode_id)).toEqual(['e1']);
      expect(matchesEpisodeFilter({ ...ep('e1', 'h1', 1), sha256: upper }, f)).toBe(true);
    }
    db.close();
  });

  it('in a catalog of an earlier version is lowercased by its migration', () => {
    const dir = tempDir();
    let db = openDatabase(dir);
    db.prepare(
      "INSERT INTO episodes (episode_id, host_id, sha256, first_seen_at) VALUES ('e1', 'h1', ?, 'x'), ('e2', 'h1', 'xYz', 'x')",
    ).run(upper);
    db.pragma('user_version = 5');
    db.close();
    db = openDatabase(dir);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.prepare('SELECT sha256 FROM episodes ORDER BY id').pluck().all()).toEqual([lower, 'xYz']);
    db.close();
  });
});

describe('an episode row', () => {
  it('keeps no text its other columns hold, and every reader gets each record back as written', () => {
    const db = openDatabase(null);
    const at = (ms: number) => new Date(ms).toISOString();
    const records: EpisodeRecord[] = [
      // A path in its default place, one elsewhere, none; a received time in the canonical text,
      // one in another text of an instant, none; years outside 0000–9999.
      { ...ep('e1', 'h1', 1), received_at: at(1_000), path: 'episodes/h1/e1.tar.zst' },
      { ...ep('e2', 'h1', 2), received_at: at(2_000), path: 'episodes/h1/other.tar.zst' },
      { ...ep('e3', 'h2', 3), received_at: '2026-01-01T00:00:00Z', extra: { k: [1] } },
      { ...ep('e4', 'h2', 4), received_at: null, path: 'episodes/h1/e4.tar.zst' },
      { ...ep('e5', 'h3', 5), received_at: at(253_402_300_800_000) },
      { ...ep('e6', 'h3', 6), received_at: at(-62_167_219_200_001) },
      { ...ep('e7', 'h3', 7), received_at: at(3_000) },
      { ...ep('e\u00008', 'h3', 8), received_at: at(3_000), path: 'episodes/h3/e\u00008.tar.zst' },
    ];
    new EpisodeStore(db).writeBatch(records, null);
    const stored = db
      .prepare('SELECT received_at, typeof(path) AS path, first_seen_at FROM episodes ORDER BY id')
      .all();
    expect(stored).toEqual([
      { received_at: null, path: 'blob', first_seen_at: '' },
      { received_at: null, path: 'text', first_seen_at: '' },
      { received_at: '2026-01-01T00:00:00Z', path: 'null', first_seen_at: '' },
      // A path under another host's directory is not this row's default place.
      { received_at: null, path: 'text', first_seen_at: '' },
      { received_at: null, path: 'null', first_seen_at: '' },
      { received_at: null, path: 'null', first_seen_at: '' },
      { received_at: null, path: 'null', first_seen_at: '' },
      // An id holding a NUL keeps its path as text.
      { received_at: null, path: 'text', first_seen_at: '' },
    ]);
    expect(db.prepare('SELECT first_id FROM episode_batches').pluck().all()).toEqual([1]);

    const queries = new EpisodeQueries(db);
    for (const r of records) {
      expect(queries.find(r.episode_id)?.item).toEqual({ ...r, status: 'unverified' });
    }
    const all = queries.page(NO_FILTER, null, 10).items.map(({ status: _s, ...r }) => r);
    expect(new Set(all.map((r) => JSON.stringify(r)))).toEqual(
      new Set(records.map((r) => JSON.stringify(r))),
    );
    const totals = loadStoredTotals(db);
    expect(totals.recent_episodes).toEqual([...records].reverse());
    // A host's newest received time is the greatest text, as before (`+010000-…` sorts first).
    expect(totals.hosts_indexed.h3?.last_received_at).toBe(at(3_000));
    expect(totals.hosts_indexed.h1?.last_received_at).toBe(at(2_000));
    db.close();
  });

  it('of a bulk load (inserted many at once) is the row the keyed insert writes, in arrival order', () => {
    const records = Array.from({ length: 70 }, (_, i) => ({
      ...ep(`e${i}`, `h${i % 3}`, i),
      path: i % 2 === 0 ? `episodes/h${i % 3}/e${i}.tar.zst` : `x/${i}`,
    }));
    const read = (db: Db) =>
      db
        .prepare('SELECT * FROM episodes ORDER BY id')
        .all()
        .map((r) => ({ ...(r as object), first_seen_at: '' }));
    const keyed = openDatabase(null);
    new EpisodeStore(keyed).writeBatch(records.slice(0, 40), null);
    new EpisodeStore(keyed).writeBatch(records.slice(40), null);
    const bulk = openDatabase(null);
    ensureEpisodeIndexes(bulk);
    const store = new EpisodeStore(bulk);
    bulk.transaction(() => dropEpisodeIndexesForLoad(bulk))();
    store.startBulk();
    store.writeBatch(records.slice(0, 40), null);
    store.writeBatch(records.slice(40), null);
    ensureEpisodeIndexes(bulk);
    store.endBulk();
    expect(read(bulk)).toEqual(read(keyed));
    expect(bulk.prepare('SELECT first_id FROM episode_batches ORDER BY 1').pluck().all()).toEqual([1, 41]);
    expect(loadStoredTotals(bulk)).toEqual(loadStoredTotals(keyed));
    keyed.close();
    bulk.close();
  });
});
