/**
 * Fault: the first start's cold load of a large index cut short, once part of it is committed: by
 * a SIGTERM (an operator's Ctrl-C: the writer stops the load after its first commit and the
 * process exits 0 at once) or a SIGKILL (a crash). The next start loads the index cold again from its start — every line committed once,
 * none twice — rather than resuming it line by line through the catalog's indexes (≈ 7× slower
 * on a 1M-line root); after a rotation meanwhile it resumes, so nothing read from the rotated
 * file is dropped.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, vi } from 'vitest';
import { DB_FILE } from '../../src/catalog/db.js';
import { generateDataRoot } from '../../src/generate/generate.js';
import type { EpisodesPage } from '../../src/protocol/api.js';
import type { DashboardState } from '../../src/protocol/index.js';
import { getJson } from '../support/server.js';
import { tempDir } from '../support/tmp.js';
import { type ChildServer, startChildServer } from './child-server.js';
import { indexLine, metric } from './support.js';

/** Enough that the cold load (rows, then index builds) is still under way when the first rows are in. */
const INDEX_LINES = 300_000;

const committedLines = (s: ChildServer) => metric(s.url, 'catalog_committed_lines_total', 'source="index"');

/** A generated root of INDEX_LINES lines in a temp dir, with a state dir beside it (not made yet). */
async function generatedRoot(seed: number) {
  const tmp = tempDir('cis490-fault-cut-');
  const dataRoot = path.join(tmp, 'root');
  const summary = await generateDataRoot({
    out: dataRoot,
    hosts: 5,
    episodes: 10,
    indexLines: INDEX_LINES,
    alerts: 200,
    telemetryKb: 4,
    seed,
  });
  return { tmp, dataRoot, stateDir: path.join(tmp, 'state'), total: summary.expected.total_episodes };
}

/** A root whose first start was stopped (`how`) once its catalog held part of the index. */
async function cutShortLoad(
  how: 'SIGTERM' | 'SIGKILL',
): Promise<{ dataRoot: string; stateDir: string; total: number }> {
  const { dataRoot, stateDir, total } = await generatedRoot(8_031);
  const first = await startChildServer({ dataRoot, stateDir });
  const committed = await vi.waitFor(
    async () => {
      const n = await committedLines(first);
      expect(n).toBeGreaterThan(0);
      return n;
    },
    { timeout: 60_000, interval: 10 },
  );
  if (how === 'SIGKILL') await first.kill();
  else {
    first.child.kill('SIGTERM');
    expect(await first.exited, first.stderr()).toBe('0');
  }
  const db = new Database(path.join(stateDir, DB_FILE), { readonly: true });
  try {
    const mark = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'bulk_load'").get();
    expect(
      mark,
      `the load had ended when stopped (${committed} lines committed just before the ${how})`,
    ).toBeDefined();
  } finally {
    db.close();
  }
  return { dataRoot, stateDir, total };
}

async function catalogTotal(server: ChildServer, expected: number): Promise<void> {
  await vi.waitFor(
    async () => {
      const page = await getJson<EpisodesPage>({ url: server.url }, '/api/episodes?limit=1');
      expect(page.body.total).toBe(expected);
    },
    { timeout: 60_000, interval: 100 },
  );
  const state = await getJson<DashboardState>({ url: server.url }, '/api/state');
  expect(state.body.total_episodes).toBe(expected);
}

describe('fault: the first cold load stopped part-way', () => {
  it('is loaded again from the start of the index after a SIGTERM, every line once', async () => {
    const { dataRoot, stateDir, total } = await cutShortLoad('SIGTERM');
    // Info: "catalog caught up" says the load ended (its indexes built), not only its rows in.
    const second = await startChildServer({ dataRoot, stateDir, extra: ['--log-level', 'info'] });
    await catalogTotal(second, total);
    // The whole index went through this run's writer (a resume commits only what was left).
    expect(await committedLines(second)).toBe(INDEX_LINES);
    expect(second.stderr()).toMatch(
      /stopped during the catalog's first load \(\d+ rows in\); loading .* again/,
    );
    // Once it has ended, the next start is a plain warm one.
    await vi.waitFor(() => expect(second.stderr()).toContain('catalog caught up'), {
      timeout: 60_000,
      interval: 50,
    });
    await second.kill();
    const third = await startChildServer({ dataRoot, stateDir });
    await catalogTotal(third, total);
    expect(await committedLines(third)).toBe(0);
    expect(third.stderr()).not.toMatch(/first load/);
  }, 180_000);

  it('is resumed after a SIGKILL when the index was rotated since, so the rotated file’s rows stay', async () => {
    const { dataRoot, stateDir, total } = await cutShortLoad('SIGKILL');
    const index = path.join(dataRoot, 'index.jsonl');
    fs.renameSync(index, `${index}.1`);
    const fresh = Array.from({ length: 50 }, (_, i) => indexLine(`after-rotation-${i}`, 'host-new')).join('');
    fs.writeFileSync(index, fresh);
    const second = await startChildServer({ dataRoot, stateDir });
    await catalogTotal(second, total + 50);
    expect(second.stderr()).toMatch(
      /first load \(\d+ rows in\) and .* is another file than the one it began on \(rotated\): resuming/,
    );
  }, 180_000);

  it('is resumed when it began at a checkpoint and read a rotated file first, so that file’s rows stay', async () => {
    const { tmp, dataRoot, stateDir, total } = await generatedRoot(8_032);
    const index = path.join(dataRoot, 'index.jsonl');
    const generated = path.join(tmp, 'generated.jsonl');
    fs.renameSync(index, generated);
    // A first run reads only a line it rejects: a checkpoint, no episode (the next start is cold).
    fs.writeFileSync(index, 'this is not a json line\n');
    const first = await startChildServer({ dataRoot, stateDir });
    await vi.waitFor(
      async () =>
        expect((await getJson<DashboardState>({ url: first.url }, '/api/state')).body.ready).toBe(true),
      { timeout: 30_000, interval: 50 },
    );
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe('0');
    // While stopped: lines appended, the file rotated, a new index.
    fs.appendFileSync(
      index,
      Array.from({ length: 50_000 }, (_, i) => indexLine(`a-${i}`, 'host-a')).join(''),
    );
    fs.renameSync(index, `${index}.1`);
    fs.renameSync(generated, index);
    // The load reads on from the checkpoint, through the rotated file into the new one; cut short there.
    const second = await startChildServer({ dataRoot, stateDir });
    await vi.waitFor(async () => expect(await committedLines(second)).toBeGreaterThan(60_000), {
      timeout: 60_000,
      interval: 10,
    });
    await second.kill();
    const third = await startChildServer({ dataRoot, stateDir });
    await catalogTotal(third, total + 50_000);
  }, 180_000);

  it('is resumed after a copytruncate refilled the index past what was read, so the copy’s rows stay', async () => {
    const { dataRoot, stateDir, total } = await cutShortLoad('SIGKILL');
    const index = path.join(dataRoot, 'index.jsonl');
    const before = fs.readFileSync(index, 'utf8');
    fs.copyFileSync(index, `${index}.1`);
    // Same inode, at least as long as before, other first bytes: only the head tells.
    fs.writeFileSync(index, before.replaceAll('"episode_id": "', '"episode_id": "x-'));
    const second = await startChildServer({ dataRoot, stateDir });
    await catalogTotal(second, 2 * total);
    expect(second.stderr()).toMatch(/first load \(\d+ rows in\) and .* no longer starts as it did/);
  }, 180_000);
});
