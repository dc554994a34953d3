/**
 * The composition root as a user meets it: a real `serve` process on a generated root.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { logLineOf, startServeOnGeneratedRoot } from '../test/support/replica-process.js';
import { EPISODE_INDEXES } from './catalog/schema.js';

const lines = (file: string) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);

describe('serve', () => {
  it('logs "catalog caught up" once every line read at start is in the catalog, its indexes built', async () => {
    const { serve, root, stateDir, spawnedAt } = await startServeOnGeneratedRoot({
      hosts: 3,
      episodes: 9,
      indexLines: 400,
      alerts: 12,
      telemetryKb: 4,
      seed: 11,
    });
    const logged = await logLineOf<{
      committed_lines: { index: number; alerts: number };
      seconds_since_start: number;
    }>(serve, 'catalog caught up');
    const indexLines = lines(path.join(root, 'index.jsonl'));
    expect(logged.committed_lines).toEqual({
      index: indexLines.length,
      alerts: lines(path.join(root, 'alerts.jsonl')).length,
    });
    // Seconds since the server's own start: more than nothing, no more than since its spawn here.
    expect(logged.seconds_since_start).toBeGreaterThan(0);
    expect(logged.seconds_since_start).toBeLessThanOrEqual((performance.now() - spawnedAt) / 1000);
    // What the line promises, read from the catalog file itself: every episode row and every
    // index the explorer reads through (the unique id key and the secondary ones).
    const db = new Database(path.join(stateDir, 'catalog.sqlite'), { readonly: true, fileMustExist: true });
    try {
      const indexes = db
        .prepare("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'episodes'")
        .pluck()
        .get();
      expect(indexes).toBe(EPISODE_INDEXES.length + 1);
      const ids = new Set(indexLines.map((l) => (JSON.parse(l) as { episode_id: string }).episode_id));
      expect(db.prepare('SELECT count(*) FROM episodes').pluck().get()).toBe(ids.size);
    } finally {
      db.close();
    }
  });
});
