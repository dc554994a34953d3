import { once } from 'node:events';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it, vi } from 'vitest';
import { tempDir } from '../../test/support/tmp.js';
import type { IngestEntry } from '../bus/ingest-log.js';
import { compactIndexBatch } from '../feeders/index-compact.js';
import type { Checkpoint } from '../feeders/tail/types.js';
import type { AlertRecord, EpisodeRecord } from '../protocol/index.js';
import { silentLogger } from '../util/log.js';
import { openDatabase } from './db.js';
import type { SourceName } from './ingest-store.js';
import { WRITER_HANDOVER } from './persist-protocol.js';
import { CatalogPersister, LIVE_COMMIT_MS } from './persister.js';
import { prestartCatalogWriter, releasePrestartedCatalogWriter, writerFile } from './writer-prestart.js';

const checkpoint = (offset: number): Checkpoint => ({
  dev: 1,
  ino: 2,
  fingerprint: 'f'.repeat(40),
  fingerprintLen: 10,
  offset,
});

const episode = (id: string): EpisodeRecord => ({
  episode_id: id,
  host_id: 'host-01',
  sha256: null,
  size_bytes: 10,
  received_at: '2026-12-05T10:00:00.000Z',
});

let seq = 0;
/** A tailer's batch of index lines: `bulk` for a backlog, else live. */
function indexEntry(
  ids: string[],
  offset: number,
  opts: { bulk?: boolean; repeats?: string[] } = {},
): IngestEntry {
  const duplicateIds = opts.repeats ?? [];
  return {
    seq: ++seq,
    source: 'index',
    kind: 'records',
    records: ids.map(episode),
    duplicateIds,
    checkpoint: checkpoint(offset),
    bulk: opts.bulk ?? false,
    lines: ids.length + duplicateIds.length,
    skipped: {},
    invalidUtf8Lines: 0,
    bytes: offset,
  };
}

function alertEntry(offset: number): IngestEntry {
  const alert: AlertRecord = {
    host_id: 'host-01',
    symptom: 'disk',
    detail: null,
    suggested_fix: null,
    detected_at: '2026-12-05T10:00:00.000Z',
    dedup_key: null,
  };
  return {
    seq: ++seq,
    source: 'alerts',
    kind: 'records',
    records: [alert],
    checkpoint: checkpoint(offset),
    bulk: false,
    lines: 1,
    skipped: {},
    invalidUtf8Lines: 0,
    bytes: offset,
  };
}

/** A cold first pass's batch of whole lines (the tailer's, when no range could be planned). */
function firstPassEntry(ids: string[], offset: number): IngestEntry {
  const lines = ids.map((id) => JSON.stringify(episode(id)));
  return {
    seq: ++seq,
    source: 'index',
    kind: 'compact',
    batch: compactIndexBatch(lines),
    duplicateAt: [],
    read: { bytes: offset, skips: {}, excerpts: [] },
    raw: { kind: 'lines', lines },
    checkpoint: checkpoint(offset),
  };
}

const firstPassDone = (): IngestEntry => ({ seq: ++seq, source: 'index', kind: 'first_pass_done' });

/** A writer on a fresh catalog; `commits` lists each transaction's source, in commit order. */
function writer(opts: { coldWindowBytes?: number } = {}) {
  const stateDir = path.join(tempDir('cis490-persister-'), 'state');
  openDatabase(stateDir).close(); // the schema, as the pipeline makes it before the writer starts
  const commits: SourceName[] = [];
  seq = 0;
  const persister = new CatalogPersister(
    { stateDir },
    silentLogger(),
    undefined,
    (source) => {
      commits.push(source);
    },
    opts.coldWindowBytes,
  );
  persister.start();
  const read = () => {
    const db = openDatabase(stateDir, { readonly: true });
    try {
      const rows = db.prepare('SELECT episode_id, duplicates FROM episodes ORDER BY id').all() as Array<{
        episode_id: string;
        duplicates: number;
      }>;
      const offsets = db.prepare('SELECT source, offset FROM checkpoints ORDER BY source').all();
      return { rows, offsets };
    } finally {
      db.close();
    }
  };
  return { persister, commits, read, stateDir };
}

