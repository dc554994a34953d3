#!/usr/bin/env node
/**
 * After `tsc -p tsconfig.build.json` (part of `npm run build:server`, `npm run build` and the test
 * setup): removes every file of dist/ that no source compiles to any more — the output of a
 * deleted or renamed source (e.g. a `dashboard.js` left from before src/dashboard.ts was split),
 * or of a file the build no longer takes (tests, src/web). tsc never deletes what it emitted
 * before, and a stale module can still run: `workerFile` (src/util/worker-url.ts) starts the
 * compiled twin of a worker by path, and the CLI loads dist/. dist/vendor/ (scripts/vendor-typebox.mjs)
 * and dist/bundle/ (scripts/bundle-server.mjs) are left alone: no source compiles to them. Files of
 * current sources are not touched, so a server running from dist/ meanwhile keeps its modules.
 *
 * Usage: node scripts/prune-dist.mjs [distDir]   (prints one line per file removed)
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Does `src/<rel>` (rel of a .js or .js.map in dist/) exist and belong to the server build? */
function hasSource(srcDir, rel) {
  const base = rel.replace(/\.js(\.map)?$/, '');
  if (base === rel) return false;
  const parts = base.split(path.sep);
  if (parts[0] === 'web' || /\.test$/.test(base)) return false;
  return fs.existsSync(path.join(srcDir, `${base}.ts`));
}

/** Removes the stale files (and folders left empty) of `distDir`; returns their paths, relative. */
export function pruneDist(distDir, srcDir = path.join(ROOT, 'src')) {
  const removed = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      const rel = path.relative(distDir, p);
      if (e.isDirectory()) {
        if (rel === 'vendor' || rel === 'bundle' || rel.startsWith('bundle.tmp-')) continue;
        walk(p);
        if (fs.readdirSync(p).length === 0) fs.rmdirSync(p);
      } else if (!hasSource(srcDir, rel)) {
        fs.rmSync(p, { force: true });
        removed.push(rel);
      }
    }
  };
  if (fs.existsSync(distDir)) walk(distDir);
  return removed;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dist = path.resolve(process.argv[2] ?? path.join(ROOT, 'dist'));
  for (const rel of pruneDist(dist)) console.log(`prune-dist: removed ${rel} (no source)`);
}
