/**
 * Fault case 4: hostile tarballs — truncated, not zstd, zstd of something that is not a tar,
 * members named with `..` or absolute paths, a member of gigabytes of zeros in front of the labels
 * (a decompression bomb), labels as one 50 MiB line. The phase mix skips them by reason, the
 * episode detail answers for every one of them, nothing is written outside, RSS stays bounded.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { EpisodeDetail, EpisodesPage } from '../../src/protocol/api.js';
import type { PhaseMix } from '../../src/protocol/index.js';
import { getJson, testServer } from '../support/server.js';
import { tempDir } from '../support/tmp.js';
import { indexLine, mib, peakRss, RSS_BOUND_BYTES, report, scale } from './support.js';
import { hostileTarballs } from './tarballs.js';

const GiB = 1024 ** 3;
const BOMB_BYTES = scale(1, 8) * GiB;

describe('fault: hostile tarballs', () => {
  it('skips each by reason in the phase mix and answers the episode detail for all', async () => {
    const started = Date.now();
    const root = tempDir('cis490-fault-tar-');
    const hostDir = path.join(root, 'episodes', 'host-01');
    fs.mkdirSync(hostDir, { recursive: true });
    const tarballs = hostileTarballs({ bombBytes: BOMB_BYTES });
    let index = '';
    for (const t of tarballs) {
      fs.writeFileSync(path.join(hostDir, `${t.name}.tar.zst`), t.data);
      index += indexLine(t.name, 'host-01', t.data.length).replace(
        /}\n$/,
        `,"path":"episodes/host-01/${t.name}.tar.zst"}\n`,
      );
    }
    fs.writeFileSync(path.join(root, 'index.jsonl'), index);
    const rssBeforeServer = peakRss();

    const server = await testServer({ dataRoot: root, phaseInterval: 3600 });
    await server.pipeline.whenReady();
    const mix = await vi.waitFor(
      async () => {
        const res = await getJson<PhaseMix | null>(server, '/api/phase-mix');
        expect(res.status).toBe(200);
        return res.body as PhaseMix;
      },
      { timeout: 30_000, interval: 100 },
    );
    const expectedSkips: Record<string, number> = {};
    for (const t of tarballs) if (t.reason) expectedSkips[t.reason] = (expectedSkips[t.reason] ?? 0) + 1;
    expect(mix.population_episodes).toBe(tarballs.length);
    expect(mix.skipped).toEqual(expectedSkips);
    expect(mix.sampled_episodes).toBe(tarballs.filter((t) => t.reason === null).length);

    await server.pipeline.whenCatalogCaughtUp();
    await vi.waitFor(
      async () =>
        expect((await getJson<EpisodesPage>(server, '/api/episodes?limit=1')).body.total).toBe(
          tarballs.length,
        ),
      { timeout: 10_000, interval: 50 },
    );
    for (const t of tarballs) {
      const res = await getJson<EpisodeDetail>(server, `/api/episodes/${t.name}`);
      expect(res.status, t.name).toBe(200);
      if (t.reason === null) expect(res.body.read_error, t.name).toBeNull();
      else expect(res.body.read_error, t.name).not.toBeNull();
    }
    const dotdot = await getJson<EpisodeDetail>(server, '/api/episodes/dotdot-members');
    expect(dotdot.body.members.map((m) => m.name)).toEqual([
      '../../../../tmp/evil/meta.json',
      '../../labels.jsonl',
    ]);
    expect(fs.existsSync('/tmp/evil')).toBe(false);
    expect(fs.existsSync('/etc/cis490-evil')).toBe(false);
    expect((await fetch(`${server.url}/livez`)).status).toBe(200);

    const peak = peakRss();
    report('tarballs', {
      bomb: mib(BOMB_BYTES),
      rss_peak_before_server: mib(rssBeforeServer),
      peak_rss: mib(peak),
      seconds: (Date.now() - started) / 1000,
    });
    expect(peak ?? 0).toBeLessThan(RSS_BOUND_BYTES);
  }, 120_000);
});
