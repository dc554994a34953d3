import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it, vi } from 'vitest';
import { generateDataRoot } from '../../generate/generate.js';
import type { AlertLifecycleResponse } from '../../protocol/alerts.js';
import type { RunningServer } from '../../server.js';
import { appendJsonLine, browserSuite, getJson, screenshot } from './harness.js';

/**
 * The alert lifecycle (issue 15 item 3) against the real server and browser: an alert resolves
 * when what it reported is over, an operator acknowledges one with the operator token (and that
 * survives a restart), the open count counts open ones only, and the title and favicon carry the
 * open critical alerts.
 */

const WAIT = { timeout: 20_000, interval: 100 };
const TOKEN = 'alerts-operator-token-1';

let dataRoot: string;
let tokenFile: string;
let server: RunningServer;
let page: Page;

const lifecycle = (query = '') =>
  getJson<AlertLifecycleResponse>(server.url, `/api/alerts/lifecycle${query}`);
const stateOf = async (key: string): Promise<string | undefined> =>
  (await lifecycle()).items.find((g) => g.dedup_key === key)?.state;

function alert(host: string, symptom: string, key: string, atMs: number): Record<string, unknown> {
  return {
    host,
    symptom,
    detail: `${symptom} on ${host}`,
    suggested_fix: 'Look at it.',
    detected_at_wall: new Date(atMs).toISOString(),
    dedup_key: key,
  };
}

const suite = browserSuite('cis490-alerts-e2e-', async (s) => {
  dataRoot = s.dataRoot;
  tokenFile = s.tokenFile(TOKEN);
  await generateDataRoot({ out: dataRoot, hosts: 3, episodes: 6, alerts: 10, telemetryKb: 2, seed: 11 });
  server = await s.serve({ phaseTokenFile: tokenFile });
  page = s.page;
});

