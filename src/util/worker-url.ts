import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The file a worker_thread should run for a module next to `fromUrl`. Compiled code runs its
 * sibling `.js`: in dist/ the worker's own module, in the bundle (dist/bundle/, one flat folder)
 * the worker's entry beside whichever chunk holds the caller — scripts/bundle-server.mjs names
 * each entry after the `relative` it finds in these calls. Under the test runner (sources are
 * `.ts`, which a plain worker cannot load) the compiled twin in `dist/` is used — the test setup
 * builds it first.
 */
export function workerFile(relative: string, fromUrl: string): string {
  const sibling = fileURLToPath(new URL(relative, fromUrl));
  if (existsSync(sibling)) return sibling;
  const compiled = sibling.replace(/([/\\])src([/\\])(?!.*[/\\]src[/\\])/, '$1dist$2');
  if (existsSync(compiled)) return compiled;
  throw new Error(`worker script not found: ${sibling} (run npm run build:server)`);
}
