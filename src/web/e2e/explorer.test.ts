import type { Page } from 'playwright-core';
import { describe, expect, it, vi } from 'vitest';
import { generateDataRoot } from '../../generate/generate.js';
import type { EpisodeFacets, EpisodesPage } from '../../protocol/api.js';
import type { RunningServer } from '../../server.js';
import { browserSuite, countText, getJson, screenshot } from './harness.js';

/**
 * The explorer for research (issue 15 item 6, issue 12's shared filter): several hosts at once,
 * Back and Escape close the detail, the detail opens in view (a drawer on a phone), a bad filter
 * is said to be bad (not "the catalog did not answer").
 */

const WAIT = { timeout: 20_000, interval: 100 };

let server: RunningServer;
let page: Page;

browserSuite('cis490-explorer-e2e-', async (s) => {
  await generateDataRoot({
    out: s.dataRoot,
    hosts: 4,
    episodes: 40,
    indexLines: 70,
    alerts: 2,
    telemetryKb: 2,
    seed: 17,
  });
  server = await s.serve();
  page = s.page;
});

const hostChip = (h: string) => page.locator(`[data-testid="facet-host"][data-host="${h}"]`);

/** One query parameter of the page's hash route (`#/explorer?…`). */
const hashParam = (key: string): string | null =>
  new URLSearchParams(new URL(page.url()).hash.split('?')[1] ?? '').get(key);

/** Nothing of another filter's answer is on screen: no rows, no "N match", no facet counts, no Older. */
async function expectNothingStale(): Promise<void> {
  expect(await page.getByTestId('episode-row').count()).toBe(0);
  expect(await page.getByTestId('explorer-total').count()).toBe(0);
  expect(await page.locator('.filters .chip-count').count()).toBe(0);
  expect(await page.getByRole('button', { name: 'Older →' }).isDisabled()).toBe(true);
}

