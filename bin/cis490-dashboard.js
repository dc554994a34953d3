#!/usr/bin/env node
// Thin launcher. `npm ci` (the `prepare` script) and `npm run build` / `build:server` compile the
// CLI to dist/ (tsc) and then bundle it into dist/bundle/ (rolldown, scripts/bundle-server.mjs).
// The bundle runs when it is there: a cold start then reads a few dozen files instead of several
// hundred modules. dist/cli/main.js, tsc's output alone, is the fallback.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const at = (rel) => new URL(rel, import.meta.url);
let main = at('../dist/bundle/main.js');
if (existsSync(fileURLToPath(main))) {
  // prestart.js first, on its own: for `serve` and `demo` it starts the first pass's scanner
  // thread and the catalog writer thread, which then load on the other core while this thread
  // reads and compiles main.js's chunks (imported together, prestart would only run once all of
  // them were loaded).
  await import(at('../dist/bundle/prestart.js').href);
} else {
  main = at('../dist/cli/main.js');
  if (!existsSync(fileURLToPath(main))) {
    process.stderr.write('cis490-dashboard: not built yet; run `npm ci` or `npm run build:server` first\n');
    process.exit(2);
  }
}
const { run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
