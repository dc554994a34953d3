import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import type { RunningServer } from '../../server.js';
import { startServer } from '../../server.js';
import { ensureWebBuilt, REPO_ROOT, WEB_DIST } from './build-web.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = path.join(REPO_ROOT, 'test-artifacts/screenshots');

export interface LaunchedBrowser {
  context: BrowserContext;
  /** The profile folder: every Chromium process of this browser names it on its command line. */
  profile: string;
  close(): Promise<void>;
}

/** Debian's Chromium, headless, with a fresh profile (removed by the returned close). */
export async function launchBrowser(): Promise<LaunchedBrowser> {
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

/** What one browser test file shares: set up before its first test, torn down after its last. */
export interface BrowserSuite {
  /** A temp dir of the file's own (removed after its tests). */
  readonly work: string;
  /** `<work>/root` and `<work>/state`: the defaults of `serve`. */
  readonly dataRoot: string;
  readonly stateDir: string;
  readonly browser: LaunchedBrowser;
  /** One page of the browser, at 1920x1080, dark. */
  readonly page: Page;
  /** Writes `token` to `<work>/<name>` and returns the file's path. */
  tokenFile(token: string, name?: string): string;
  /** Starts the dashboard (data root and state dir default to the suite's); closed after the tests. */
  serve(opts?: Partial<DashboardOptions>): Promise<RunningServer>;
}

/**
 * The one setup of every browser test file: builds the web app when stale, makes a temp dir,
 * launches Chromium with one page, then runs `setup` (write a data root, `serve` it); after the
 * file's tests it closes the browser, every server `serve` started (close is idempotent, so a test
 * may close and restart one itself) and removes the temp dir. Read the fields inside tests or
 * `setup`, not at import time.
 */
export function browserSuite(prefix: string, setup?: (suite: BrowserSuite) => Promise<void>): BrowserSuite {
  let work = '';
  let browser: LaunchedBrowser | undefined;
  let page: Page | undefined;
  const servers: RunningServer[] = [];
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`browserSuite: ${what} is read before beforeAll ran`);
    return value;
  };
  const suite: BrowserSuite = {
    get work() {
      return need(work || undefined, 'work');
    },
    get dataRoot() {
      return path.join(suite.work, 'root');
    },
    get stateDir() {
      return path.join(suite.work, 'state');
    },
    get browser() {
      return need(browser, 'browser');
    },
    get page() {
      return need(page, 'page');
    },
    tokenFile(token, name = 'token') {
      const file = path.join(suite.work, name);
      fs.writeFileSync(file, `${token}\n`);
      return file;
    },
    async serve(opts = {}) {
      const server = await startDashboard({ dataRoot: suite.dataRoot, stateDir: suite.stateDir, ...opts });
      servers.push(server);
      return server;
    },
  };
  beforeAll(async () => {
    ensureWebBuilt(); // The global setup did this already under `npm test`; cheap when fresh.
    work = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    browser = await launchBrowser();
    page = await browser.context.newPage();
    await setup?.(suite);
  });
  afterAll(async () => {
    await browser?.close();
    for (const server of servers) await server.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });
  return suite;
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
