import fs from 'node:fs';
import path from 'node:path';
import type { Page, Route } from 'playwright-core';
import { describe, expect, it, vi } from 'vitest';
import { generateDataRoot } from '../../generate/generate.js';
import type { RunningServer } from '../../server.js';
import { SCENES } from '../app/routes.js';
import { REPO_ROOT } from './build-web.js';
import { appendJsonLine, browserSuite, screenshot } from './harness.js';

/**
 * Accessibility (issue 15 item 8): axe-core (a pinned dev dependency) in real Chromium against the
 * built app served by the real server with its real CSP (axe is evaluated over the DevTools
 * protocol, which the page's CSP does not govern): zero violations of WCAG 2.2 A/AA and axe's best
 * practices (landmarks, one h1, regions) in all 6 scenes × light/dark × phone/desktop. Also saves
 * the screenshots of every scene: 1920×1080 kiosk dark and 390×844 light.
 */

const WAIT = { timeout: 20_000 };
const AXE = fs.readFileSync(path.join(REPO_ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8');
const TOKEN = 'a11y-phase-token-1';

let server: RunningServer;
let page: Page;

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[]; failureSummary?: string }>;
}

async function axe(p: Page): Promise<string[]> {
  await p.evaluate(AXE);
  const violations = await p.evaluate(async () => {
    const w = window as unknown as {
      axe: { run(ctx: Document, o: unknown): Promise<{ violations: AxeViolation[] }> };
    };
    const res = await w.axe.run(document, {
      runOnly: {
        type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'],
      },
      resultTypes: ['violations'],
    });
    return res.violations;
  });
  return violations.flatMap((v) =>
    v.nodes
      .slice(0, 3)
      .map(
        (n) =>
          `${v.id} (${v.impact}): ${n.target.join(' ')} — ${n.failureSummary?.split('\n')[1]?.trim() ?? v.help}`,
      ),
  );
}

/** Waits until the scene has its data (not the loading notice) so axe sees what a person sees. */
async function settle(p: Page): Promise<void> {
  await p.locator('[data-testid="connection"][data-status="connected"]').waitFor(WAIT);
  await p.locator('.notice-loading').waitFor({ state: 'detached', ...WAIT });
}

const suite = browserSuite('cis490-a11y-e2e-', async (s) => {
  await generateDataRoot({ out: s.dataRoot, hosts: 5, episodes: 30, alerts: 20, telemetryKb: 2, seed: 9 });
  server = await s.serve({ phaseTokenFile: s.tokenFile(TOKEN) });
  for (const [host, phase] of [
    ['host-01', 'infected_running'],
    ['host-02', 'baseline'],
  ]) {
    await fetch(`${server.url}/api/phase`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ host_id: host, phase }),
    });
  }
  // The phase mix must be there for Baseline.
  for (let i = 0; i < 200; i++) {
    if ((await fetch(`${server.url}/api/phase-mix`)).ok) break;
    await new Promise<void>((resolve) => server.pipeline.bus.subscribe(() => resolve()));
  }
  page = s.page;
});

