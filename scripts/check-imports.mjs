#!/usr/bin/env node
/**
 * Import boundaries, checked by `npm run lint` (fails with one line per violation):
 *
 * 1. Shipped code (every file under src/ but tests and the browser tests' src/web/e2e/) imports
 *    no test code: no *.test.*, nothing under test/ or src/web/e2e/, no test runner package.
 * 2. One-way layers: a folder of src/ imports only the folders its LAYERS entry names (and itself).
 *    Tests may import anything.
 * 3. No import cycle between files of src/, type-only imports included.
 *
 * Usage: node scripts/check-imports.mjs [--graph]   (--graph prints the folder graph found)
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * What each part of src/ may import (besides itself). A part is a top-level folder of src/, or a
 * top-level file by its name. Reading order: lower layers first.
 */
export const LAYERS = {
  util: [],
  protocol: ['util'],
  config: ['util', 'protocol'],
  feeders: ['util', 'protocol'],
  generate: ['util', 'protocol', 'feeders'],
  bus: ['util', 'protocol', 'feeders'],
  // state/ straddles the catalog: its storage-fault and catalog-file helpers sit below it, its
  // state-dir opener above it (file-level cycles are still refused). To split: state/ → a low part.
  // catalog/verifier-worker reads tarballs through phasemix's reader (phasemix caches in the
  // catalog): a two-way folder pair, no file cycle. To split: the tar reader below both.
  catalog: ['util', 'protocol', 'feeders', 'bus', 'state', 'phasemix'],
  state: ['util', 'config', 'catalog'],
  phasemix: ['util', 'protocol', 'feeders', 'catalog', 'state'],
  liveness: ['util', 'protocol'],
  scaleout: ['util', 'protocol'],
  pipeline: ['util', 'protocol', 'feeders', 'bus', 'catalog', 'state'],
  http: ['util', 'protocol', 'config', 'feeders', 'bus', 'catalog', 'state', 'phasemix', 'pipeline'],
  services: [
    'util',
    'protocol',
    'config',
    'feeders',
    'bus',
    'catalog',
    'phasemix',
    'pipeline',
    'http',
    'liveness',
  ],
  // The scale-out agent: the pipeline's readers and the HTTP shell over the shared stream.
  agent: [
    'util',
    'protocol',
    'config',
    'feeders',
    'bus',
    'catalog',
    'phasemix',
    'pipeline',
    'http',
    'liveness',
    'scaleout',
  ],
  server: ['util', 'protocol', 'config', 'bus', 'catalog', 'state', 'pipeline', 'services'],
  demo: ['util', 'protocol', 'config', 'generate', 'server', 'scaleout'],
  // A dashboard replica (`serve --redis`): the one box's app, hub and feed over the shared stream.
  replica: [
    'util',
    'protocol',
    'config',
    'bus',
    'catalog',
    'state',
    'pipeline',
    'http',
    'scaleout',
    'services',
    'server',
  ],
  cli: [
    'util',
    'protocol',
    'config',
    'feeders',
    'generate',
    'bus',
    'catalog',
    'state',
    'phasemix',
    'pipeline',
    'http',
    'services',
    'server',
    'demo',
    'replica',
    'scaleout',
    'agent',
  ],
  web: ['protocol'],
};

