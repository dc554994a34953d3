import crypto from 'node:crypto';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { describe, expect, it, vi } from 'vitest';
import { type GenerateSummary, generateDataRoot } from '../../generate/generate.js';
import type { AlertLifecycleResponse } from '../../protocol/alerts.js';
import type { AlertsPage, EpisodesPage, HostsResponse } from '../../protocol/api.js';
import type { DashboardState, PhaseMix } from '../../protocol/index.js';
import type { RunningServer } from '../../server.js';
import { formatBytes } from '../data/format.js';
import {
  appendJsonLine,
  browserSuite,
  countText,
  getJson,
  type LaunchedBrowser,
  screenshot,
} from './harness.js';

/**
 * The web app in Debian's Chromium against the real server on a generated data root: what a person
 * at the wall or at a desk would see. One server and one browser for the file; tests run in order.
 */

const WAIT = { timeout: 15_000, interval: 50 };

let dataRoot: string;
let tokenFile: string;
let summary: GenerateSummary;
let server: RunningServer;
let browser: LaunchedBrowser;
let page: Page;
const dialogs: string[] = [];

async function text(locator: Locator): Promise<string> {
  return ((await locator.first().textContent()) ?? '').trim();
}

async function waitForText(locator: Locator, expected: string | (() => Promise<string>)): Promise<void> {
  await vi.waitFor(async () => {
    const want = typeof expected === 'string' ? expected : await expected();
    expect(await text(locator)).toBe(want);
  }, WAIT);
}

async function open(hash: string): Promise<void> {
  await page.goto(`${server.url}/${hash}`);
  await page.locator('[data-testid="connection"][data-status="connected"]').waitFor(WAIT);
}

function state(): Promise<DashboardState> {
  return getJson<DashboardState>(server.url, '/api/state');
}

function liveEpisode(n: number): Record<string, unknown> {
  return {
    episode_id: `ep-e2e-live-${n}`,
    host_id: 'host-01',
    sha256: crypto.createHash('sha256').update(`live ${n}`).digest('hex'),
    size_bytes: 4096 + n,
    received_at_wall: new Date().toISOString(),
  };
}

const suite = browserSuite('cis490-web-e2e-', async (s) => {
  dataRoot = s.dataRoot;
  tokenFile = s.tokenFile('e2e-phase-token-123', 'phase-token');
  summary = await generateDataRoot({
    out: dataRoot,
    hosts: 4,
    episodes: 60,
    alerts: 30,
    telemetryKb: 4,
    seed: 7,
  });
  server = await s.serve({ phaseTokenFile: tokenFile });
  browser = s.browser;
  page = s.page;
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
});

