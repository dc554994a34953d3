/**
 * Fault case 1: a writer appends continuously, in random fragments (flushes mid-line), while
 * `index.jsonl` is rotated by rename (the writer keeps writing a few lines to the renamed file)
 * and by copytruncate. Nothing may be lost or counted twice: not in the totals, not over the
 * WebSocket, not in the catalog. The server is a child process, so that its peak RSS is its own
 * (in-process, the test's own id bookkeeping and garbage put a 200,000-line soak over the bound).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, vi } from 'vitest';
import { DB_FILE } from '../../src/catalog/db.js';
import type { EpisodesPage } from '../../src/protocol/api.js';
import type { DashboardState } from '../../src/protocol/index.js';
import { getJson } from '../support/server.js';
import { tempDir } from '../support/tmp.js';
import { startChildServer } from './child-server.js';
import { fragments, IdRecorder, indexLine, mib, prng, RSS_BOUND_BYTES, report, scale } from './support.js';

const LINES = scale(12_000, 200_000);
const ROTATE_EVERY = scale(2_000, 5_000);
/** Lines the writer may run ahead of the WebSocket: keeps every batch under the bulk threshold. */
const MAX_LAG = 500;
/** Lines still written to the renamed file, as a logger holding its descriptor does. */
const AFTER_RENAME = 5;

/** The server's counters from /metrics (`cis490_dashboard_<name>{<labels>}`), by name and labels. */
async function metrics(url: string): Promise<(name: string, labels?: string) => number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return (name, labels = '') => {
    const key = `cis490_dashboard_${name}${labels ? `{${labels}}` : ''} `;
    const line = text.split('\n').find((l) => l.startsWith(key));
    return line ? Number(line.slice(key.length)) : Number.NaN;
  };
}

/** The server's log lines for a failure message, without the one-per-repeat warnings. */
function serverLog(text: string): string {
  return text
    .split('\n')
    .filter((l) => !l.includes('repeated id counted once'))
    .join('\n')
    .slice(-3000);
}

/** The server's rotation log lines (pino JSON), each with its time since `since` and its fields. */
function rotationLog(text: string, since: number): string {
  return text
    .split('\n')
    .filter((l) => l.includes('input file rotated'))
    .map((l) => {
      try {
        const { time, how, drained } = JSON.parse(l) as { time: number; how?: string; drained?: string };
        return `${time - since} ms: ${how}${drained ? ` (drained ${path.basename(drained)})` : ''}`;
      } catch {
        return l;
      }
    })
    .join('; ');
}

/**
 * Where the ids the catalog lacks were written (the generation of index.jsonl and the line in it),
 * for the failure message: a lost range shows which rotation the catalog writer missed.
 */
function missingFromCatalog(stateDir: string, unique: Set<string>, where: Map<string, string>): string {
  const db = new Database(path.join(stateDir, DB_FILE), { readonly: true });
  try {
    const rows = db.prepare('SELECT episode_id FROM episodes').pluck().all() as string[];
    const have = new Set(rows);
    const missing = [...unique].filter((id) => !have.has(id));
    if (missing.length === 0) return 'every id is in the catalog table';
    const at = (id: string) => `${id} (${where.get(id)})`;
    return `${missing.length} ids missing from the catalog, ${at(missing[0] ?? '')} … ${at(missing.at(-1) ?? '')}`;
  } finally {
    db.close();
  }
}

