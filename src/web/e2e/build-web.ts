import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const WEB_DIST = path.join(REPO_ROOT, 'web-dist');

/** Newest mtime (ms) of the files under `dir`, skipping the browser tests themselves. */
function newest(dir: string): number {
  let max = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'e2e') max = Math.max(max, newest(p));
    } else if (!e.name.includes('.test.')) {
      max = Math.max(max, fs.statSync(p).mtimeMs);
    }
  }
  return max;
}

/** True when `web-dist/` is missing or older than any source it is built from. */
export function webDistIsStale(): boolean {
  let built: number;
  try {
    built = fs.statSync(path.join(WEB_DIST, 'index.html')).mtimeMs;
  } catch {
    return true;
  }
  const sources = Math.max(
    newest(path.join(REPO_ROOT, 'src/web')),
    newest(path.join(REPO_ROOT, 'src/protocol')),
    // The browser bundle also takes src/util (the time parser through the explorer filter).
    newest(path.join(REPO_ROOT, 'src/util')),
    fs.statSync(path.join(REPO_ROOT, 'vite.config.ts')).mtimeMs,
  );
  return sources > built;
}

/** Builds the web app with Vite (a child process: keeps Vite's own state out of the test runner). */
export function buildWeb(): void {
  const vite = path.join(REPO_ROOT, 'node_modules/vite/bin/vite.js');
  const result = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    // Vitest sets NODE_ENV=test, which would make Vite bundle React's development build.
    env: { ...process.env, NODE_ENV: 'production' },
  });
  if (result.status !== 0) {
    throw new Error(`vite build failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
}

export function ensureWebBuilt(): void {
  if (webDistIsStale()) buildWeb();
}
