import { describe, expect, it } from 'vitest';
import { openDatabase } from './db.js';
import {
  dropEpisodeIndexesForLoad,
  EPISODE_KEY_NAME,
  ensureEpisodeIndexes,
  hasInlineEpisodeKey,
} from './schema.js';

/**
 * A cold bulk load makes `episodes` again without its inline unique key, from the table's own
 * definition: every column the migrations gave it must survive that (a second text of the table
 * once lived here and would have lost any column a later migration added).
 */
describe('the keyless episodes table of a bulk load', () => {
  it('has the migrated table’s columns, types, defaults and constraints, and gets its key back as an index', () => {
    const db = openDatabase(null);
    const columns = () => db.prepare('PRAGMA table_info(episodes)').all();
    const migrated = columns();
    expect(hasInlineEpisodeKey(db)).toBe(true);

    db.transaction(() => dropEpisodeIndexesForLoad(db))();
    expect(columns()).toEqual(migrated);
    expect(hasInlineEpisodeKey(db)).toBe(false);

    ensureEpisodeIndexes(db);
    const key = db
      .prepare('SELECT name FROM pragma_index_list(?) WHERE "unique" = 1')
      .all('episodes') as Array<{ name: string }>;
    expect(key.map((k) => k.name)).toEqual([EPISODE_KEY_NAME]);
    const insert = db.prepare(
      "INSERT INTO episodes (episode_id, host_id, first_seen_at) VALUES ('e-1', 'h', '2026-01-01T00:00:00Z')",
    );
    insert.run();
    expect(() => insert.run()).toThrow(/UNIQUE/);
    db.close();
  });
});
