import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it, vi } from 'vitest';
import { generateDataRoot } from '../../generate/generate.js';
import type { EpisodeFacets, EpisodeListItem, EpisodesPage } from '../../protocol/api.js';
import type { RunningServer } from '../../server.js';
import { appendJsonLine, browserSuite, getJson, screenshot } from './harness.js';

/**
 * Integrity in the explorer (issue 15 item 4): a receiver that hashes what arrived indexes a
 * damaged tarball with its true sha256 and size, so only reading the archive shows the damage.
 * Such a tarball is `corrupt` in the facets, in a status filter (what an export fetches) and in the
 * detail, with a warning beside the download.
 */

const WAIT = { timeout: 30_000, interval: 100 };

let server: RunningServer;
let page: Page;
const damaged = { cut: 'ep-damaged-cut', garbage: 'ep-damaged-garbage' };

browserSuite('cis490-integrity-e2e-', async (s) => {
  const dataRoot = s.dataRoot;
  const summary = await generateDataRoot({
    out: dataRoot,
    hosts: 2,
    episodes: 8,
    alerts: 2,
    telemetryKb: 64,
    seed: 5,
  });
  const source = summary.episodes[0];
  if (!source) throw new Error('generated root has no episode');
  const good = fs.readFileSync(path.join(dataRoot, source.path));
  const garbage = Buffer.from(good);
  const at = Math.floor(garbage.length / 2);
  for (let i = at; i < Math.min(garbage.length, at + 64); i++) garbage[i] = (i * 97 + 13) & 0xff;
  const copies: Array<[string, Buffer]> = [
    [damaged.cut, good.subarray(0, Math.floor(good.length * 0.6))],
    [damaged.garbage, garbage],
  ];
  for (const [id, bytes] of copies) {
    const rel = `episodes/${source.host_id}/${id}.tar.zst`;
    fs.writeFileSync(path.join(dataRoot, rel), bytes);
    // The receiver's line: the TRUE sha256 and size of what arrived.
    appendJsonLine(path.join(dataRoot, 'index.jsonl'), {
      episode_id: id,
      host_id: source.host_id,
      sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
      size_bytes: bytes.length,
      received_at_wall: new Date().toISOString(),
    });
  }
  server = await s.serve();
  page = s.page;
});

describe('a damaged tarball is corrupt everywhere', () => {
  it('in the facets, the status filter an export uses, and not under ok', async () => {
    await vi.waitFor(async () => {
      const facets = await getJson<EpisodeFacets>(server.url, '/api/episodes/facets');
      expect(facets.status.unverified ?? 0).toBe(0);
      expect(facets.status.corrupt).toBe(2);
    }, WAIT);
    const corrupt = await getJson<EpisodesPage>(server.url, '/api/episodes?status=corrupt&limit=100');
    expect(corrupt.items.map((i: EpisodeListItem) => i.episode_id).sort()).toEqual(
      [damaged.cut, damaged.garbage].sort(),
    );
    const ok = await getJson<EpisodesPage>(server.url, '/api/episodes?status=ok&limit=500');
    expect(ok.items.some((i) => i.episode_id.startsWith('ep-damaged'))).toBe(false);
  });

  it('in the explorer facet, the row and the detail with a download warning', async () => {
    await page.goto(`${server.url}/#/explorer`);
    const chip = page.locator('[data-testid="facet-status"][data-status="corrupt"]');
    await chip.waitFor(WAIT);
    expect(await chip.locator('.chip-count').textContent()).toBe('2');
    await chip.click();
    const row = page.locator(`[data-testid="episode-row"][data-episode="${damaged.cut}"]`);
    await row.waitFor(WAIT);
    expect(await row.locator('.status').textContent()).toBe('corrupt');
    await row.getByRole('button').first().click();
    const detail = page.getByTestId('episode-detail');
    await detail.getByText('This tarball is corrupt').waitFor(WAIT);
    expect(await detail.getByTestId('download').textContent()).toBe('Download the damaged .tar.zst');
    await screenshot(page, 'explorer-corrupt-detail');
  });
});
