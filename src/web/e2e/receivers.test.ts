import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { spawnAgent } from '../../../test/support/agent.js';
import { startClusterDemo } from '../../../test/support/cluster-demo.js';
import { generateDataRoot } from '../../generate/generate.js';
import type { DashboardState } from '../../protocol/index.js';
import { ensureWebBuilt } from './build-web.js';
import { getJson, launchBrowser, screenshot, startDashboard } from './harness.js';

/**
 * Many receivers in one view (issue 13), against `demo --cluster` (real Redis, three agents whose
 * receivers all have `host-01` and `host-02`, two replicas behind one port): hosts of the same
 * name are shown apart with their receiver, the one receiver picker narrows every scene and stays
 * in the URL across scenes; on a single box there is no picker.
 */

const WAIT = { timeout: 30_000, interval: 100 };

let browser: Awaited<ReturnType<typeof launchBrowser>>;
let page: Page;

beforeAll(async () => {
  ensureWebBuilt();
  browser = await launchBrowser();
  page = await browser.context.newPage();
});

afterAll(async () => {
  await browser?.close();
});

describe('receivers in the web app', () => {
  it('shows two receivers’ host-01 apart and filters every scene by the picked receiver', async () => {
    const demo = await startClusterDemo(['--hosts', '2', '--rate', '30']);
    await page.goto(`${demo.url}/#/hosts`);
    const cards = page.locator('[data-testid=host-card]');
    await vi.waitFor(async () => expect(await cards.count()).toBe(6), WAIT);
    const hosts = await cards.evaluateAll((els) => els.map((e) => e.getAttribute('data-host')).sort());
    expect(hosts).toEqual([
      'rack-1/host-01',
      'rack-1/host-02',
      'rack-2/host-01',
      'rack-2/host-02',
      'rack-3/host-01',
      'rack-3/host-02',
    ]);
    const labels = await page.locator('.tile-host').allTextContents();
    expect(labels).toContain('host-01 · rack-2');
    expect(labels).toContain('host-02 · rack-3');
    await screenshot(page, 'hosts-receivers');

    // One picker, every receiver in it; picking one narrows the scene and lands in the URL.
    const picker = page.locator('[data-testid=receiver-picker]');
    expect(await picker.locator('option').allTextContents()).toEqual([
      'All receivers',
      'rack-1',
      'rack-2',
      'rack-3',
    ]);
    await picker.selectOption('rack-2');
    await vi.waitFor(async () => expect(await cards.count()).toBe(2), WAIT);
    expect(await cards.evaluateAll((els) => els.map((e) => e.getAttribute('data-host')).sort())).toEqual([
      'rack-2/host-01',
      'rack-2/host-02',
    ]);
    expect(new URL(page.url()).searchParams.get('receiver')).toBe('rack-2');

    // The choice follows the nav to every other scene: the Overview's total is rack-2's share.
    await page.locator('nav a', { hasText: 'Overview' }).click();
    expect(new URL(page.url()).searchParams.get('receiver')).toBe('rack-2');
    const shown = async (): Promise<number> =>
      Number(((await page.locator('[data-testid=total-episodes]').textContent()) ?? '').replace(/\D/g, ''));
    await vi.waitFor(async () => {
      const state = await getJson<DashboardState>(demo.url, '/api/state');
      const part = state.receivers?.['rack-2']?.total_episodes ?? -1;
      const n = await shown();
      // Read between two moments that the lab keeps writing: at least rack-2's part then, below all.
      expect(n).toBeGreaterThanOrEqual(part);
      expect(n).toBeLessThan(state.total_episodes);
    }, WAIT);

    // Explorer rows (the replica's catalog, asked with receiver=) are rack-2's only.
    await page.locator('nav a', { hasText: 'Explorer' }).click();
    const rows = page.locator('[data-testid=episode-row]');
    await vi.waitFor(async () => expect(await rows.count()).toBeGreaterThan(3), WAIT);
    const hostCells = await rows.evaluateAll((els) =>
      els.map((e) => e.querySelectorAll('td')[1]?.textContent ?? ''),
    );
    for (const cell of hostCells) expect(cell).toMatch(/ · rack-2$/);

    // Back to all receivers: every host again.
    await picker.selectOption('');
    expect(new URL(page.url()).searchParams.get('receiver')).toBeNull();
    await page.locator('nav a', { hasText: 'Hosts' }).click();
    await vi.waitFor(async () => expect(await cards.count()).toBe(6), WAIT);
    expect(await demo.interrupt()).toBe(0);
  }, 180_000);

  it('shows a receiver whose agent died as offline on every scene and on the wall, and in /metrics', async () => {
    const demo = await startClusterDemo(['--hosts', '1', '--rate', '30']);
    const agent = demo.children.find((c) => c.role === 'agent' && c.name === 'rack-2');
    expect(agent).toBeDefined();
    await page.goto(`${demo.url}/#/hosts`);
    const wall = await browser.context.newPage();
    try {
      await wall.goto(`${demo.url}/?kiosk#/overview`);
      const cards = page.locator('[data-testid=host-card]');
      await vi.waitFor(async () => expect(await cards.count()).toBe(3), WAIT);
      const banner = page.locator('[data-testid=agents-down-banner]');
      const wallBanner = wall.locator('[data-testid=agents-down-banner]');
      expect(await banner.count()).toBe(0);
      expect(await wallBanner.count()).toBe(0);
      const agentUp = async (receiver: string): Promise<string | undefined> => {
        const text = await (await fetch(`${demo.url}/metrics`)).text();
        return new RegExp(`^cis490_dashboard_agent_up\\{receiver="${receiver}"\\} (\\d)$`, 'm').exec(
          text,
        )?.[1];
      };
      expect(await agentUp('rack-2')).toBe('1');

      // SIGKILL: no clean stop, so its heartbeat key expires (three intervals of 5 s) on its own.
      process.kill(agent?.pid ?? 0, 'SIGKILL');
      const DOWN = { timeout: 45_000, interval: 250 };
      await vi.waitFor(async () => expect(await banner.getAttribute('role')).toBe('alert'), DOWN);
      expect(
        await banner
          .locator('[data-receiver]')
          .evaluateAll((els) => els.map((e) => e.getAttribute('data-receiver'))),
      ).toEqual(['rack-2']);
      expect(await banner.textContent()).toMatch(
        /Receiver offline: rack-2 \(its agent's last heartbeat at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)/,
      );
      await vi.waitFor(async () => expect(await wallBanner.textContent()).toContain('rack-2'), WAIT);
      expect(await page.locator('[data-testid=receiver-picker] option').allTextContents()).toEqual([
        'All receivers',
        'rack-1',
        'rack-2 (offline)',
        'rack-3',
      ]);
      expect(await agentUp('rack-2')).toBe('0');
      expect(await agentUp('rack-1')).toBe('1');
      await screenshot(page, 'hosts-receiver-offline');

      // On another scene too; and narrowed to a live receiver, the banner is not that view's.
      await page.locator('nav a', { hasText: 'Explorer' }).click();
      await vi.waitFor(async () => expect(await banner.count()).toBe(1), WAIT);
      await page.locator('[data-testid=receiver-picker]').selectOption('rack-1');
      await vi.waitFor(async () => expect(await banner.count()).toBe(0), WAIT);
    } finally {
      await wall.close();
    }
    expect(await demo.interrupt()).toBe(0);
  }, 180_000);

  it('shows two agents started with one receiver name, and the second one’s /readyz says so', async () => {
    const demo = await startClusterDemo(['--hosts', '1', '--rate', '30']);
    const redisUrl = demo.children.find((c) => c.role === 'redis')?.url ?? '';
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cis490-receivers-twice-'));
    try {
      const dataRoot = path.join(work, 'root');
      await generateDataRoot({ out: dataRoot, hosts: 1, episodes: 2, alerts: 0, telemetryKb: 1, seed: 5 });
      // A second machine given rack-2's name by mistake.
      const twin = spawnAgent({
        dataRoot,
        redisUrl,
        receiver: 'rack-2',
        args: ['--heartbeat-interval', '1'],
      });
      await twin.waitForLog('serving http://');
      const twinUrl = /serving (http:\/\/[^\s,]+)/.exec(twin.output())?.[1] ?? '';
      const rack2 = demo.children.find((c) => c.role === 'agent' && c.name === 'rack-2')?.url ?? '';
      await page.goto(`${demo.url}/#/overview`);
      const banner = page.locator('[data-testid=agent-conflict-banner]');
      await vi.waitFor(async () => expect(await banner.count()).toBe(1), WAIT);
      expect(await banner.getAttribute('data-receiver')).toBe('rack-2');
      const text = (await banner.textContent()) ?? '';
      expect(text).toContain('Two agents use one receiver name: rack-2');
      expect(text).toContain(twinUrl);
      expect(text).toContain(rack2);
      const readyz = await fetch(`${twinUrl}/readyz`);
      expect(readyz.status).toBe(503);
      expect(((await readyz.json()) as { reason: { code: string } }).reason.code).toBe(
        'receiver_name_conflict',
      );
      expect(twin.output()).toContain('two agents run with one --receiver name');
      await twin.kill();
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
    expect(await demo.interrupt()).toBe(0);
  }, 180_000);

  it('has no receiver picker on a single box', async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cis490-receivers-e2e-'));
    try {
      const dataRoot = path.join(work, 'root');
      await generateDataRoot({ out: dataRoot, hosts: 2, episodes: 4, alerts: 1, telemetryKb: 1, seed: 3 });
      const server = await startDashboard({ dataRoot, stateDir: path.join(work, 'state') });
      try {
        await page.goto(`${server.url}/#/hosts`);
        const cards = page.locator('[data-testid=host-card]');
        await vi.waitFor(async () => expect(await cards.count()).toBe(2), WAIT);
        expect(await page.locator('.tile-host').allTextContents()).toEqual(
          expect.arrayContaining(['host-01', 'host-02']),
        );
        expect(await page.locator('[data-testid=receiver-picker]').count()).toBe(0);
        expect(await page.locator('[data-testid=agents-down-banner]').count()).toBe(0);
      } finally {
        await server.close();
      }
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }, 60_000);
});
