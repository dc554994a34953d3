import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../util/log.js';
import { openDatabase } from './db.js';
import { type EpisodeFilter, EpisodeQueries, NO_FILTER } from './episodes-query.js';
import { ExplorerReadError, ExplorerThread } from './explorer-service.js';
import { EpisodeStore } from './ingest-store.js';
import { ensureEpisodeIndexes } from './schema.js';

const ROWS = 30_000;
const HOSTS = ['host-a', 'host-b', 'host-c', 'host-d'];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cis490-explorer-'));
const db = openDatabase(dir);
ensureEpisodeIndexes(db);
new EpisodeStore(db).writeBatch(
  Array.from({ length: ROWS }, (_, i) => ({
    episode_id: `ep-${String(i).padStart(6, '0')}`,
    host_id: HOSTS[i % HOSTS.length] as string,
    sha256: createHash('sha256').update(String(i)).digest('hex'),
    size_bytes: 1000 + (i % 97),
    received_at: new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString(),
  })),
  null,
);
const here = new EpisodeQueries(db);
const logger = createLogger({ level: 'silent' });
const threads: ExplorerThread[] = [];
const newThread = (idleEndMs?: number, afterIdleEnd?: () => void) => {
  const t = new ExplorerThread({
    stateDir: dir,
    logger,
    ...(idleEndMs !== undefined ? { idleEndMs } : {}),
    ...(afterIdleEnd ? { afterIdleEnd } : {}),
  });
  threads.push(t);
  return t;
};

afterAll(async () => {
  for (const t of threads) await t.stop();
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the explorer thread', () => {
  const filters: Array<Partial<EpisodeFilter>> = [
    {},
    { hosts: ['host-b'] },
    { q: 'ep-0001' },
    { minSize: 1050, fromMs: Date.UTC(2026, 10, 1) + 10_000_000 },
    { statuses: ['unverified'], maxSize: 1010 },
  ];

  it('answers pages, sorted pages, totals and facets as the catalog does', async () => {
    const explorer = newThread();
    for (const part of filters) {
      const f = { ...NO_FILTER, ...part };
      expect(await explorer.page(f, null, 50)).toEqual(here.page(f, null, 50));
      const next = here.page(f, null, 50).next;
      expect(await explorer.page(f, next, 50)).toEqual(here.page(f, next, 50));
      expect(await explorer.pageSorted(f, { sort: 'size', order: 'asc' }, null, 20)).toEqual(
        here.pageSorted(f, { sort: 'size', order: 'asc' }, null, 20),
      );
      expect(await explorer.facets(f)).toEqual(here.facets(f));
      expect(await explorer.phaseFacets(f)).toEqual(here.phaseFacets(f));
    }
    // One thread for all of them, there still.
    expect(explorer.stats()).toMatchObject({ running: true, thread_starts_total: 1, errors_total: 0 });
  });

  it('leaves the event loop free while a long read runs on it', async () => {
    const explorer = newThread();
    await explorer.facets(NO_FILTER); // the thread is up
    // Facets of a `q` matching every row read each row: long enough for a timer to run meanwhile,
    // which on the event loop's own thread could not.
    let answered = false;
    const timerRan = new Promise<boolean>((resolve) => setTimeout(() => resolve(!answered), 0));
    const facets = await explorer.facets({ ...NO_FILTER, q: 'ep-' });
    answered = true;
    expect(await timerRan).toBe(true);
    expect(facets).toEqual(here.facets({ ...NO_FILTER, q: 'ep-' }));
  });

  it("refuses a read SQLite refuses, with SQLite's message and code, and answers the next", async () => {
    const explorer = newThread();
    // More hosts than SQLite takes as variables in one statement.
    const hosts = Array.from({ length: 40_000 }, (_, i) => `h-${i}`);
    const failed = await explorer.facets({ ...NO_FILTER, hosts, minSize: 1 }).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(ExplorerReadError);
    expect(failed).toMatchObject({
      code: 'SQLITE_ERROR',
      message: expect.stringMatching(/too many SQL variables/),
    });
    expect(await explorer.facets({ ...NO_FILTER, hosts: ['host-a'] })).toEqual(
      here.facets({ ...NO_FILTER, hosts: ['host-a'] }),
    );
    expect(explorer.stats()).toMatchObject({ errors_total: 1, thread_starts_total: 1 });
  });

  it('ends its thread when idle and starts one for the next read', async () => {
    let ended!: () => void;
    const idleEnd = new Promise<void>((resolve) => (ended = resolve));
    const explorer = newThread(50, () => ended());
    const f = { ...NO_FILTER, hosts: ['host-c'] };
    expect(await explorer.page(f, null, 10)).toEqual(here.page(f, null, 10));
    await idleEnd;
    expect(explorer.stats()).toMatchObject({ running: false, thread_starts_total: 1 });
    expect(await explorer.page(f, null, 10)).toEqual(here.page(f, null, 10));
    expect(explorer.stats()).toMatchObject({ running: true, thread_starts_total: 2 });
  });

  it('refuses a read when the catalog cannot be opened, with the cause and its code, and starts again for the next', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'cis490-explorer-none-'));
    try {
      const explorer = new ExplorerThread({ stateDir: empty, logger });
      threads.push(explorer);
      for (let i = 0; i < 2; i++) {
        const failed = await explorer.facets(NO_FILTER).catch((err: unknown) => err);
        expect(failed).toBeInstanceOf(ExplorerReadError);
        expect(failed).toMatchObject({ code: 'SQLITE_CANTOPEN' });
      }
      expect(explorer.stats()).toMatchObject({ running: false, thread_starts_total: 2, errors_total: 2 });
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('stop() waits for a thread ended while idle that is still exiting', async () => {
    const order: string[] = [];
    let ended!: () => void;
    const idleEnd = new Promise<void>((resolve) => (ended = resolve));
    const explorer = newThread(1, () => {
      order.push('exited');
      ended();
    });
    await explorer.facets(NO_FILTER);
    // The idle end has asked the thread to stop; it is exiting, no longer the current one.
    await vi.waitFor(() => expect(explorer.stats().running).toBe(false), { interval: 1 });
    await explorer.stop().then(() => order.push('stopped'));
    await idleEnd;
    expect(order).toEqual(['exited', 'stopped']);
  });

  it('refuses a read whose arguments cannot reach the thread, and still ends the thread when idle', async () => {
    let ended!: () => void;
    const idleEnd = new Promise<void>((resolve) => (ended = resolve));
    const explorer = newThread(20, () => ended());
    await explorer.facets(NO_FILTER);
    // A function is no value a thread can be sent (a direct caller's mistake; the routes parse).
    const hosts = [() => 'host-a'] as unknown as string[];
    await expect(explorer.facets({ ...NO_FILTER, hosts })).rejects.toMatchObject({
      code: 'explorer_bad_call',
    });
    await idleEnd;
    expect(explorer.stats()).toMatchObject({ running: false, errors_total: 1 });
  });

  it('refuses reads once stopped', async () => {
    const explorer = newThread();
    await explorer.facets(NO_FILTER);
    await explorer.stop();
    expect(explorer.stats().running).toBe(false);
    await expect(explorer.facets(NO_FILTER)).rejects.toMatchObject({ code: 'explorer_stopped' });
  });
});