const TEST_PACKAGES = ['vitest', 'playwright-core', '@playwright/test'];
const SOURCE = /\.(ts|tsx|mjs|js)$/;
// Static imports and re-exports (`import x from`, `import type`, `export … from`, bare `import '…'`)
// and dynamic `import('…')`.
const SPECIFIER =
  /(?:^|[\s;}])(?:import|export)\s(?:[^'";]*?\sfrom\s)?\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function walk(dir, out = []) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, out);
    else if (SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

export function isTestCode(relPath) {
  return (
    /\.(test|bench)\.(ts|tsx)$/.test(relPath) ||
    relPath.startsWith('test/') ||
    relPath.startsWith('src/web/e2e/') ||
    relPath.startsWith('bench/')
  );
}

/** The layer of a file under src/: its top-level folder, or its own name for a top-level file. */
export function layerOf(relPath) {
  const parts = relPath.split('/');
  if (parts[0] !== 'src') return null;
  return parts.length === 2 ? (parts[1] ?? '').replace(SOURCE, '') : (parts[1] ?? null);
}

function resolveImport(fromFile, spec) {
  const base = path.resolve(path.dirname(fromFile), spec);
  const candidates = [base, base.replace(/\.js$/, '.ts'), base.replace(/\.js$/, '.tsx'), `${base}.ts`];
  for (const c of candidates) if (fs.existsSync(c) && fs.statSync(c).isFile()) return c;
  return null;
}

/** Every import of every file: [{ from, to (repo-relative) | pkg }]. */
export function importsOf(files, root = ROOT) {
  const rel = (file) => path.relative(root, file).split(path.sep).join('/');
  const edges = [];
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(SPECIFIER)) {
      const spec = m[1] ?? m[2];
      if (!spec) continue;
      if (spec.startsWith('.')) {
        const target = resolveImport(file, spec);
        if (target) edges.push({ from: rel(file), to: rel(target) });
      } else {
        edges.push({ from: rel(file), pkg: spec });
      }
    }
  }
  return edges;
}

/** Strongly connected components of more than one file (or a self-import): the cycles. */
export function cycles(nodes, edges) {
  const adj = new Map(nodes.map((n) => [n, []]));
  for (const e of edges) adj.get(e.from)?.push(e.to);
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const out = [];
  const strong = (v) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const w of adj.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const scc = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (adj.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const n of nodes) if (!idx.has(n)) strong(n);
  return out;
}

export function check(root = ROOT) {
  const files = ['src', 'test', 'bench']
    .map((d) => path.join(root, d))
    .filter((d) => fs.existsSync(d))
    .flatMap((d) => walk(d));
  const edges = importsOf(files, root);
  const rel = (file) => path.relative(root, file).split(path.sep).join('/');
  const problems = [];
  for (const e of edges) {
    if (!e.from.startsWith('src/') || isTestCode(e.from)) continue;
    if (e.pkg !== undefined) {
      if (TEST_PACKAGES.some((p) => e.pkg === p || e.pkg.startsWith(`${p}/`)))
        problems.push(`${e.from}: shipped code imports the test package ${e.pkg}`);
      continue;
    }
    if (isTestCode(e.to)) {
      problems.push(`${e.from}: shipped code imports test code ${e.to}`);
      continue;
    }
    const from = layerOf(e.from);
    const to = layerOf(e.to);
    if (from === null || to === null || from === to) continue;
    const allowed = LAYERS[from];
    if (!allowed) problems.push(`${e.from}: src/${from} has no entry in LAYERS (scripts/check-imports.mjs)`);
    else if (!allowed.includes(to))
      problems.push(`${e.from}: src/${from} may not import src/${to} (${e.to})`);
  }
  const srcFiles = files.map(rel).filter((f) => f.startsWith('src/') && !isTestCode(f));
  const srcEdges = edges.filter((e) => e.to && srcFiles.includes(e.from) && srcFiles.includes(e.to));
  for (const scc of cycles(srcFiles, srcEdges)) problems.push(`import cycle: ${scc.join(' -> ')}`);
  return { problems, edges };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { problems, edges } = check();
  if (process.argv.includes('--graph')) {
    const graph = {};
    for (const e of edges) {
      const a = layerOf(e.from);
      const b = e.to ? layerOf(e.to) : null;
      if (!a || !b || a === b || isTestCode(e.from)) continue;
      graph[a] = (graph[a] ?? new Set()).add(b);
    }
    for (const [a, bs] of Object.entries(graph)) console.log(`${a}: ${[...bs].sort().join(', ')}`);
  }
  for (const p of problems) console.error(p);
  if (problems.length > 0) {
    console.error(`check-imports: ${problems.length} problem(s)`);
    process.exit(1);
  }
}
