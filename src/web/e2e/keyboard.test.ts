import type { Locator, Page } from 'playwright-core';
import { describe, expect, it, vi } from 'vitest';
import { generateDataRoot } from '../../generate/generate.js';
import type { EpisodesPage } from '../../protocol/api.js';
import type { RunningServer } from '../../server.js';
import { browserSuite, getJson, screenshot } from './harness.js';

/**
 * Every action by keyboard alone (issue 15 item 8): Tab (never a click, never a programmatic
 * focus) reaches each control, Enter or Space operates it, Escape closes what it opened.
 */

const WAIT = { timeout: 20_000, interval: 100 };
/** More Tabs than any scene has controls before the one sought: a control past it is unreachable. */
const MAX_TABS = 400;

let server: RunningServer;
let page: Page;

browserSuite('cis490-keyboard-e2e-', async (s) => {
  await generateDataRoot({ out: s.dataRoot, hosts: 4, episodes: 30, alerts: 6, telemetryKb: 2, seed: 23 });
  server = await s.serve();
  page = s.page;
  await page.setViewportSize({ width: 1920, height: 1080 });
});

const isFocused = (target: Locator): Promise<boolean> =>
  target.evaluate((el) => el === document.activeElement).catch(() => false);

/** Presses Tab until `target` has the focus; fails when it is not reached in MAX_TABS presses. */
async function tabTo(target: Locator): Promise<number> {
  await target.waitFor(WAIT);
  for (let n = 1; n <= MAX_TABS; n++) {
    await page.keyboard.press('Tab');
    if (await isFocused(target)) return n;
  }
  throw new Error(`${target} was not reached by ${MAX_TABS} Tabs`);
}

/** Loads a scene with the focus at the top of the document (as a fresh page). */
async function open(hash: string): Promise<void> {
  await page.goto(`${server.url}/${hash}`);
  await page.locator('main').waitFor(WAIT);
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
}