describe('web app against the real server', () => {
  it('Overview shows the totals, per-host counts and open alerts of the API', async () => {
    await open('');
    const s = await state();
    expect(s.total_episodes).toBe(summary.expected.total_episodes);
    await waitForText(page.getByTestId('total-episodes').locator('.stat-value'), countText(s.total_episodes));
    await waitForText(page.getByTestId('total-bytes').locator('.stat-value'), formatBytes(s.total_bytes));
    await waitForText(
      page.getByTestId('total-bytes').locator('.stat-sub'),
      `${countText(s.total_bytes)} bytes`,
    );
    for (const [host, h] of Object.entries(s.hosts_indexed)) {
      await waitForText(page.locator(`.bar-row[data-host="${host}"] .bar-value`), countText(h.episodes));
    }
    // Open alerts: open groups only (resolved, acknowledged and silenced ones are not).
    await waitForText(page.getByTestId('open-alerts').locator('.stat-value'), async () =>
      countText((await getJson<AlertLifecycleResponse>(server.url, '/api/alerts/lifecycle')).counts.open),
    );
    const windowCount = async (ms: number): Promise<string> => {
      const from = new Date(Math.floor(Date.now() / 60_000) * 60_000 - ms).toISOString();
      const page1 = await getJson<EpisodesPage>(
        server.url,
        `/api/episodes?from=${encodeURIComponent(from)}&limit=1`,
      );
      return countText(page1.total);
    };
    await waitForText(page.getByTestId('last-hour').locator('.stat-value'), () => windowCount(3600_000));
    await waitForText(page.getByTestId('last-day').locator('.stat-value'), () => windowCount(86_400_000));
    await page.getByTestId('ingest-chart').locator('canvas').waitFor(WAIT);
    await screenshot(page, 'overview');
  });

  it('Hosts shows every host of /api/hosts with its counts', async () => {
    await open('#/hosts');
    const { hosts } = await getJson<HostsResponse>(server.url, '/api/hosts');
    expect(hosts.length).toBe(summary.hosts.length);
    for (const h of hosts) {
      const card = page.locator(`[data-testid="host-card"][data-host="${h.host_id}"]`);
      await waitForText(card.getByTestId('host-episodes'), countText(h.episodes));
      await waitForText(card.getByTestId('host-files'), countText(h.files_on_disk));
      expect(await text(card.getByTestId('host-bytes'))).toBe(formatBytes(h.bytes));
    }
    await screenshot(page, 'hosts');
  });

  it('Alerts groups by dedup_key with the API’s counts and shows the suggested fix', async () => {
    await open('#/alerts?state=all');
    const api = await getJson<AlertsPage>(server.url, '/api/alerts?dedup=1&limit=50');
    await waitForText(
      page.locator('[data-testid="alert-state-filter"][data-state="all"] .chip-count'),
      countText(api.total),
    );
    const first = api.items[0];
    if (first === undefined || !('count' in first)) throw new Error('generated root has no grouped alert');
    const card = page.locator(`[data-testid="alert"][data-dedup="${first.dedup_key}"]`);
    await card.waitFor(WAIT);
    if (first.count > 1)
      expect(await text(card.getByTestId('alert-count'))).toBe(`×${countText(first.count)}`);
    expect(await text(card.getByTestId('alert-fix'))).toBe(first.suggested_fix);
    await screenshot(page, 'alerts');
  });

  it('an alert whose detail is HTML shows as text and runs nothing', async () => {
    await open('#/alerts?state=all');
    const hostile = '<img src=x onerror=alert(1)>';
    appendJsonLine(path.join(dataRoot, 'alerts.jsonl'), {
      host: 'host-02',
      symptom: 'hostile_detail',
      detail: hostile,
      suggested_fix: '<script>alert(2)</script>',
      detected_at_wall: new Date().toISOString(),
      dedup_key: 'host-02:hostile_detail',
    });
    const card = page.locator('[data-testid="alert"][data-dedup="host-02:hostile_detail"]');
    await waitForText(card.getByTestId('alert-detail'), hostile);
    expect(await text(card.getByTestId('alert-fix'))).toBe('<script>alert(2)</script>');
    expect(await page.locator('.alert-list img, .alert-list script').count()).toBe(0);
    // Also on the host's page, where its open alerts are listed.
    await open('#/hosts?host=host-02');
    await page.getByTestId('host-page').getByText('hostile_detail', { exact: false }).first().waitFor(WAIT);
    expect(
      await page.locator('[data-testid="host-page"] img, [data-testid="host-page"] script').count(),
    ).toBe(0);
    expect(dialogs).toEqual([]);
  });

  it('Baseline shows the phase mix counts of the API', async () => {
    await open('#/baseline');
    const mix = await vi.waitFor(() => getJson<PhaseMix>(server.url, '/api/phase-mix'), WAIT);
    await waitForText(page.getByTestId('mix-population'), countText(mix.population_episodes));
    await waitForText(page.getByTestId('mix-sampled'), countText(mix.sampled_episodes));
    await waitForText(page.getByTestId('mix-labels'), countText(mix.total_labels));
    expect(await text(page.getByTestId('mix-eyebrow'))).toMatch(/time-weighted|label count/);
    // `failed` never takes a share of the bar.
    expect(await page.locator('.mix-bar [data-phase="failed"]').count()).toBe(0);
    await screenshot(page, 'baseline');
  });

  it('Live is honest while no orchestrator sends, then shows the posted phase', async () => {
    await open('#/live');
    await page.getByText('No orchestrator is sending phase events').waitFor(WAIT);
    await screenshot(page, 'live-empty');
    const res = await fetch(`${server.url}/api/phase`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer e2e-phase-token-123' },
      body: JSON.stringify({ host_id: 'host-03', phase: 'infected_running', episode_id: 'ep-x' }),
    });
    expect(res.status).toBeLessThan(300);
    const card = page.locator('[data-testid="live-host"][data-host="host-03"]');
    await waitForText(card.locator('.live-phase'), 'infected_running');
    await screenshot(page, 'live');
  });

  it('Explorer lists the catalog, finds an episode by hash prefix and opens its detail', async () => {
    await open('#/explorer');
    const all = await getJson<EpisodesPage>(server.url, '/api/episodes?limit=1');
    await waitForText(page.getByTestId('explorer-total'), countText(all.total));
    await screenshot(page, 'explorer');
    const target = summary.episodes[7];
    if (target === undefined) throw new Error('generated root too small');
    await page.getByTestId('explorer-search').fill(target.sha256.slice(0, 10));
    const row = page.locator(`[data-testid="episode-row"][data-episode="${target.episode_id}"]`);
    await row.waitFor(WAIT);
    await vi.waitFor(async () => expect(await page.getByTestId('episode-row').count()).toBe(1), WAIT);
    expect(page.url()).toContain(`q=${target.sha256.slice(0, 10)}`);
    await row.getByRole('button').click();
    const detail = page.getByTestId('episode-detail');
    await waitForText(detail.getByTestId('detail-sha'), target.sha256);
    await detail.getByTestId('timeline').waitFor(WAIT);
    expect(await detail.getByTestId('download').getAttribute('href')).toBeTruthy();
    await screenshot(page, 'explorer-detail');
  });

  it('a line appended to index.jsonl shows on Overview and Explorer', async () => {
    const before = (await state()).total_episodes;
    await open('');
    const overview = page.getByTestId('total-episodes').locator('.stat-value');
    await waitForText(overview, countText(before));
    const explorer = await browser.context.newPage();
    await explorer.goto(`${server.url}/#/explorer`);
    await explorer.getByTestId('episode-row').first().waitFor(WAIT);
    const ep = liveEpisode(1);
    appendJsonLine(path.join(dataRoot, 'index.jsonl'), ep);
    await waitForText(overview, countText(before + 1));
    await explorer.locator(`[data-testid="episode-row"][data-episode="${ep.episode_id}"]`).waitFor(WAIT);
    await explorer.close();
  });

  it('Explorer holds new rows behind an "N new" banner while a detail is open', async () => {
    await open('#/explorer');
    const first = page.getByTestId('episode-row').first();
    await first.waitFor(WAIT);
    await first.getByRole('button').click();
    await page.getByTestId('episode-detail').waitFor(WAIT);
    const ep = liveEpisode(3);
    appendJsonLine(path.join(dataRoot, 'index.jsonl'), ep);
    const banner = page.getByTestId('new-banner');
    const row = page.locator(`[data-testid="episode-row"][data-episode="${ep.episode_id}"]`);
    // Banner and table read in one look: on a starved machine a late heartbeat can make the page
    // reconnect, and a refetch after a reconnect rightly brings the row in and drops the banner.
    const look = (id: string) =>
      page.evaluate(
        (id: string) => ({
          banner: document.querySelector('[data-testid="new-banner"]')?.textContent ?? null,
          rows: document.querySelectorAll(`[data-testid="episode-row"][data-episode="${id}"]`).length,
        }),
        id,
      );
    await vi.waitFor(
      async () =>
        expect(await look(String(ep.episode_id))).toEqual({ banner: '1 new episode — show', rows: 0 }),
      WAIT,
    );
    await banner.click();
    await row.waitFor(WAIT);
    expect(await banner.count()).toBe(0);
  });

  it('reconnects by itself when the server restarts on the same port, and resumes', async () => {
    await open('');
    const before = (await state()).total_episodes;
    const port = server.port;
    await server.close();
    await page.locator('[data-testid="connection"][data-status="reconnecting"]').waitFor(WAIT);
    await screenshot(page, 'reconnecting');
    server = await suite.serve({ port, phaseTokenFile: tokenFile });
    await page.locator('[data-testid="connection"][data-status="connected"]').waitFor({ timeout: 30_000 });
    const ep = liveEpisode(2);
    appendJsonLine(path.join(dataRoot, 'index.jsonl'), ep);
    await vi.waitFor(async () => expect((await state()).total_episodes).toBe(before + 1), WAIT);
    // The page follows the restarted server, whatever it says.
    await waitForText(page.getByTestId('total-episodes').locator('.stat-value'), async () =>
      countText((await state()).total_episodes),
    );
  });

  it('kiosk mode rotates the scenes by itself', async () => {
    await page.goto(`${server.url}/?kiosk&scenes=overview,hosts&dwell=1`);
    const scene = page.locator('main[data-scene]');
    await page.locator('main[data-scene="overview"]').waitFor(WAIT);
    await page.locator('main[data-scene="hosts"]').waitFor(WAIT);
    await page.locator('main[data-scene="overview"]').waitFor(WAIT);
    expect(await page.locator('nav.nav').count()).toBe(0);
    expect(await scene.count()).toBe(1);
    await page.goto(`${server.url}/?kiosk&scenes=overview&dwell=60`);
    await page.getByTestId('total-episodes').waitFor(WAIT);
    await screenshot(page, 'kiosk');
  });

  it('is usable on a phone and in the light theme', async () => {
    const phone = await browser.context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${server.url}/#/overview`);
    await phone.getByTestId('total-episodes').waitFor(WAIT);
    await screenshot(phone, 'phone-overview');
    await phone.goto(`${server.url}/#/explorer`);
    await phone.getByTestId('episode-row').first().waitFor(WAIT);
    await screenshot(phone, 'phone-explorer');
    await phone.emulateMedia({ colorScheme: 'light' });
    await phone.setViewportSize({ width: 1920, height: 1080 });
    await phone.goto(`${server.url}/#/hosts`);
    await phone.getByTestId('host-card').first().waitFor(WAIT);
    await screenshot(phone, 'light-hosts');
    await phone.close();
    expect(dialogs).toEqual([]);
  });
});
