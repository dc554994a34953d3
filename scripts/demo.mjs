#!/usr/bin/env node
// `npm run demo [-- flags]`: brings the compiled server (dist/) and the web app (web-dist/) up to
// date with the sources when they are missing or older, then runs `cis490-dashboard demo` in this
// process. A web build that fails does not stop the demo: the server then shows a "not built" page.
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
const distMain = at('dist', 'cli', 'main.js');
const serverSources = newest(
  at('src'),
  (f) => /\.tsx?$/.test(f) && !f.includes(web) && !/\.test\.tsx?$/.test(f) && !f.includes('test-utils'),
);
if (mtime(distMain) < serverSources) {
  // tsc emits even when it reports type errors; only a missing main.js is fatal.
  step('compiling the server (tsc)', [
    at('node_modules', 'typescript', 'bin', 'tsc'),
    '-p',
    'tsconfig.build.json',
  ]);
  step('bundling TypeBox into dist/vendor', [at('scripts', 'vendor-typebox.mjs')]);
}
if (mtime(distMain) === 0) {
  process.stderr.write('demo: dist/cli/main.js is missing and could not be built; run `npm ci` first\n');
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

const { run } = await import(pathToFileURL(distMain).href);
process.exitCode = await run(['demo', ...process.argv.slice(2)]);