describe('axe-core: zero violations', () => {
  for (const scheme of ['dark', 'light'] as const) {
    for (const [device, size] of [
      ['desktop', { width: 1920, height: 1080 }],
      ['phone', { width: 390, height: 844 }],
    ] as const) {
      it(`every scene, ${scheme}, ${device}`, async () => {
        await page.emulateMedia({ colorScheme: scheme });
        await page.setViewportSize(size);
        const found: string[] = [];
        for (const scene of SCENES) {
          await page.goto(`${server.url}/#/${scene}`);
          await settle(page);
          expect(await page.locator('h1').count()).toBe(1);
          expect(await page.locator('main').count()).toBe(1);
          found.push(...(await axe(page)).map((v) => `${scene}: ${v}`));
          if (scheme === 'light' && device === 'phone') await screenshot(page, `${scene}-phone-light`);
          if (scene === 'baseline') {
            // A phase's percentage shows whole inside its segment or not at all (never cut).
            const cut = await page.locator('.mix-seg').evaluateAll((segments) =>
              segments
                .filter((seg) => {
                  const label = seg.querySelector('.mix-seg-label');
                  const shown = label
                    ? getComputedStyle(label).visibility !== 'hidden'
                    : seg.textContent !== '';
                  return shown && seg.scrollWidth > seg.clientWidth;
                })
                .map((seg) => seg.textContent),
            );
            expect(cut, `${scheme} ${device}`).toEqual([]);
          }
        }
        expect(found).toEqual([]);
      }, 120_000);
    }
  }

  for (const scheme of ['dark', 'light'] as const) {
    it(`highlighted states, ${scheme}: a resolved alert card, explorer rows selected and new`, async () => {
      await page.emulateMedia({ colorScheme: scheme });
      await page.setViewportSize({ width: 1920, height: 1080 });
      const found: string[] = [];
      await page.goto(`${server.url}/#/alerts?state=all`);
      await settle(page);
      await page.locator('[data-testid="alert"][data-state="resolved"]').first().waitFor(WAIT);
      found.push(...(await axe(page)).map((v) => `alerts resolved: ${v}`));

      await page.goto(`${server.url}/#/explorer`);
      await settle(page);
      const first = page.getByTestId('episode-row').first();
      await first.waitFor(WAIT);
      const id = (await first.getAttribute('data-episode')) ?? '';
      await page.goto(`${server.url}/#/explorer?episode=${encodeURIComponent(id)}`);
      await page.locator(`[data-testid="episode-row"].selected[data-episode="${id}"]`).waitFor(WAIT);
      await page.getByTestId('episode-detail').locator('dl').first().waitFor(WAIT);
      found.push(...(await axe(page)).map((v) => `explorer selected: ${v}`));

      // A new row at its most highlighted: animations frozen at their first frame, and the refetch
      // that would fold the row into the page held until axe is done.
      await page.goto(`${server.url}/#/explorer`);
      await settle(page);
      await page.getByTestId('episode-row').first().waitFor(WAIT);
      // Closing the detail put the focus back on its row, and a table being read holds new rows back.
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Animation.enable');
      await cdp.send('Animation.setPlaybackRate', { playbackRate: 0 });
      const held: Route[] = [];
      await page.route('**/api/episodes?**', (route) => {
        held.push(route);
      });
      try {
        const newId = `ep-a11y-new-${scheme}`;
        appendJsonLine(path.join(suite.dataRoot, 'index.jsonl'), {
          episode_id: newId,
          host_id: 'host-01',
          sha256: null,
          size_bytes: 1234,
          received_at_wall: new Date().toISOString(),
        });
        await page.locator(`[data-testid="episode-row"].live-row[data-episode="${newId}"]`).waitFor(WAIT);
        found.push(...(await axe(page)).map((v) => `explorer new row: ${v}`));
      } finally {
        await page.unroute('**/api/episodes?**');
        for (const route of held) await route.continue().catch(() => {});
        await cdp.send('Animation.setPlaybackRate', { playbackRate: 1 });
        await cdp.detach();
      }
      expect(found).toEqual([]);
    }, 120_000);
  }

  it('kiosk scenes, dark, 1920×1080 (screenshots)', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.setViewportSize({ width: 1920, height: 1080 });
    const found: string[] = [];
    for (const scene of SCENES) {
      await page.goto(`${server.url}/?kiosk&scenes=${scene}&dwell=600`);
      await settle(page);
      found.push(...(await axe(page)).map((v) => `kiosk ${scene}: ${v}`));
      await screenshot(page, `${scene}-kiosk-dark`);
      // Nobody types on the wall: the Explorer there is the live list, without filters or exports.
      if (scene === 'explorer') {
        await page.getByTestId('episode-row').first().waitFor(WAIT);
        expect(await page.getByTestId('explorer-search').count()).toBe(0);
        expect(await page.getByRole('button', { name: 'Export CSV' }).count()).toBe(0);
      }
      if (scene === 'overview') {
        // The Overview fills one screen: no paging, and the chart takes the height left under the
        // totals, down to the footer (less than a line of empty screen below it).
        const main = page.locator('main');
        await vi.waitFor(async () => expect(await main.getAttribute('data-pages')).toBe('1'), WAIT);
        const chart = await page.getByTestId('ingest-chart').boundingBox();
        const footer = await page.locator('footer.kiosk-steps').boundingBox();
        expect(chart && footer && footer.y - (chart.y + chart.height)).toBeLessThan(120);
        expect(chart?.height).toBeGreaterThan(300);
      }
    }
    expect(found).toEqual([]);
  }, 120_000);

  it('a skip link is the first thing Tab reaches and moves focus to the scene', async () => {
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.goto(`${server.url}/#/explorer`);
    await settle(page);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
  });
});