describe('catalog persister: live batches', () => {
  it('commits the live batches of a window as one transaction, with the last checkpoint and every repeat', async () => {
    const { persister, commits, read } = writer();
    try {
      await persister.apply(indexEntry(['a', 'b'], 100));
      await persister.apply(indexEntry(['c'], 150, { repeats: ['a'] }));
      await persister.apply(indexEntry(['d'], 200, { repeats: ['d'] }));
      await persister.whenIdle();
      expect(commits).toEqual(['index']);
      expect(persister.stats().committed_lines.index).toBe(6);
      expect(persister.stats().duplicates_total).toBe(2);
      const { rows, offsets } = read();
      expect(rows).toEqual([
        { episode_id: 'a', duplicates: 1 },
        { episode_id: 'b', duplicates: 0 },
        { episode_id: 'c', duplicates: 0 },
        { episode_id: 'd', duplicates: 1 },
      ]);
      expect(offsets).toEqual([{ source: 'index', offset: 200 }]);
    } finally {
      await persister.stop();
    }
  });

  it('commits held live batches on its own, without being asked', async () => {
    const { persister, read } = writer();
    try {
      await persister.apply(indexEntry(['a'], 100));
      await vi.waitFor(() => expect(persister.stats().committed_lines.index).toBe(1), { timeout: 10_000 });
      expect(read().offsets).toEqual([{ source: 'index', offset: 100 }]);
    } finally {
      await persister.stop();
    }
  });

  it('keeps log order: held batches go before a batch of another source; a backlog joins them', async () => {
    const { persister, commits, read } = writer();
    try {
      await persister.apply(indexEntry(['a'], 100));
      await persister.apply(alertEntry(40));
      await persister.apply(indexEntry(['b'], 200));
      await persister.apply(indexEntry(['c'], 300, { bulk: true }));
      await persister.apply(indexEntry(['d'], 400));
      await persister.whenIdle();
      expect(commits).toEqual(['index', 'alerts', 'index']);
      expect(read().rows.map((r) => r.episode_id)).toEqual(['a', 'b', 'c', 'd']);
      expect(read().offsets).toEqual([
        { source: 'alerts', offset: 40 },
        { source: 'index', offset: 400 },
      ]);
    } finally {
      await persister.stop();
    }
  });

  it("commits a restart's backlog in transactions of 20,000 lines, not one per read", async () => {
    const { persister, commits, read } = writer();
    try {
      const ids: string[] = [];
      // 45 reads of 1,000 lines (a read is ≈ 64 KiB of receiver lines), the last with a repeat.
      for (let r = 0; r < 45; r++) {
        const batch = Array.from({ length: 1000 }, (_, i) => `b${r}-${i}`);
        ids.push(...batch);
        await persister.apply(
          indexEntry(batch, (r + 1) * 1000, r === 44 ? { bulk: true, repeats: ['b0-0'] } : { bulk: true }),
        );
      }
      await persister.whenIdle();
      // Two of 20,000 lines and the rest: each commit writes every page it dirtied to the log, and
      // one per read wrote the index leaves of ≈ 180 rows each time.
      expect(commits).toEqual(['index', 'index', 'index']);
      const rows = read().rows;
      expect(rows.map((r) => r.episode_id)).toEqual(ids);
      expect(rows[0]).toEqual({ episode_id: 'b0-0', duplicates: 1 });
      expect(read().offsets).toEqual([{ source: 'index', offset: 45_000 }]);
    } finally {
      await persister.stop();
    }
  });

  it('commits held live lines when a query asks (commitHeld), and waits for nothing else', async () => {
    const { persister, commits, read } = writer();
    try {
      await persister.commitHeld(); // nothing held: at once
      await persister.apply(indexEntry(['a'], 100));
      await persister.apply(alertEntry(40));
      await persister.apply(indexEntry(['b'], 200));
      await persister.commitHeld();
      // Every live line read so far is in the catalog when it resolves, not 0.5 s later.
      expect(read().rows.map((r) => r.episode_id)).toEqual(['a', 'b']);
      expect(read().offsets).toEqual([
        { source: 'alerts', offset: 40 },
        { source: 'index', offset: 200 },
      ]);
      expect(commits).toEqual(['index', 'alerts', 'index']);
    } finally {
      await persister.stop();
    }
  });

  it('commits what it holds when stopped', async () => {
    const { persister, read } = writer();
    await persister.apply(indexEntry(['a'], 100));
    await persister.apply(indexEntry(['b'], 200));
    await persister.stop();
    expect(read().rows.map((r) => r.episode_id)).toEqual(['a', 'b']);
    expect(read().offsets).toEqual([{ source: 'index', offset: 200 }]);
  });
});