describe('every action by keyboard', () => {
  it('the first Tab is the skip link, which moves the focus into the scene', async () => {
    await open('#/overview');
    await page.keyboard.press('Tab');
    const skip = page.locator('.skip-link');
    expect(await isFocused(skip)).toBe(true);
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
  });

  it('the nav reaches every scene', async () => {
    await open('#/overview');
    for (const name of ['Hosts', 'Explorer', 'Baseline', 'Alerts', 'Live', 'Overview']) {
      await tabTo(page.getByRole('navigation').getByRole('link', { name, exact: true }));
      await page.keyboard.press('Enter');
      await vi.waitFor(() => expect(page.url()).toContain(`#/${name.toLowerCase()}`), WAIT);
    }
  });

  it('Overview: the range picker and the UTC toggle', async () => {
    await open('#/overview');
    await tabTo(page.locator('[data-testid="range"][data-range="1h"]'));
    await page.keyboard.press('Enter');
    await vi.waitFor(() => expect(page.url()).toContain('range=1h'), WAIT);
    await open('#/overview');
    const tz = page.getByTestId('tz-toggle');
    // The label, not the text: the browser's own zone may be UTC too.
    const before = await tz.getAttribute('aria-label');
    await tabTo(tz);
    await page.keyboard.press('Space');
    await vi.waitFor(async () => expect(await tz.getAttribute('aria-label')).not.toBe(before), WAIT);
    await page.keyboard.press('Space');
    await vi.waitFor(async () => expect(await tz.getAttribute('aria-label')).toBe(before), WAIT);
  });

  it('Hosts: Tab to a host tile, Enter opens its page, its links are reachable', async () => {
    await open('#/hosts');
    const tile = page.getByTestId('host-card').first();
    await tile.waitFor(WAIT);
    const href = (await tile.getAttribute('href')) ?? '';
    await tabTo(tile);
    await page.keyboard.press('Enter');
    await page.getByTestId('host-page').waitFor(WAIT);
    expect(page.url()).toContain(href);
    // The focus is on the host's page (its heading), not dropped to the body with the tile.
    await vi.waitFor(
      async () =>
        expect(
          await page.evaluate(() => {
            const el = document.activeElement;
            return el?.tagName === 'H2' && el.closest('[data-testid="host-page"]') !== null;
          }),
        ).toBe(true),
      WAIT,
    );
    // The host's trend has the Overview's range picker (7 d by default; this lab is older).
    const trend = page.getByTestId('host-trend');
    expect(await trend.getAttribute('data-range')).toBe('7d');
    await tabTo(trend.locator('[data-testid="range"][data-range="all"]'));
    await page.keyboard.press('Enter');
    await vi.waitFor(() => expect(page.url()).toContain('range=all'), WAIT);
    await trend.getByTestId('ingest-chart').waitFor(WAIT);
    expect(await trend.getByTestId('host-trend-caption').textContent()).toMatch(/^episodes per .* in range/);
    await screenshot(page, 'host-page-trend-desktop-dark');
    await tabTo(page.getByRole('link', { name: '← All hosts' }));
    await page.keyboard.press('Enter');
    await page.getByTestId('host-grid').waitFor(WAIT);
  });

  it('Explorer: a filter chip, a sort header, Enter on a row opens its detail, Escape closes it', async () => {
    await open('#/explorer');
    await tabTo(page.locator('[data-testid="facet-host"][data-host="host-02"]'));
    await page.keyboard.press('Enter');
    await vi.waitFor(() => expect(page.url()).toContain('host=host-02'), WAIT);
    await tabTo(page.getByTestId('sort-size'));
    await page.keyboard.press('Enter');
    await vi.waitFor(() => expect(page.url()).toContain('sort=size'), WAIT);
    const want = await getJson<EpisodesPage>(
      server.url,
      '/api/episodes?host=host-02&sort=size&order=desc&limit=50',
    );
    await vi.waitFor(async () => {
      const shown = await page
        .getByTestId('episode-row')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-episode')));
      expect(shown).toEqual(want.items.map((e) => e.episode_id));
    }, WAIT);
    const rowButton = page.getByTestId('episode-row').nth(2).getByRole('button').first();
    const id = await rowButton.textContent();
    await tabTo(rowButton);
    await page.keyboard.press('Enter');
    const detail = page.getByTestId('episode-detail');
    await detail.waitFor(WAIT);
    await vi.waitFor(async () => expect(await detail.textContent()).toContain(id ?? '?'), WAIT);
    await page.keyboard.press('Escape');
    await detail.waitFor({ state: 'detached', ...WAIT });
    expect(page.url()).toContain('sort=size');
    // The focus is back on the row that opened the detail, so the next Tab goes on from there.
    const focusedRow = () =>
      page.evaluate(() =>
        document.activeElement?.closest('[data-testid="episode-row"]')?.getAttribute('data-episode'),
      );
    await vi.waitFor(async () => expect(await focusedRow()).toBe(id), WAIT);
    // The same after the detail's Close button (by keyboard).
    await page.keyboard.press('Enter');
    await detail.waitFor(WAIT);
    await tabTo(detail.getByRole('button', { name: 'Close detail (Escape)' }));
    await page.keyboard.press('Enter');
    await detail.waitFor({ state: 'detached', ...WAIT });
    await vi.waitFor(async () => expect(await focusedRow()).toBe(id), WAIT);
  });

  it('Alerts: the state filter, the host filter and the action form', async () => {
    await open('#/alerts');
    await tabTo(page.locator('[data-testid="alert-state-filter"][data-state="all"]'));
    await page.keyboard.press('Enter');
    await vi.waitFor(() => expect(page.url()).toContain('state=all'), WAIT);
    await tabTo(page.locator('[data-testid="alert-state-filter"][data-state="open"]'));
    await page.keyboard.press('Space');
    await vi.waitFor(() => expect(page.url()).toContain('state=open'), WAIT);
    // A select: focus by Tab, choose by arrow keys.
    const hostSelect = page.getByTestId('alerts-host');
    await tabTo(hostSelect);
    await page.keyboard.press('ArrowDown');
    await vi.waitFor(() => expect(page.url()).toMatch(/host=[^&]/), WAIT);
    await open('#/alerts?state=all');
    const act = page.getByTestId('alert-act').first();
    await tabTo(act);
    await page.keyboard.press('Enter');
    const form = page.getByTestId('alert-action-form');
    await form.waitFor(WAIT);
    await tabTo(page.getByTestId('action-by'));
    await page.keyboard.type('keyboard operator');
    expect(await page.getByTestId('action-by').inputValue()).toBe('keyboard operator');
    await tabTo(page.getByTestId('action-submit'));
    await tabTo(act);
    await page.keyboard.press('Enter');
    await form.waitFor({ state: 'detached', ...WAIT });
  });
});