describe('alert lifecycle', () => {
  it('heartbeat_missed resolves when a heartbeat arrives after it', async () => {
    const key = 'host-02:heartbeat_missed:e2e';
    appendJsonLine(
      path.join(dataRoot, 'alerts.jsonl'),
      alert('host-02', 'heartbeat_missed', key, Date.now() + 1000),
    );
    await vi.waitFor(async () => expect(await stateOf(key)).toBe('open'), WAIT);
    await page.goto(`${server.url}/#/alerts`);
    const card = page.locator(`[data-testid="alert"][data-dedup="${key}"]`);
    await card.waitFor(WAIT);
    expect(await card.getAttribute('data-state')).toBe('open');

    const health = JSON.parse(fs.readFileSync(path.join(dataRoot, 'health/host-02.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    health.last_heartbeat_wall = new Date(Date.now() + 2000).toISOString();
    fs.writeFileSync(path.join(dataRoot, 'health/host-02.json.tmp'), JSON.stringify(health));
    fs.renameSync(path.join(dataRoot, 'health/host-02.json.tmp'), path.join(dataRoot, 'health/host-02.json'));
    await vi.waitFor(async () => expect(await stateOf(key)).toBe('resolved'), WAIT);
    // The open list drops it; the Resolved filter has it, saying why.
    await card.waitFor({ state: 'detached', ...WAIT });
    await page.locator('[data-testid="alert-state-filter"][data-state="resolved"]').click();
    await card.waitFor(WAIT);
    expect(await card.getByTestId('alert-reason').textContent()).toBe(
      'Resolved: a heartbeat arrived after it',
    );
  });

  it('an acknowledge form being filled in stays open, with its text and focus, while alerts arrive above it', async () => {
    const key = 'host-02:e2e_form:kept';
    appendJsonLine(path.join(dataRoot, 'alerts.jsonl'), alert('host-02', 'e2e_form', key, Date.now()));
    await vi.waitFor(async () => expect(await stateOf(key)).toBe('open'), WAIT);
    await page.goto(`${server.url}/#/alerts`);
    const card = page.locator(`[data-testid="alert"][data-dedup="${key}"]`);
    await card.getByTestId('alert-act').click();
    await card.getByTestId('action-by').fill('Grace');
    // Newer alerts land at the top of the list, above the card being acted on.
    for (const n of [1, 2]) {
      const newer = `host-03:e2e_form:newer-${n}`;
      appendJsonLine(
        path.join(dataRoot, 'alerts.jsonl'),
        alert('host-03', 'e2e_form', newer, Date.now() + n * 1000),
      );
      await page.locator(`[data-testid="alert"][data-dedup="${newer}"]`).waitFor(WAIT);
    }
    expect(await card.getByTestId('action-by').inputValue()).toBe('Grace');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('action-by');
    await card.getByTestId('alert-act').click(); // Cancel
  });

  it('the open count counts open groups only, and the title and favicon show open critical ones', async () => {
    const key = 'host-03:disk_low:e2e';
    appendJsonLine(path.join(dataRoot, 'alerts.jsonl'), alert('host-03', 'disk_low', key, Date.now() + 1000));
    await vi.waitFor(async () => expect(await stateOf(key)).toBe('open'), WAIT);
    const { counts } = await lifecycle();
    expect(counts.open_critical).toBeGreaterThan(0);
    await page.goto(`${server.url}/#/overview`);
    await vi.waitFor(async () => {
      const now = (await lifecycle()).counts;
      expect(await page.getByTestId('open-alerts').locator('.stat-value').textContent()).toBe(
        String(now.open),
      );
    }, WAIT);
    expect(counts.open + counts.resolved + counts.acknowledged + counts.silenced).toBe(
      (await lifecycle()).total,
    );
    await vi.waitFor(
      async () => expect(await page.title()).toBe(`(${counts.open_critical}) Overview · CIS490`),
      WAIT,
    );
    expect(await page.locator('link[rel="icon"]').getAttribute('href')).toMatch(/^data:image\/svg\+xml/);
  });

  it('an operator acknowledges an alert with the token; it survives a restart', async () => {
    const key = 'host-01:episode_corrupt:ep-e2e-ack';
    appendJsonLine(path.join(dataRoot, 'alerts.jsonl'), alert('host-01', 'episode_corrupt', key, Date.now()));
    await vi.waitFor(async () => expect(await stateOf(key)).toBe('open'), WAIT);

    // Without the token: 401, nothing stored.
    const refused = await fetch(`${server.url}/api/alerts/actions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dedup_key: key, kind: 'acknowledge', by: 'mallory' }),
    });
    expect(refused.status).toBe(401);

    await page.goto(`${server.url}/#/alerts`);
    const card = page.locator(`[data-testid="alert"][data-dedup="${key}"]`);
    await card.getByTestId('alert-act').click();
    await card.getByTestId('action-by').fill('Ada');
    await card.getByTestId('action-token').fill('wrong-token-xyz');
    await card.getByTestId('action-submit').click();
    await card.getByTestId('action-error').waitFor(WAIT);
    await card.getByTestId('action-token').fill(TOKEN);
    await card.getByTestId('action-submit').click();
    // Acknowledged: off the open list; under Acknowledged with who.
    await card.waitFor({ state: 'detached', ...WAIT });
    await page.locator('[data-testid="alert-state-filter"][data-state="acknowledged"]').click();
    await card.waitFor(WAIT);
    expect(await card.getByTestId('alert-reason').textContent()).toBe('acknowledged by Ada');
    await screenshot(page, 'alerts-acknowledged-desktop');

    await server.close();
    server = await suite.serve({ phaseTokenFile: tokenFile });
    const after = (await lifecycle()).items.find((g) => g.dedup_key === key);
    expect(after?.state).toBe('acknowledged');
    expect(after?.action?.by).toBe('Ada');

    // A new occurrence after the acknowledgement opens it again.
    appendJsonLine(
      path.join(dataRoot, 'alerts.jsonl'),
      alert('host-01', 'episode_corrupt', key, Date.now() + 1000),
    );
    await vi.waitFor(async () => expect(await stateOf(key)).toBe('open'), WAIT);
    // A server restart inside: on a busy shared box that alone can take many seconds.
  }, 120_000);

  it('the sound is off by default; opted in, a new critical alert plays it and a warning one does not', async () => {
    // Every sound the page makes, recorded by wrapping the Web Audio and media element APIs before
    // the app's own script runs.
    const p = await suite.browser.context.newPage();
    await p.addInitScript(() => {
      const calls: string[] = [];
      (window as unknown as { __sounds: string[] }).__sounds = calls;
      const Real = window.AudioContext;
      window.AudioContext = class extends Real {
        override createOscillator(): OscillatorNode {
          const osc = super.createOscillator();
          const start = osc.start.bind(osc);
          osc.start = (when?: number) => {
            calls.push('oscillator');
            start(when);
          };
          return osc;
        }
      };
      const play = HTMLMediaElement.prototype.play;
      HTMLMediaElement.prototype.play = function (this: HTMLMediaElement) {
        calls.push('media');
        return play.call(this);
      };
    });
    const sounds = () => p.evaluate(() => (window as unknown as { __sounds: string[] }).__sounds.length);
    const openCritical = () =>
      p.evaluate(() => Number(document.documentElement.dataset.openCritical ?? 'NaN'));
    // React runs effects after the paint of the commit that rendered the card: two frames and a task later.
    const effectsRun = () =>
      p.evaluate(
        () =>
          new Promise<void>((resolve) =>
            requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(resolve, 0))),
          ),
      );
    const alertsFile = path.join(dataRoot, 'alerts.jsonl');
    // episode_corrupt (critical) and clock_skew (warning): nothing resolves either by itself.
    const arrive = async (symptom: string, key: string) => {
      appendJsonLine(alertsFile, alert('host-03', symptom, key, Date.now()));
      await p.locator(`[data-testid="alert"][data-dedup="${key}"]`).waitFor(WAIT);
    };
    try {
      await p.goto(`${server.url}/#/alerts`);
      await p.locator('[data-testid="connection"][data-status="connected"]').waitFor(WAIT);
      const toggle = p.getByLabel('Sound on a new critical alert');
      expect(await toggle.isChecked()).toBe(false);

      // Off by default: a new critical alert is counted in the title, and silent.
      const before = (await lifecycle()).counts.open_critical;
      await vi.waitFor(async () => expect(await openCritical()).toBe(before), WAIT);
      await arrive('episode_corrupt', 'host-03:episode_corrupt:sound-1');
      // The count and the sound are one effect pass apart in the same commit: once the count is
      // in, the sound decision has been made.
      await vi.waitFor(async () => expect(await openCritical()).toBe(before + 1), WAIT);
      expect(await sounds()).toBe(0);

      // Opted in: the next new critical alert plays it, once.
      await toggle.check();
      await arrive('episode_corrupt', 'host-03:episode_corrupt:sound-2');
      await vi.waitFor(async () => expect(await openCritical()).toBe(before + 2), WAIT);
      await vi.waitFor(async () => expect(await sounds()).toBe(1), WAIT);

      // A warning alert is silent: after it, one more critical one makes the second sound, not a third.
      await arrive('clock_skew', 'host-03:clock_skew:sound-3');
      await effectsRun();
      expect(await openCritical()).toBe(before + 2);
      expect(await sounds()).toBe(1);
      await arrive('episode_corrupt', 'host-03:episode_corrupt:sound-4');
      await vi.waitFor(async () => expect(await openCritical()).toBe(before + 3), WAIT);
      await vi.waitFor(async () => expect(await sounds()).toBe(2), WAIT);
      await effectsRun();
      expect(await sounds()).toBe(2);
    } finally {
      await p.evaluate(() => localStorage.removeItem('cis490.alertSound')).catch(() => {});
      await p.close();
    }
  });

  it('an unknown host or a bad state in the URL is said, not shown as "all quiet" or as All', async () => {
    await page.goto(`${server.url}/#/alerts?host=nohost`);
    await page.getByText('Nothing matches host nohost').waitFor(WAIT);
    expect(await page.getByText('Everything the receiver reported').count()).toBe(0);
    // A host known only by its health file is a host: its alerts are just none.
    fs.writeFileSync(
      path.join(dataRoot, 'health/host-health-only.json'),
      JSON.stringify({ host: 'host-health-only', last_heartbeat_wall: new Date().toISOString() }),
    );
    await vi.waitFor(async () => {
      const hosts = (await getJson<{ hosts: { host_id: string }[] }>(server.url, '/api/hosts')).hosts;
      expect(hosts.map((h) => h.host_id)).toContain('host-health-only');
    }, WAIT);
    await page.goto(`${server.url}/#/alerts?host=host-health-only`);
    await page.getByText('Nothing matches these filters.').waitFor(WAIT);
    expect(await page.getByText('Nothing matches host').count()).toBe(0);
    await page.goto(`${server.url}/#/alerts?state=bogus`);
    await page.getByText('This filter cannot be applied').waitFor(WAIT);
    expect(await page.getByText("got 'bogus'").count()).toBe(1);
    expect(await page.getByTestId('alert').count()).toBe(0);
    expect(await page.locator('[data-testid="alert-state-filter"][aria-pressed="true"]').count()).toBe(0);
    // Choosing a state from there is a good filter again.
    await page.locator('[data-testid="alert-state-filter"][data-state="all"]').click();
    await page.getByTestId('alert').first().waitFor(WAIT);
    expect(await page.getByText('This filter cannot be applied').count()).toBe(0);
  });

  it('a silence needs an until, and bad input is a 400 that says what is wrong', async () => {
    const res = await fetch(`${server.url}/api/alerts/actions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ dedup_key: 'x', kind: 'silence', by: 'Ada' }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/until/);
    const bad = await fetch(`${server.url}/api/alerts/lifecycle?state=closed`);
    expect(bad.status).toBe(400);
  });
});
