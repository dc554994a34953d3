import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import type { RunningServer } from '../../server.js';
import { startServer } from '../../server.js';
import { REPO_ROOT, WEB_DIST } from './build-web.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = path.join(REPO_ROOT, 'test-artifacts/screenshots');

/** Debian's Chromium, headless, with a fresh profile (removed by the returned close). */
export async function launchBrowser(): Promise<{
  context: BrowserContext;
  /** The profile folder: every Chromium process of this browser names it on its command line. */
  profile: string;
  close(): Promise<void>;
}> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'cis490-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1920, height: 1080 },
    // Headless Chromium reports a light preference; the wall display's default is the dark theme.
    colorScheme: 'dark',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
  return {
    context,
    profile,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface DashboardOptions {
  dataRoot: string;
  stateDir: string;
  port?: number;
  phaseTokenFile?: string;
}

/** The real server on a data root, serving the built web app. */
export function startDashboard(opts: DashboardOptions): Promise<RunningServer> {
  return startServer({
    dataRoot: opts.dataRoot,
    stateDir: opts.stateDir,
    host: '127.0.0.1',
    port: opts.port ?? 0,
    webDir: WEB_DIST,
    pollInterval: 0.1,
    snapshotInterval: 5,
    logLevel: 'silent',
    ...(opts.phaseTokenFile ? { phaseTokenFile: opts.phaseTokenFile } : {}),
  });
}

export async function getJson<T>(base: string, p: string): Promise<T> {
  const res = await fetch(new URL(p, base));
  if (!res.ok) throw new Error(`GET ${p}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Appends one JSON line the way the receiver does. */
export function appendJsonLine(file: string, record: Record<string, unknown>): void {
  fs.appendFileSync(file, `${JSON.stringify(record)}\n`);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: false });
}

/** The text the app prints for a count (its own formatter's rule: en-US grouping). */
export function countText(n: number): string {
  return new Intl.NumberFormat('en-US').format(n);
}
