#!/usr/bin/env node
/**
 * After `tsc` (part of `npm run build:server`): TypeBox as one bundle in dist/vendor/typebox/, and
 * the compiled server's `typebox` / `typebox/<sub>` imports pointed at it.
 *
 * Why: TypeBox 1.x ships as ~700 small ES modules; loading them costs the server ~15 MiB of RSS
 * and ~0.5 s of CPU at start, which is most of what the issue-16 swap added to the idle footprint.
 * The same code bundled (rolldown, which vite already brings) costs ~3 MiB and ~50 ms. The
 * sources and the tests import `typebox` as usual; only dist/ is rewritten, and a dist/ built by
 * `tsc` alone still runs (from node_modules, heavier). BENCHMARKS.md has the A/B that decided it.
 *
 * Usage: node scripts/vendor-typebox.mjs [distDir]
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.resolve(process.argv[2] ?? path.join(ROOT, 'dist'));
const vendor = path.join(dist, 'vendor', 'typebox');
/** `from 'typebox'`, `from "typebox/compile"`, `import('typebox/value')`: quote, subpath. */
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])typebox(\/[a-z]+)?\2/g;
/** An import this script already rewrote (a second run without tsc in between): its entry name. */
const REWRITTEN = /(['"])(?:\.\.?\/)+vendor\/typebox\/([a-z]+)\.js\1/g;

function jsFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return p === path.join(dist, 'vendor') ? [] : jsFiles(p);
    return e.name.endsWith('.js') ? [p] : [];
  });
}

if (!fs.existsSync(dist)) {
  process.stderr.write(`vendor-typebox: ${dist} does not exist (run tsc first)\n`);
  process.exit(2);
}
const files = jsFiles(dist);
/** Entry name ('index', 'compile', …) → the specifier the compiled code uses. */
const entries = new Map();
for (const file of files) {
  for (const m of fs.readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
    const sub = m[3]?.slice(1);
    entries.set(sub ?? 'index', sub ? `typebox/${sub}` : 'typebox');
  }
  for (const m of fs.readFileSync(file, 'utf8').matchAll(REWRITTEN)) {
    const name = m[2] ?? 'index';
    entries.set(name, name === 'index' ? 'typebox' : `typebox/${name}`);
  }
}
fs.rmSync(vendor, { recursive: true, force: true });
if (entries.size > 0) {
  await build({
    input: Object.fromEntries(
      [...entries].map(([name, spec]) => [name, fileURLToPath(import.meta.resolve(spec))]),
    ),
    platform: 'node',
    logLevel: 'warn',
    output: {
      dir: vendor,
      format: 'esm',
      entryFileNames: '[name].js',
      chunkFileNames: 'chunk-[hash].js',
    },
  });
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    const rewritten = text.replace(SPECIFIER, (_all, head, quote, sub) => {
      let rel = path.relative(path.dirname(file), path.join(vendor, `${sub ? sub.slice(1) : 'index'}.js`));
      if (!rel.startsWith('.')) rel = `./${rel}`;
      return `${head}${quote}${rel.split(path.sep).join('/')}${quote}`;
    });
    if (rewritten !== text) fs.writeFileSync(file, rewritten);
  }
}
