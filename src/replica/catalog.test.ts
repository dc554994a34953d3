import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../catalog/db.js';
import { ReplicaCatalog } from './catalog.js';

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
});