describe('explorer', () => {
  it('selects several hosts; the other hosts stay on offer', async () => {
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.goto(`${server.url}/#/explorer`);
    await hostChip('host-01').click();
    await vi.waitFor(async () => expect(page.url()).toContain('host=host-01'), WAIT);
    await hostChip('host-02').click();
    await vi.waitFor(async () => expect(page.url()).toMatch(/host=host-01&host=host-02/), WAIT);
    // The facets are fetched again under the new filter: wait for that answer, which must still
    // offer the hosts not chosen (the old explorer hid them once one host was chosen).
    await vi.waitFor(async () => {
      for (const h of ['host-03', 'host-04']) expect(await hostChip(h).count()).toBe(1);
    }, WAIT);
    await vi.waitFor(async () => {
      const hosts = await page.locator('[data-testid="episode-row"] td:nth-child(2)').allTextContents();
      expect(hosts.length).toBeGreaterThan(0);
      expect(new Set(hosts)).toEqual(new Set(['host-01', 'host-02']));
    }, WAIT);
  });

  it('filters by phase: the rows are the API\'s for that phase, and "phase unknown" is counted', async () => {
    await page.setViewportSize({ width: 1920, height: 1080 });
    // Index lines beyond the tarballs have no file: their phases are unknown; every tarball here is
    // readable, so once the phase mix has read them all the unknown ones are exactly the missing.
    let facets: EpisodeFacets = { host: {}, status: {} };
    await vi.waitFor(async () => {
      facets = await getJson<EpisodeFacets>(server.url, '/api/episodes/facets?with_phases=1');
      expect(facets.status.missing ?? 0).toBeGreaterThan(0);
      expect(facets.phase_unknown).toBe(facets.status.missing);
    }, WAIT);
    const want = await getJson<EpisodesPage>(server.url, '/api/episodes?phase=failed&limit=500');
    expect(want.total).toBeGreaterThan(0);
    await page.goto(`${server.url}/#/explorer`);
    await vi.waitFor(
      async () =>
        expect(await page.getByTestId('phase-unknown').textContent()).toBe(
          `phase unknown ${countText(facets.phase_unknown ?? 0)}`,
        ),
      WAIT,
    );
    await page.locator('[data-testid="facet-phase"][data-phase="failed"]').click();
    await vi.waitFor(async () => expect(page.url()).toContain('phase=failed'), WAIT);
    await vi.waitFor(async () => {
      const ids = await page
        .locator('[data-testid="episode-row"]')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-episode')));
      expect(ids.sort()).toEqual(want.items.map((i) => i.episode_id).sort());
    }, WAIT);
    await page.goto(`${server.url}/#/explorer`);
  });

  it('Back and Escape close the detail, which opens in view', async () => {
    await page.goto(`${server.url}/#/explorer`);
    const before = page.url();
    const row = page.getByTestId('episode-row').nth(20);
    await row.getByRole('button').first().click();
    const detail = page.getByTestId('episode-detail');
    await detail.waitFor(WAIT);
    await vi.waitFor(async () => expect(await detail.locator('h2').isVisible()).toBe(true), WAIT);
    const box = await detail.locator('h2').boundingBox();
    expect(box !== null && box.y >= 0 && box.y < 1080).toBe(true);
    await page.goBack();
    await detail.waitFor({ state: 'detached', ...WAIT });
    expect(page.url()).toBe(before);
    await row.getByRole('button').first().click();
    await detail.waitFor(WAIT);
    await page.keyboard.press('Escape');
    await detail.waitFor({ state: 'detached', ...WAIT });
  });

  it('between phone and desktop (700–1440 px), with and without the detail open, nothing scrolls sideways', async () => {
    const found: string[] = [];
    for (const width of [700, 720, 740, 760, 761, 800, 900, 1024, 1199, 1200, 1280, 1440]) {
      await page.setViewportSize({ width, height: 900 });
      for (const detail of [false, true]) {
        await page.goto(`${server.url}/#/explorer`);
        const first = page.getByTestId('episode-row').first();
        await first.waitFor(WAIT);
        if (detail) {
          await first.getByRole('button').first().click();
          await page.getByTestId('episode-detail').waitFor(WAIT);
        }
        const overflow = await page.getByTestId('episodes-table').evaluate((table) => {
          const wrap = table.parentElement as HTMLElement;
          const status = table.querySelector('[data-testid="cell-status"]')?.getBoundingClientRect();
          const detail = document.querySelector('[data-testid="episode-detail"]')?.getBoundingClientRect();
          return {
            wrap: wrap.scrollWidth - wrap.clientWidth,
            page: document.documentElement.scrollWidth - window.innerWidth,
            statusInside:
              status !== undefined && status.width > 0 && status.right <= wrap.getBoundingClientRect().right,
            detailInside: detail === undefined || (detail.left >= 0 && detail.right <= window.innerWidth),
          };
        });
        if (width === 900 && detail) await screenshot(page, 'explorer-900-detail');
        if (overflow.wrap > 0 || overflow.page > 0 || !overflow.statusInside || !overflow.detailInside)
          found.push(`${width} px${detail ? ' + detail' : ''}: ${JSON.stringify(overflow)}`);
      }
    }
    expect(found).toEqual([]);
  });

  it('on a phone every row shows its Status without a sideways scroll, and the detail is a drawer in view', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${server.url}/#/explorer`);
    const first = page.getByTestId('episode-row').first();
    await first.waitFor(WAIT);
    expect(await page.locator('th', { hasText: 'Status' }).count()).toBe(1);
    // Nothing in the table lies beyond the right edge, neither of the screen nor of its scroller.
    const overflow = await page.getByTestId('episodes-table').evaluate((table) => {
      const wrap = table.parentElement as HTMLElement;
      return {
        wrap: wrap.scrollWidth - wrap.clientWidth,
        page: document.documentElement.scrollWidth - window.innerWidth,
      };
    });
    expect(overflow).toEqual({ wrap: 0, page: 0 });
    await first.scrollIntoViewIfNeeded();
    for (const [what, cell] of [
      ['status', first.getByTestId('cell-status')],
      ['received', first.getByTestId('cell-received')],
      ['host', first.getByTestId('cell-host')],
      ['episode', first.getByRole('button').first()],
    ] as const) {
      const box = await cell.boundingBox();
      expect(box, what).not.toBeNull();
      if (box === null) continue;
      expect({ what, inside: box.x >= 0 && box.x + box.width <= 390 && box.width > 0 }).toEqual({
        what,
        inside: true,
      });
    }
    // Still a table to assistive technology, as Chromium itself exposes it (not Playwright's reading
    // of the DOM): a table, rows, cells and the sortable column headers.
    const cdp = await page.context().newCDPSession(page);
    const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as {
      nodes: { role?: { value?: unknown }; name?: { value?: unknown }; ignored?: boolean }[];
    };
    await cdp.detach();
    const shown = nodes.filter((n) => !n.ignored);
    const roles = (role: string) => shown.filter((n) => n.role?.value === role);
    expect(roles('table').length).toBe(1);
    expect(roles('row').length).toBeGreaterThan(1);
    expect(roles('cell').length).toBeGreaterThanOrEqual(4);
    const headers = roles('columnheader').map((n) => String(n.name?.value ?? ''));
    for (const h of ['Received', 'Host', 'Episode', 'Size', 'Status'])
      expect(headers.some((name) => name.startsWith(h))).toBe(true);
    await screenshot(page, 'explorer-rows-phone-dark');
    await page.getByTestId('episode-row').nth(15).getByRole('button').first().click();
    const detail = page.getByTestId('episode-detail');
    await detail.waitFor(WAIT);
    const box = await detail.boundingBox();
    expect(box !== null && box.y < 844 && box.y >= 0).toBe(true);
    await screenshot(page, 'explorer-detail-phone-light');
    await page.keyboard.press('Escape');
    await page.setViewportSize({ width: 1920, height: 1080 });
  });

  it('sorts by a column header (server-side, in the URL), pages in that order, and back to newest first', async () => {
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.goto(`${server.url}/#/explorer`);
    await page.getByTestId('episode-row').first().waitFor(WAIT);
    const shown = () =>
      page.getByTestId('episode-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-episode')));
    const expectOrder = async (query: string, cursor: string | null = null): Promise<EpisodesPage> => {
      const p = `/api/episodes?${query}&limit=50${cursor ? `&cursor=${cursor}` : ''}`;
      let want: EpisodesPage = { items: [], next_cursor: null, total: 0 };
      await vi.waitFor(async () => {
        want = await getJson<EpisodesPage>(server.url, p);
        expect(await shown()).toEqual(want.items.map((e) => e.episode_id));
      }, WAIT);
      return want;
    };
    await page.getByTestId('sort-size').click();
    await vi.waitFor(async () => expect(page.url()).toContain('sort=size&order=desc'), WAIT);
    expect(await page.locator('th[aria-sort="descending"]').textContent()).toContain('Size');
    const first = await expectOrder('sort=size&order=desc');
    expect(first.next_cursor).not.toBeNull();
    await page.getByRole('button', { name: 'Older →' }).click();
    await expectOrder('sort=size&order=desc', first.next_cursor);
    // Clicking the active header turns the order round and starts at page one.
    await page.getByTestId('sort-size').click();
    await vi.waitFor(async () => expect(page.url()).toContain('sort=size&order=asc'), WAIT);
    await expectOrder('sort=size&order=asc');
    expect(await page.getByText('Page 1').count()).toBe(1);
    // The order survives opening and closing a detail, and a filter change.
    await page.getByTestId('episode-row').nth(3).getByRole('button').first().click();
    await page.getByTestId('episode-detail').waitFor(WAIT);
    await page.keyboard.press('Escape');
    await page.getByTestId('episode-detail').waitFor({ state: 'detached', ...WAIT });
    expect(page.url()).toContain('sort=size&order=asc');
    await hostChip('host-02').click();
    await vi.waitFor(async () => expect(page.url()).toMatch(/host=host-02.*sort=size&order=asc/), WAIT);
    await expectOrder('host=host-02&sort=size&order=asc');
    await page.getByTestId('sort-host').click();
    await vi.waitFor(async () => expect(page.url()).toContain('sort=host&order=asc'), WAIT);
    await page.getByTestId('sort-received').click();
    await vi.waitFor(async () => expect(page.url()).not.toContain('sort='), WAIT);
    await expectOrder('host=host-02');
    await screenshot(page, 'explorer-sorted-desktop-dark');
  });

  it("a filter that cannot apply shows none of the last filter's rows, count, facets or paging", async () => {
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.goto(`${server.url}/#/explorer`);
    await hostChip('host-02').click();
    await vi.waitFor(async () => expect(page.url()).toContain('host=host-02'), WAIT);
    await hostChip('host-03').click();
    await vi.waitFor(async () => expect(page.url()).toMatch(/host=host-02&host=host-03/), WAIT);
    await page.getByTestId('episode-row').first().waitFor(WAIT);
    await page.getByTestId('explorer-total').waitFor(WAIT);
    await page.getByTestId('explorer-min-size').fill('6300');
    await page.getByTestId('explorer-max-size').fill('100');
    await page.getByText('This filter cannot be applied').waitFor(WAIT);
    await expectNothingStale();
    // Switched to in the app (no reload), a bad value in the URL is the same.
    for (const bad of ['status=bogus', 'from=2026-13-45T99:00']) {
      await page.goto(`${server.url}/#/explorer`);
      await page.getByTestId('explorer-total').waitFor(WAIT);
      await page.evaluate((q) => {
        location.hash = `#/explorer?${q}`;
      }, bad);
      await page.getByText('This filter cannot be applied').waitFor(WAIT);
      await expectNothingStale();
    }
    // The server refusing a filter (a 400) is the same: its rows are not shown as this filter's.
    await page.goto(`${server.url}/#/explorer`);
    await page.getByTestId('explorer-total').waitFor(WAIT);
    await page.route('**/api/episodes?**', (route) =>
      route.fulfill({
        status: 400,
        contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'bad_request', message: 'refused for the test' } }),
      }),
    );
    try {
      await hostChip('host-01').click();
      await page.getByText('The server refused this filter').waitFor(WAIT);
      expect(await page.getByText('refused for the test').count()).toBe(1);
      await expectNothingStale();
    } finally {
      await page.unroute('**/api/episodes?**');
    }
  });

  it("From and To are in the zone the app shows (UTC or the browser's), say which, and read the URL as the filter does", async () => {
    await page.setViewportSize({ width: 1920, height: 1080 });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Emulation.setTimezoneOverride', { timezoneId: 'Europe/Berlin' });
    const from = page.locator('.filters input[type="datetime-local"]').nth(0);
    const to = page.locator('.filters input[type="datetime-local"]').nth(1);
    try {
      for (const [mode, zone, typedUtc, epochShown] of [
        ['utc', 'UTC', '2026-12-07T06:20:00.000Z', '2025-12-06T05:46:40'],
        ['local', 'Europe/Berlin', '2026-12-07T05:20:00.000Z', '2025-12-06T06:46:40'],
      ] as const) {
        await page.goto(`${server.url}/#/explorer`);
        await page.evaluate((m) => localStorage.setItem('cis490.tz', m), mode);
        await page.reload();
        await vi.waitFor(
          async () => expect(await page.getByTestId('tz-toggle').textContent()).toBe(zone),
          WAIT,
        );
        await from.fill('2026-12-07T06:20');
        await vi.waitFor(() => expect(hashParam('from')).toBe(typedUtc), WAIT);
        expect(await from.inputValue()).toBe('2026-12-07T06:20');
        // Epoch seconds, as the API documents them, are shown; `to=0` is 1970, not the year 2000.
        await page.goto(`${server.url}/#/explorer?from=1765000000`);
        await vi.waitFor(async () => expect(await from.inputValue()).toBe(epochShown), WAIT);
        await page.goto(`${server.url}/#/explorer?to=0`);
        await vi.waitFor(
          async () =>
            expect(await to.inputValue()).toBe(mode === 'utc' ? '1970-01-01T00:00' : '1970-01-01T01:00'),
          WAIT,
        );
        // The field says its zone (its accessible name too).
        expect(await page.getByLabel(`From (${zone})`).count()).toBe(1);
        expect(await page.getByLabel(`To (${zone})`).count()).toBe(1);
      }
    } finally {
      await page.evaluate(() => localStorage.removeItem('cis490.tz'));
      await cdp.send('Emulation.setTimezoneOverride', { timezoneId: '' });
      await cdp.detach();
    }
  });

  it('a bad order in the URL is said, not silently replaced by newest first', async () => {
    await page.goto(`${server.url}/#/explorer?sort=size&order=up`);
    await page.getByText('This filter cannot be applied').waitFor(WAIT);
    expect(await page.getByText("query parameter 'order' must be asc or desc, got 'up'").count()).toBe(1);
    await expectNothingStale();
    // The notice offers the way back to an order.
    await page.getByRole('button', { name: 'Show newest first' }).click();
    await vi.waitFor(async () => expect(page.url()).not.toContain('sort='), WAIT);
    await page.getByTestId('episode-row').first().waitFor(WAIT);
    expect(await page.getByText('This filter cannot be applied').count()).toBe(0);
  });

  it('a bad filter says what is wrong instead of blaming the catalog', async () => {
    await page.goto(`${server.url}/#/explorer?min_size=500&max_size=10`);
    await page.getByText('This filter cannot be applied').waitFor(WAIT);
    expect(await page.getByText("query parameter 'min_size' is larger than 'max_size'").count()).toBe(1);
    expect(await page.getByText('The episode catalog did not answer').count()).toBe(0);
  });
});
