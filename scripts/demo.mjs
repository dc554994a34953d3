#!/usr/bin/env node
// `npm run demo [-- flags]`: brings the built server (dist/ and its bundle dist/bundle/) and the web
// app (web-dist/) up to date with the sources when they are missing or older, then runs
// `cis490-dashboard demo` in this process. A web build that fails does not stop the demo: the server
// then shows a "not built" page.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const at = (...parts) => path.join(root, ...parts);

/** mtime in ms, 0 when the file is missing. */
function mtime(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

/** Newest mtime of the files under `dir` whose path passes `keep`; 0 when there are none. */
function newest(dir, keep) {
  let best = 0;
  let entries;
  try {
    entries = fs.readdirSync(dir, { recursive: true, withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    if (!e.isFile()) continue;
    const file = path.join(e.parentPath ?? e.path, e.name);
    if (keep(file)) best = Math.max(best, mtime(file));
  }
  return best;
}

function step(label, args) {
  process.stderr.write(`demo: ${label}\n`);
  const started = Date.now();
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  process.stderr.write(
    `demo: ${label} ${r.status === 0 ? 'done' : 'FAILED'} in ${Date.now() - started} ms\n`,
  );
  return r.status === 0;
}

const web = `${path.sep}web${path.sep}`;
// What the bin runs (bin/cis490-dashboard.js): the bundle, built last from dist/ by the same steps
// as `npm run build:server`. Older than any server source: all of them again.
const bundleMain = at('dist', 'bundle', 'main.js');
const serverSources = newest(
  at('src'),
  (f) => /\.tsx?$/.test(f) && !f.includes(web) && !/\.test\.tsx?$/.test(f) && !f.includes('test-utils'),
);
if (mtime(bundleMain) < serverSources) {
  // tsc emits even when it reports type errors; only a server that cannot be loaded is fatal.
  step('compiling the server (tsc)', [
    at('node_modules', 'typescript', 'bin', 'tsc'),
    '-p',
    'tsconfig.build.json',
  ]);
  step('removing stale output from dist/', [at('scripts', 'prune-dist.mjs')]);
  step('bundling TypeBox into dist/vendor', [at('scripts', 'vendor-typebox.mjs')]);
  // A failed bundle leaves none (bundle-server.mjs removes the stale one): the bin then runs dist/.
  step('bundling the server into dist/bundle', [at('scripts', 'bundle-server.mjs')]);
}
if (mtime(bundleMain) === 0 && mtime(at('dist', 'cli', 'main.js')) === 0) {
  process.stderr.write('demo: the server is not built and could not be built; run `npm ci` first\n');
  process.exit(2);
}

const webIndex = at('web-dist', 'index.html');
const webSources = Math.max(
  newest(at('src', 'web'), (f) => !f.includes(`${path.sep}e2e${path.sep}`)),
  newest(at('src', 'protocol'), () => true),
  mtime(at('vite.config.ts')),
);
const vite = at('node_modules', 'vite', 'bin', 'vite.js');
if (webSources > 0 && mtime(webIndex) < webSources) {
  if (mtime(vite) === 0) {
    process.stderr.write('demo: vite is not installed (a dev dependency); serving without the web app\n');
  } else if (!step('building the web app (vite build)', [vite, 'build', '--logLevel', 'warn'])) {
    process.stderr.write('demo: the web app did not build; serving anyway (the page says it is not built)\n');
  }
}

// `cis490-dashboard demo [flags]` in this process, through the bin (it picks the bundle or dist/):
// argv as the bin would see it, so its prestart step knows the command too.
process.argv.splice(2, 0, 'demo');
await import(pathToFileURL(at('bin', 'cis490-dashboard.js')).href);
