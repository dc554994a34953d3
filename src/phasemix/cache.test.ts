/**
 * The phase cache writes on the main thread: it must never wait out SQLite's busy timeout (5 s of
 * a frozen event loop) while another connection (the catalog writer, the verifier thread) holds
 * the write lock. Busy: the rows are kept and stored by a later write, in order.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { tempDir } from '../../test/support/tmp.js';
import { openDatabase } from '../catalog/db.js';
import { type CachedEpisode, SqlitePhaseCache } from './cache.js';

const entry = (i: number): CachedEpisode => ({
  rel: `episodes/h/ep-${i}.tar.zst`,
  host: 'h',
  size: 100 + i,
  mtimeMs: 1_700_000_000_000 + i,
  status: 'ok',
  counts: { boot: 1 },
  seconds: { boot: 1.5 },
  labels: 1,
  meta: { i },
});

describe('SqlitePhaseCache', () => {
  it('keeps rows for a later write while another connection holds the write lock, never waiting it out', () => {
    const dir = tempDir('cis490-phase-cache-');
    const main = openDatabase(dir);
    const other = openDatabase(dir);
    onTestFinished(() => {
      main.close();
      other.close();
    });
    const cache = new SqlitePhaseCache(main);
    cache.write([entry(1)], []);
    expect(cache.pending()).toBe(0);

    other.exec('BEGIN IMMEDIATE');
    cache.write([entry(2), entry(3)], ['episodes/h/ep-1.tar.zst']);
    expect(cache.pending()).toBe(3);
    // The connection's own timeout is back for everything else.
    expect(main.pragma('busy_timeout', { simple: true })).toBe(5000);
    other.exec('COMMIT');

    cache.write([], []);
    expect(cache.pending()).toBe(0);
    const rows = [...cache.load().keys()].sort();
    expect(rows).toEqual(['episodes/h/ep-2.tar.zst', 'episodes/h/ep-3.tar.zst']);
    const meta = main.prepare('SELECT meta FROM phase_cache WHERE rel_path = ?').pluck().get(rows[0]);
    expect(meta).toBe('{"i":2}');
  });
});
