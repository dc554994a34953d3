import { ensureWebBuilt } from './build-web.js';

/** Vitest global setup: build `web-dist/` once per run when it is missing or older than its sources. */
export default function setup(): void {
  ensureWebBuilt();
}
