import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it, vi } from 'vitest';
import type { RunningServer } from '../../server.js';
import { appendJsonLine, browserSuite, screenshot } from './harness.js';

/**
 * Time (issue 15 item 7, issue 14 item 8's chart part): a range picker for the ingest chart, the
 * timezone shown and switchable to UTC, one 24-hour format, and year 0001 / +275760 outliers left
 * out of the chart instead of collapsing it.
 */

const WAIT = { timeout: 20_000, interval: 100 };

let server: RunningServer;
let page: Page;

browserSuite('cis490-time-e2e-', async (s) => {
  const dataRoot = s.dataRoot;
  fs.mkdirSync(dataRoot);
  const now = Date.now();
  const line = (id: string, at: string) => ({
    episode_id: id,
    host_id: 'host-01',
    sha256: null,
    size_bytes: 10,
    received_at_wall: at,
  });
  for (let i = 0; i < 20; i++)
    appendJsonLine(
      path.join(dataRoot, 'index.jsonl'),
      line(`ep-${i}`, new Date(now - i * 120_000).toISOString()),
    );
  appendJsonLine(path.join(dataRoot, 'index.jsonl'), line('ep-year-1', '0001-01-01T00:00:00Z'));
  appendJsonLine(path.join(dataRoot, 'index.jsonl'), line('ep-far-future', '+275760-09-13T00:00:00Z'));
  appendJsonLine(
    path.join(dataRoot, 'index.jsonl'),
    line('ep-last-week', new Date(now - 5 * 86_400_000).toISOString()),
  );
  server = await s.serve();
  page = s.page;
});

describe('time', () => {
  it('the ingest chart leaves outliers out and its range picker narrows the window', async () => {
    await page.goto(`${server.url}/#/overview`);
    const aside = page
      .locator('[data-testid="ingest-chart"]')
      .locator('xpath=ancestor::section')
      .locator('.widget-aside');
    await page.getByTestId('ingest-chart').waitFor(WAIT);
    // All: the week's episodes, 1-hour buckets, the two absurd years counted as outside.
    await vi.waitFor(
      async () =>
        expect(await aside.textContent()).toMatch(/episodes per 1 h · all episodes · 2 outside the range/),
      WAIT,
    );
    await page.locator('[data-testid="range"][data-range="1h"]').click();
    await vi.waitFor(async () => expect(await aside.textContent()).toMatch(/episodes per 1 min/), WAIT);
    expect(page.url()).toContain('range=1h');
    await page.locator('[data-testid="range"][data-range="24h"]').click();
    await vi.waitFor(async () => expect(await aside.textContent()).toMatch(/episodes per 15 min/), WAIT);
    await screenshot(page, 'overview-24h-desktop');
  });

  it('shows the timezone, switches to UTC, and formats every time the same way', async () => {
    // A zone that is not UTC, whatever the machine's: on a UTC box both labels would read the same.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Emulation.setTimezoneOverride', { timezoneId: 'America/Chicago' });
    try {
      await page.goto(`${server.url}/#/explorer`);
      await page.evaluate(() => localStorage.removeItem('cis490.tz'));
      await page.reload();
      const toggle = page.getByTestId('tz-toggle');
      await toggle.waitFor(WAIT);
      expect(await toggle.textContent()).toBe('America/Chicago');
      const row = page.locator('[data-testid="episode-row"][data-episode="ep-0"]');
      await row.waitFor(WAIT);
      const local = await row.textContent();
      await toggle.click();
      await vi.waitFor(async () => expect(await toggle.textContent()).toBe('UTC'), WAIT);
      await vi.waitFor(async () => expect(await row.textContent()).not.toBe(local), WAIT);
      expect(await row.textContent()).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);

      // A browser whose own zone is UTC (a wall's Pi often is): its local time says it is local.
      await cdp.send('Emulation.setTimezoneOverride', { timezoneId: 'UTC' });
      await page.reload();
      await vi.waitFor(async () => expect(await toggle.textContent()).toBe('UTC'), WAIT);
      await toggle.click();
      await vi.waitFor(async () => expect(await toggle.textContent()).toBe('UTC (local)'), WAIT);
    } finally {
      await cdp.send('Emulation.setTimezoneOverride', { timezoneId: '' });
      await page.evaluate(() => localStorage.removeItem('cis490.tz'));
      await cdp.detach();
    }
  });
});
