/**
 * Fault case (issue 14, item 1): a burst of new tarballs in one host folder while serving. The
 * real server process answers /livez all along (polled back to back during the burst, each poll
 * bounded), its host counts and bytes come out exact, the phase mix and the integrity verifier
 * take in the same burst, and nothing logs "database is locked". 20,000 files, then 2,000 more
 * into that folder; 200,000 and 20,000 under `npm run test:soak`.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { DashboardState, PhaseMix } from '../../src/protocol/index.js';
import { tempDir } from '../support/tmp.js';
import { type ChildServer, startChildServer } from './child-server.js';
import { mib, peakRss, RSS_BOUND_BYTES, report, scale } from './support.js';
import { buildEpisodeFixture } from './tarballs.js';

const FILES = scale(20_000, 200_000);
const MORE = scale(2_000, 20_000);
const HOST = 'host-big';
/**
 * A /livez that takes longer than this fails the test. Under `npm run test:soak` (200,000 files,
 * then 20,000 more) it is the 1 s the issue defines as the behaviour; the bounded run keeps a
 * margin (10 s: far below the minutes of a stall) for the loaded boxes `npm test` runs on.
 */
const LIVEZ_BOUND_MS = scale(10_000, 1_000);
/** An API read (state, phase mix) that takes longer than this fails the test. */
const API_BOUND_MS = 30_000;
/** Each phase must settle (counts exact) within this: a burst is bounded in time, too. */
const SETTLE_BOUND_MS = scale(10 * 60_000, 15 * 60_000);
/** Writes in flight while a burst lands (a receiver unpacking many uploads at once). */
const WRITERS = 16;
/** Three sizes of real episodes, so the bytes check is more than a count times a constant. */
const TARBALLS = [1, 5, 9].map((labels) => buildEpisodeFixture({ labels }));
/**
 * The process's peak RSS. The host-folder feeder keeps a listing entry per file and the phase mix
 * a cache entry per episode (the verifier's thread keeps no listing between its full listings), so
 * memory grows with the folder, not with the burst's events: at 220,000 files this case peaked at
 * 510 MiB (soak runs of 2026-12-05 after the one-listing change; 647-853 MiB before it) and
 * `bench/burst.mjs --files 200000` at 525-528 MiB on a loaded box. The bound is that plus about
 * half for run-to-run spread: a regression of about 1 KiB a file fails it.
 */
const RSS_BOUND = scale(RSS_BOUND_BYTES, 768 * 1024 * 1024);

/**
 * Polls /livez back to back until stopped; every poll must answer 200 within LIVEZ_BOUND_MS.
 * `during(work)` fails as soon as a poll does, without waiting for the work.
 */
function pollLivez(url: string): {
  during<T>(work: Promise<T>): Promise<T>;
  stop(): Promise<{ polls: number; worstMs: number }>;
} {
  let stopped = false;
  let polls = 0;
  let worstMs = 0;
  const loop = (async () => {
    while (!stopped) {
      const t0 = performance.now();
      const res = await fetch(`${url}/livez`, { signal: AbortSignal.timeout(LIVEZ_BOUND_MS) });
      await res.arrayBuffer();
      expect(res.status).toBe(200);
      worstMs = Math.max(worstMs, performance.now() - t0);
      polls++;
    }
  })();
  return {
    during: (work) => Promise.race([work, loop.then(() => work)]),
    async stop() {
      stopped = true;
      await loop;
      return { polls, worstMs };
    },
  };
}

/** Writes `count` episodes into `dir` as a receiver does (temp name, then rename); returns their bytes. */
async function burst(dir: string, from: number, count: number): Promise<number> {
  let next = from;
  let bytes = 0;
  const writer = async () => {
    while (next < from + count) {
      const i = next++;
      const data = TARBALLS[i % TARBALLS.length] as Buffer;
      const name = `ep-${String(i).padStart(7, '0')}.tar.zst`;
      await fs.writeFile(path.join(dir, `.${name}.tmp`), data);
      await fs.rename(path.join(dir, `.${name}.tmp`), path.join(dir, name));
      bytes += data.length;
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, writer));
  return bytes;
}

async function json<T>(server: ChildServer, pathname: string): Promise<T> {
  const res = await fetch(`${server.url}${pathname}`, { signal: AbortSignal.timeout(API_BOUND_MS) });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

/** Waits (polling the API; the test timeout bounds it) until host-big shows `files` and `bytes`. */
async function settled(server: ChildServer, files: number, bytes: number): Promise<void> {
  await vi.waitFor(
    async () => {
      const s = await json<DashboardState>(server, '/api/state');
      expect({ files: s.host_counts[HOST], bytes: s.host_bytes[HOST] }).toEqual({ files, bytes });
    },
    { timeout: SETTLE_BOUND_MS, interval: 250 },
  );
}

describe('fault: a burst of new tarballs in one host folder', () => {
  it(
    `keeps /livez answering while ${FILES} files land, then ${MORE} more, and counts them exactly`,
    async () => {
      const root = tempDir('cis490-fault-burst-');
      const dir = path.join(root, 'episodes', HOST);
      await fs.mkdir(dir, { recursive: true });
      await fs.writeFile(path.join(root, 'index.jsonl'), '');
      // A rescan an hour away: the counts must come from the notifications, not a timer's full scan.
      const server = await startChildServer({
        dataRoot: root,
        stateDir: path.join(tempDir('cis490-fault-burst-state-'), 'state'),
        extra: ['--rescan-interval', '3600'],
      });
      await vi.waitFor(async () => expect((await fetch(`${server.url}/readyz`)).status).toBe(200), {
        timeout: 60_000,
        interval: 100,
      });

      const figures: Record<string, unknown> = { files: FILES, more: MORE };
      let expectedBytes = 0;
      for (const [phase, from, count] of [
        ['burst', 0, FILES],
        ['more', FILES, MORE],
      ] as const) {
        const livez = pollLivez(server.url);
        expectedBytes += await livez.during(burst(dir, from, count));
        await livez.during(settled(server, from + count, expectedBytes));
        const { polls, worstMs } = await livez.stop();
        expect(polls).toBeGreaterThan(0);
        figures[`${phase}_livez_polls`] = polls;
        figures[`${phase}_livez_worst_ms`] = Math.round(worstMs);
        report(`${phase} settled`, figures);
      }

      // The phase mix and the verifier take in the same files: every one in the mix's population,
      // every one on the catalog's disk side (none is in the index: all unindexed).
      const total = FILES + MORE;
      await vi.waitFor(
        async () => {
          const mix = await json<PhaseMix>(server, '/api/phase-mix');
          expect(mix.population_episodes).toBe(total);
          expect(mix.sampled_episodes).toBe(total);
        },
        { timeout: SETTLE_BOUND_MS, interval: 500 },
      );
      await vi.waitFor(
        async () => {
          const s = await json<DashboardState>(server, '/api/state');
          expect(s.integrity?.hosts[HOST]?.unindexed).toBe(total);
        },
        { timeout: SETTLE_BOUND_MS, interval: 500 },
      );
      const peak = peakRss(server.child.pid as number);
      figures.peak_rss = mib(peak);
      report('burst', figures);
      expect(peak ?? 0).toBeLessThan(RSS_BOUND);
      expect(server.stderr()).not.toContain('database is locked');
      expect(server.stderr()).not.toContain('"level":50');
      await server.kill();
      // The 220,000 files go within the test's own time: the cleanup hook's 2 minutes were not
      // always enough for them on this box's disk (ext4 discards every freed block).
      await fs.rm(dir, { recursive: true, force: true });
    },
    scale(600_000, 3_600_000),
  );
});
