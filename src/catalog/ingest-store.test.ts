import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/tmp.js';
import type { Checkpoint } from '../feeders/tail/types.js';
import { openDatabase } from './db.js';
import { AlertStore, EpisodeStore, readCheckpoint } from './ingest-store.js';

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