describe('fault: rotation under continuous writes', () => {
  it('counts every id once through rename and copytruncate rotations, live and in the catalog', async () => {
    const started = Date.now();
    const tmp = tempDir('cis490-fault-rot-');
    const root = path.join(tmp, 'root');
    const stateDir = path.join(tmp, 'state');
    fs.mkdirSync(root);
    const index = path.join(root, 'index.jsonl');
    fs.writeFileSync(index, '');
    // Info: the server logs each rotation it counted, for the failure message of a count short.
    const server = await startChildServer({
      dataRoot: root,
      stateDir,
      extra: ['--rescan-interval', '3600', '--log-level', 'info'],
    });
    await vi.waitFor(
      async () => expect((await getJson<DashboardState>(server, '/api/state')).body.ready).toBe(true),
      { timeout: 30_000, interval: 50 },
    );
    const client = IdRecorder.to(server);
    await client.opened();

    const rnd = prng(8_001);
    const unique = new Set<string>();
    const order: string[] = [];
    /** Each id's first write: the rotation generation it went to and its line there. */
    const where = new Map<string, string>();
    let lineInFile = 0;
    let fd = fs.openSync(index, 'a');
    let generation = 0;
    const kinds = { rename: 0, copytruncate: 0 };
    /** What the writer did when, for the failure message of a rotation count short. */
    const timeline: string[] = [];

    const writeLine = async (fdNow: number, file = `generation ${generation}`) => {
      // One line in twenty repeats an id already written (receivers retry); it must count once.
      const repeat = order.length > 0 && rnd() < 0.05;
      const id = repeat ? (order[Math.floor(rnd() * order.length)] as string) : `ep-${order.length}`;
      if (!repeat) order.push(id);
      unique.add(id);
      if (!where.has(id)) where.set(id, `${file}, line ${lineInFile}`);
      lineInFile++;
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
          timeline.push(`${Date.now() - started} ms: rename to ${path.basename(rotated)}`);
          fs.renameSync(index, rotated);
          for (let k = 0; k < AFTER_RENAME; k++) await writeLine(fd, `generation ${generation - 1} renamed`);
          fs.closeSync(fd);
          fd = fs.openSync(index, 'a');
          lineInFile = 0;
        } else {
          kinds.copytruncate++;
          // What logrotate's copytruncate does; the writer's O_APPEND descriptor then writes at 0.
          fs.copyFileSync(index, rotated);
          fs.truncateSync(index, 0);
          timeline.push(`${Date.now() - started} ms: copytruncate to ${path.basename(rotated)}`);
          lineInFile = 0;
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
    // The last rotation may come after the last line (the writer copytruncates once every id is
    // written): every id is live once the file was read to its end, and the truncate is counted
    // at the tailer's next look, which a busy machine may run after this point (CI saw 2 of 3).
    let m = await metrics(server.url);
    const counted = (how: string) => m('input_rotations_total', `source="index",how="${how}"`);
    const rotationsSeen = () =>
      `rename ${counted('rename')}, truncate ${counted('truncate')}, replaced ${counted('replaced')}\n` +
      `writer: ${timeline.join('; ')}\nserver: ${rotationLog(server.stderr(), started)}`;
    await vi
      .waitFor(
        async () => {
          m = await metrics(server.url);
          if (counted('rename') < kinds.rename || counted('truncate') < kinds.copytruncate) throw new Error();
        },
        { timeout: 10_000, interval: 50 },
      )
      .catch(() => undefined); // the expectations below say what is short
    expect(counted('rename'), rotationsSeen()).toBeGreaterThanOrEqual(kinds.rename);
    expect(counted('truncate'), rotationsSeen()).toBeGreaterThanOrEqual(kinds.copytruncate);
    const lines = m('input_lines_total', 'source="index"');
    expect(m('input_duplicate_ids_total')).toBe(lines - unique.size);

    let catalogTotal = Number.NaN;
    try {
      await vi.waitFor(
        async () => {
          catalogTotal = (await getJson<EpisodesPage>(server, '/api/episodes?limit=1')).body.total;
          expect(catalogTotal).toBe(unique.size);
        },
        { timeout: 20_000, interval: 100 },
      );
    } catch {
      const c = await metrics(server.url);
      const committed = c('catalog_committed_lines_total', 'source="index"');
      expect.fail(
        `catalog: ${catalogTotal} episodes, ${committed} lines committed, against ${unique.size} episodes in ${lines} lines live; ${missingFromCatalog(stateDir, unique, where)}\nserver log (warn and up, repeats left out):\n${serverLog(server.stderr())}`,
      );
    }
    client.close();
    const peak = await server.kill();
    report('rotation', {
      lines,
      unique: unique.size,
      rotations: kinds,
      server_peak_rss: mib(peak),
      seconds: (Date.now() - started) / 1000,
    });
    expect(peak).not.toBeNull();
    expect(peak ?? 0).toBeLessThan(RSS_BOUND_BYTES);
  }, 120_000);
});
