import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { getJson, testServer, waitReady } from '../../../test/support/server.js';
import { tempDir } from '../../../test/support/tmp.js';
import { generateDataRoot } from '../../generate/generate.js';
import type { EpisodeFacets, EpisodesPage } from '../../protocol/api.js';
import type { RunningServer } from '../../server.js';

/**
 * Filter by phase over the whole catalog (issue 15 item 6): an episode matches when its tarball's
 * labels hold the phase, whether it is indexed or an unindexed file; one whose phases are not known
 * (tarball missing, unreadable, not read yet) matches no phase and is counted as `phase_unknown`.
 */

const WAIT = { timeout: 30_000, interval: 100 };

async function allIds(server: RunningServer, query: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const url: string = `/api/episodes?${query}&limit=7${cursor ? `&cursor=${cursor}` : ''}`;
    const { status, body } = await getJson<EpisodesPage>(server, url);
    expect(status, `${url} ${JSON.stringify(body)}`).toBe(200);
    ids.push(...body.items.map((i) => i.episode_id));
    cursor = body.next_cursor;
  } while (cursor !== null);
  return ids.sort();
}

describe('GET /api/episodes?phase=', () => {
  it('matches every catalog episode by the phases of its labels; unknown ones match none', async () => {
    const root = path.join(tempDir('cis490-phase-filter-'), 'data');
    const summary = await generateDataRoot({
      out: root,
      hosts: 3,
      episodes: 24,
      indexLines: 30,
      alerts: 2,
      telemetryKb: 2,
      seed: 11,
    });
    const failed = summary.episodes.filter((e) => e.outcome === 'failed');
    expect(failed.length, 'the seed gives failed episodes').toBeGreaterThan(0);
    const first = failed[0];
    if (!first) throw new Error('no failed episode');
    // An unindexed copy of a failed episode (a file with no index line) and an unreadable one.
    fs.copyFileSync(
      path.join(root, first.path),
      path.join(root, 'episodes', first.host_id, 'ep-unindexed-failed.tar.zst'),
    );
    fs.writeFileSync(path.join(root, 'episodes', first.host_id, 'ep-unreadable.tar.zst'), 'not a zstd frame');
    const server = await testServer({ dataRoot: root });
    await waitReady(server);

    // Known: every readable tarball; unknown: the index-only episodes (no file) and the unreadable one.
    const unknown = summary.indexOnlyEpisodes + 1;
    const total = summary.expected.total_episodes + 2;
    await vi.waitFor(async () => {
      const { body } = await getJson<EpisodeFacets>(server, '/api/episodes/facets?with_phases=1');
      expect(body.phase_unknown).toBe(unknown);
      expect(Object.values(body.host).reduce((a, b) => a + b, 0)).toBe(total);
    }, WAIT);

    const wantFailed = [...failed.map((e) => e.episode_id), 'ep-unindexed-failed'].sort();
    expect(await allIds(server, 'phase=failed')).toEqual(wantFailed);
    const { body: facets } = await getJson<EpisodeFacets>(server, '/api/episodes/facets?with_phases=1');
    expect(facets.phase?.failed).toBe(wantFailed.length);
    // Every generated episode boots: "boot" holds every known episode, and no unknown one.
    expect(facets.phase?.boot).toBe(total - unknown);
    const booted = await allIds(server, 'phase=boot');
    expect(booted).toHaveLength(total - unknown);
    expect(booted).not.toContain('ep-unreadable');

    // Several phases are "any of"; the phase filter narrows the other filters and their facets.
    expect(await allIds(server, 'phase=failed&phase=boot')).toEqual(booted);
    const host = first.host_id;
    const onHost = wantFailed.filter(
      (id) => id === 'ep-unindexed-failed' || failed.some((e) => e.episode_id === id && e.host_id === host),
    );
    expect(await allIds(server, `phase=failed&host=${host}`)).toEqual(onHost);
    const { body: narrowed } = await getJson<EpisodeFacets>(server, '/api/episodes/facets?phase=failed');
    expect(narrowed.host[host]).toBe(onHost.length);
    expect(await allIds(server, 'phase=failed&status=unindexed')).toEqual(['ep-unindexed-failed']);
    // Sorted pages take the phase filter too.
    expect((await allIds(server, 'phase=failed&sort=size')).sort()).toEqual(wantFailed);
    // A phase no label has matches nothing; too many phases is a 400 naming the parameter.
    expect(await allIds(server, 'phase=no_such_phase')).toEqual([]);
    const many = Array.from({ length: 65 }, (_, i) => `phase=p${i}`).join('&');
    const bad = await getJson<{ error: { code: string; message: string } }>(server, `/api/episodes?${many}`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/'phase'/);
  });
});
