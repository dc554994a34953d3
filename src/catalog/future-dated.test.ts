import { describe, expect, it } from 'vitest';
import { openDatabase } from './db.js';
import { futureDatedOrNull } from './future-dated.js';

describe('the future-dated count', () => {
  it('reads the time index, and is left out (null) while a bulk load has that index dropped', () => {
    const db = openDatabase(null);
    try {
      const insert = db.prepare(
        "INSERT INTO episodes (episode_id, host_id, received_ms, first_seen_at) VALUES (?, 'h', ?, 'now')",
      );
      const now = Date.now();
      insert.run('past', now - 60_000);
      insert.run('ahead', now + 3_600_000);
      expect(futureDatedOrNull(db)).toBe(1);
      // A cold load drops the secondary indexes and builds them after its rows: a scrape meanwhile
      // must not scan every row.
      db.exec('DROP INDEX episodes_by_time');
      expect(futureDatedOrNull(db)).toBeNull();
      db.exec('CREATE INDEX episodes_by_time ON episodes(received_ms, host_id, status, size_bytes)');
      expect(futureDatedOrNull(db)).toBe(1);
    } finally {
      db.close();
    }
  });
});