describe('catalog persister: a cold first pass', () => {
  // Its batches wait for the pass's end (the writer keeps off the cores meanwhile): each case
  // below is one way the wait must end, with every row committed in the log's order.
  it('commits the pass and what the log appended during it, in log order, once the pass is over', async () => {
    const { persister, commits, read } = writer();
    try {
      await persister.apply(firstPassEntry(['a', 'b'], 100));
      await persister.apply(alertEntry(40));
      await persister.apply(firstPassEntry(['c'], 150));
      // Nothing commits while the pass runs. (What must not happen has no event to wait for: this
      // waits past the live commit window, the longest anything is otherwise held.)
      await new Promise((resolve) => setTimeout(resolve, 2 * LIVE_COMMIT_MS));
      expect(commits).toEqual([]);
      expect(read().rows).toEqual([]);
      await persister.apply(firstPassDone());
      // The pass's end alone hands them over (not a wait for idle).
      await vi.waitFor(() => expect(read().rows).toHaveLength(3), { timeout: 10_000 });
      await persister.apply(indexEntry(['d'], 200));
      await persister.whenIdle();
      expect(commits).toEqual(['index', 'alerts', 'index', 'index', 'index']);
      expect(read().rows.map((r) => r.episode_id)).toEqual(['a', 'b', 'c', 'd']);
      expect(read().offsets).toEqual([
        { source: 'alerts', offset: 40 },
        { source: 'index', offset: 200 },
      ]);
    } finally {
      await persister.stop();
    }
  });

  it('does not make a pass larger than its cold window wait for its own end', async () => {
    // Two lines outweigh this window: the reader waits for room, which only commits make.
    const { persister, read } = writer({ coldWindowBytes: 256 });
    try {
      await persister.apply(firstPassEntry(['a', 'b'], 100));
      await persister.apply(firstPassEntry(['c', 'd'], 200));
      expect(read().rows.map((r) => r.episode_id)).toEqual(expect.arrayContaining(['a', 'b']));
      await persister.apply(firstPassDone());
      await persister.whenIdle();
      expect(read().rows.map((r) => r.episode_id)).toEqual(['a', 'b', 'c', 'd']);
    } finally {
      await persister.stop();
    }
  });

  it('commits a live line at once when a query asks during the pass (commitHeld)', async () => {
    const { persister, read } = writer();
    try {
      await persister.apply(firstPassEntry(['a'], 100));
      await persister.apply(alertEntry(40));
      await persister.commitHeld();
      expect(read().offsets).toEqual(
        expect.arrayContaining([
          { source: 'alerts', offset: 40 },
          { source: 'index', offset: 100 },
        ]),
      );
    } finally {
      await persister.stop();
    }
  });

  it('commits the first batch of a cold pass stopped during it, and leaves the load marked cut short', async () => {
    const { persister, read, stateDir } = writer();
    await persister.apply(firstPassEntry(['a', 'b'], 100));
    await persister.apply(firstPassEntry(['c'], 150));
    await persister.stop();
    // A checkpoint, so that the next start can follow the index through a rotation meanwhile; the
    // rest is not written, as that start loads the index again (bulk-load-reset.ts).
    expect(read().rows.map((r) => r.episode_id)).toEqual(['a', 'b']);
    expect(read().offsets).toEqual([{ source: 'index', offset: 100 }]);
    const db = openDatabase(stateDir, { readonly: true });
    try {
      // Synced at the stop (no unsynced mark: the next start need not check the catalog); the load
      // is still marked, with the file it began on.
      expect(db.prepare('SELECT name FROM sync_state').pluck().all()).toEqual([]);
      expect(db.prepare('SELECT count(*) FROM bulk_load').pluck().get()).toBe(1);
    } finally {
      db.close();
    }
  });
});

describe('catalog writer started ahead of need', () => {
  it('takes the prestarted thread and commits through it as through a writer started with its data', async () => {
    const threadId = prestartCatalogWriter();
    expect(threadId).not.toBeNull();
    const { persister, read } = writer();
    try {
      expect(persister.writerThreadId).toBe(threadId);
      await persister.apply(indexEntry(['a', 'b'], 100));
      await persister.whenIdle();
      expect(read()).toEqual({
        rows: [
          { episode_id: 'a', duplicates: 0 },
          { episode_id: 'b', duplicates: 0 },
        ],
        offsets: [{ source: 'index', offset: 100 }],
      });
    } finally {
      await persister.stop();
    }
    // Taken once: the next writer is a thread of its own.
    const second = writer();
    try {
      expect(second.persister.writerThreadId).not.toBe(threadId);
    } finally {
      await second.persister.stop();
      releasePrestartedCatalogWriter();
    }
  });

  it('ends a prestarted writer told that no data is coming, having opened nothing', async () => {
    const handover = new SharedArrayBuffer(4);
    const worker = new Worker(writerFile(), {
      workerData: { handover },
    });
    const messages: unknown[] = [];
    worker.on('message', (m) => messages.push(m));
    const word = new Int32Array(handover);
    Atomics.store(word, 0, WRITER_HANDOVER.released);
    Atomics.notify(word, 0);
    const [code] = await once(worker, 'exit');
    expect(code).toBe(0);
    expect(messages).toEqual([]);
  });
});
