#!/usr/bin/env node
/**
 * After `tsc`, prune-dist and vendor-typebox (the last step of `npm run build:server`, `build` and
 * `prepare`): the compiled server as one rolldown bundle in dist/bundle/, which
 * bin/cis490-dashboard.js runs when it is there.
 *
 * Why: from dist/ a cold start makes Node find, read and link several hundred modules (ours and
 * the dependencies') on the main thread, and each worker thread its own share. The same code in a
 * few dozen files cut the whole process's CPU at the moment /readyz first answered by ≈ 0.2-0.3 s
 * and the wall time from spawn by ≈ 0.1 s (8 alternations against main 617561e at load ≈ 2;
 * 1M-line python root: CPU 2.66 → 2.36 s, main thread 1.12 → 1.02 s, wall 1.60 → 1.45 s; 76k:
 * CPU 1.70 → 1.42 s, wall 1.06 → 0.95 s). `bootstrap_seconds` does not move: it starts after
 * the imports.
 * dist/ stays as tsc wrote it: the tests and their worker threads run it
 * (src/util/worker-url.ts), and the bin falls back to it.
 *
 * Layout: one flat folder. Entries: `main.js` (src/cli/main.ts), `prestart.js` (src/cli/prestart.ts,
 * which the bin loads before main.js so the scanner thread starts while the rest is still being
 * read), and every worker a module starts with `workerFile('./NAME.js', import.meta.url)` under the
 * same NAME — found by reading the sources, so a new worker is bundled without a change here.
 * Chunks are siblings of the entries, so `workerFile`'s './NAME.js', resolved against whichever
 * chunk holds the caller, lands on the worker's entry. Native addons (better-sqlite3, zstd-napi,
 * ws's optional ones) stay in node_modules: they find their .node files relative to themselves.
 * Bundled CommonJS gets no `__dirname`: the uses left are not reached (pino's transports, which
 * the server does not use; @fastify/swagger's default title, which our `info` replaces, inside a
 * try). A dependency that needs its own files at run time belongs in EXTERNAL.
 *
 * The bundle is written to a temporary sibling folder and swapped in, so there is never half a
 * bundle. A failed build removes the previous one too: it was made from an older dist/, and the
 * bin would run it rather than the dist/ just compiled.
 *
 * Usage: node scripts/bundle-server.mjs [distDir]
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.resolve(process.argv[2] ?? path.join(ROOT, 'dist'));
const src = path.join(ROOT, 'src');
const out = path.join(dist, 'bundle');
/** `workerFile('./persist-worker.js', import.meta.url)`: the worker's file name, as called. */
const WORKER_CALL = /\bworkerFile\(\s*(['"])\.\/([\w.-]+)\.js\1/g;
/** Loaded from node_modules at run time: native addons, and ws's optional native helpers. */
const EXTERNAL = [/^node:/, /^better-sqlite3(\/|$)/, /^zstd-napi(\/|$)/, /^bufferutil$/, /^utf-8-validate$/];

/** The server's sources (not tests, not the browser app), relative to src/. */
function serverSources(dir = src) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return p === path.join(src, 'web') ? [] : serverSources(p);
    return /\.ts$/.test(e.name) && !/\.test\.tsx?$/.test(e.name) ? [path.relative(src, p)] : [];
  });
}

/** Entry name → compiled file in dist/. */
function entries() {
  const input = {
    main: path.join(dist, 'cli', 'main.js'),
    prestart: path.join(dist, 'cli', 'prestart.js'),
  };
  for (const rel of serverSources()) {
    for (const m of fs.readFileSync(path.join(src, rel), 'utf8').matchAll(WORKER_CALL)) {
      const name = m[2];
      const file = path.join(dist, path.dirname(rel), `${name}.js`);
      // One flat folder: two workers of one name in two folders would need a different layout.
      if (input[name] && input[name] !== file) {
        throw new Error(`bundle-server: two entries named ${name}: ${input[name]} and ${file}`);
      }
      input[name] = file;
    }
  }
  for (const [name, file] of Object.entries(input)) {
    if (!fs.existsSync(file))
      throw new Error(`bundle-server: entry ${name}: ${file} is missing (run tsc first)`);
  }
  return input;
}

if (!fs.existsSync(path.join(dist, 'cli', 'main.js'))) {
  process.stderr.write(`bundle-server: ${dist}/cli/main.js does not exist (run tsc first)\n`);
  process.exit(2);
}
const tmp = `${out}.tmp-${process.pid}`;
fs.rmSync(tmp, { recursive: true, force: true });
try {
  await build({
    input: entries(),
    platform: 'node',
    external: EXTERNAL,
    logLevel: 'warn',
    output: {
      dir: tmp,
      format: 'esm',
      entryFileNames: '[name].js',
      chunkFileNames: 'chunk-[hash].js',
    },
  });
} catch (err) {
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.rmSync(out, { recursive: true, force: true });
  throw err;
}
fs.rmSync(out, { recursive: true, force: true });
fs.renameSync(tmp, out);
