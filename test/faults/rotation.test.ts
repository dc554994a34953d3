/**
 * Fault case 1: a writer appends continuously, in random fragments (flushes mid-line), while
 * `index.jsonl` is rotated by rename (the writer keeps writing a few lines to the renamed file)
 * and by copytruncate. Nothing may be lost or counted twice: not in the totals, not over the
 * WebSocket, not in the catalog.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { EpisodesPage } from '../../src/protocol/api.js';
import type { DashboardState } from '../../src/protocol/index.js';
import { getJson, testServer } from '../../src/test-utils/server.js';
import { tempDir } from '../../src/test-utils/tmp.js';
import {
  fragments,
  IdRecorder,
  indexLine,
  mib,
  peakRss,
  prng,
  RSS_BOUND_BYTES,
  report,
  scale,
} from './support.js';

const LINES = scale(12_000, 200_000);
const ROTATE_EVERY = scale(2_000, 5_000);
/** Lines the writer may run ahead of the WebSocket: keeps every batch under the bulk threshold. */
const MAX_LAG = 500;
/** Lines still written to the renamed file, as a logger holding its descriptor does. */
const AFTER_RENAME = 5;

describe('fault: rotation under continuous writes', () => {
  it('counts every id once through rename and copytruncate rotations, live and in the catalog', async () => {
    const started = Date.now();
    const root = tempDir('cis490-fault-rot-');
    const index = path.join(root, 'index.jsonl');
    fs.writeFileSync(index, '');
    const server = await testServer({ dataRoot: root, rescanInterval: 3600 });
    await server.dashboard.whenReady();
    const client = IdRecorder.to(server);
    await client.opened();

    const rnd = prng(8_001);
    const unique = new Set<string>();
    const order: string[] = [];
    let fd = fs.openSync(index, 'a');
    let generation = 0;
    const kinds = { rename: 0, copytruncate: 0 };

    const writeLine = async (fdNow: number) => {
      // One line in twenty repeats an id already written (receivers retry); it must count once.
      const repeat = order.length > 0 && rnd() < 0.05;
      const id = repeat ? (order[Math.floor(rnd() * order.length)] as string) : `ep-${order.length}`;
      if (!repeat) order.push(id);
      unique.add(id);
      for (const part of fragments(
        indexLine(id, `host-0${order.length % 4}`),
        1 + Math.floor(rnd() * 4),
        rnd,
      )) {
        fs.writeSync(fdNow, part);
        // Let the tailer see the half-written line now and then.
        if (rnd() < 0.05) await new Promise((r) => setImmediate(r));
      }
    };

    for (let i = 1; i <= LINES; i++) {
      await writeLine(fd);
      if (i % ROTATE_EVERY === 0) {
        generation++;
        const rotated = `${index}.${generation}`;
        if (generation % 2 === 1) {
          kinds.rename++;
          fs.renameSync(index, rotated);
          for (let k = 0; k < AFTER_RENAME; k++) await writeLine(fd);
          fs.closeSync(fd);
          fd = fs.openSync(index, 'a');
        } else {
          kinds.copytruncate++;
          // What logrotate's copytruncate does; the writer's O_APPEND descriptor then writes at 0.
          fs.copyFileSync(index, rotated);
          fs.truncateSync(index, 0);
        }
      }
      if (i % 100 === 0) {
        await client.until(() => client.seen.size >= unique.size - MAX_LAG, `lag under ${MAX_LAG}`);
      }
    }
    fs.closeSync(fd);

    await client.until(() => client.seen.size >= unique.size, `all ${unique.size} ids over the WebSocket`);
    expect(client.repeated()).toEqual([]);
    expect(client.seen.size).toBe(unique.size);
    const state = await getJson<DashboardState>(server, '/api/state');
    expect(state.body.total_episodes).toBe(unique.size);
    const stats = server.dashboard.stats().index;
    expect(stats.rotations.rename).toBeGreaterThanOrEqual(kinds.rename);
    expect(stats.rotations.truncate).toBeGreaterThanOrEqual(kinds.copytruncate);
    expect(stats.duplicates).toBe(stats.lines - unique.size);

    await vi.waitFor(
      async () => {
        const page = await getJson<EpisodesPage>(server, '/api/episodes?limit=1');
        const why = JSON.stringify({ catalog: server.dashboard.stats().catalog, index: stats });
        expect(page.body.total, why).toBe(unique.size);
      },
      { timeout: 20_000, interval: 100 },
    );
    client.close();
    const peak = peakRss();
    report('rotation', {
      lines: stats.lines,
      unique: unique.size,
      rotations: kinds,
      peak_rss: mib(peak),
      seconds: (Date.now() - started) / 1000,
    });
    expect(peak ?? 0).toBeLessThan(RSS_BOUND_BYTES);
  }, 120_000);
});
