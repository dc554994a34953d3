/**
 * A SIGTERM during a cold start, then a restart on the same state dir: how long the stop took
 * (and its exit code), when the restart answered `/readyz` 200, and when it logged `catalog caught
 * up` (every line read at start in the catalog, its indexes built), with the totals it ended with.
 *
 *   node bench/stop-restart.mjs ROOT [DELAY_MS,...] [REPO]
 *   e.g. node bench/stop-restart.mjs $PWD/.bench-data/root-foreign-l1000000 1200,2500,4000,6000
 *
 * REPO (default: this checkout) is the tree whose built `bin/cis490-dashboard.js` runs, so two
 * builds can be compared on one root. Each delay gets a fresh state dir, removed after.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { get, pollUntil, repoRoot, startServer } from './lib/proc.mjs';

const [root, delays = '1200,2500,4000,6000', repo = repoRoot] = process.argv.slice(2);
if (!root) {
  console.error('usage: node bench/stop-restart.mjs ROOT [DELAY_MS,...] [REPO]');
  process.exit(2);
}
const bin = path.join(path.resolve(repo), 'bin', 'cis490-dashboard.js');

for (const delay of delays.split(',').map(Number)) {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cis490-stop-restart-'));
  try {
    const first = await startServer({ dataRoot: path.resolve(root), stateDir, bin });
    await new Promise((r) => setTimeout(r, Math.max(0, delay - (performance.now() - first.t0))));
    const signalled = performance.now();
    process.kill(first.pid, 'SIGTERM');
    const { code, signal } = await first.exited;
    const stopMs = Math.round(performance.now() - signalled);
    const overran = first.logs.some((r) => /took longer/.test(r.msg));

    const second = await startServer({ dataRoot: path.resolve(root), stateDir, bin });
    const ready = await pollUntil(
      async () => ((await get(`${second.url}/readyz`)).status === 200 ? performance.now() : null),
      { intervalMs: 50, what: '/readyz 200' },
    );
    const caughtUp = await second.logLine((r) => r.msg === 'catalog caught up');
    const catalog = (await get(`${second.url}/api/episodes?limit=1`)).body.total;
    const live = (await get(`${second.url}/api/state`)).body.total_episodes;
    const reloaded = second.logs.some((r) => /loading .* again from its start/.test(r.msg));
    await second.stop();
    console.log(
      `SIGTERM at ${delay} ms: exit ${signal ?? code} after ${stopMs} ms${overran ? ' (logged: took longer than 5 s)' : ''}; ` +
        `restart${reloaded ? ' (loaded again)' : ''}: ready ${Math.round(ready - second.t0)} ms, ` +
        `catalog caught up ${Math.round(caughtUp.at - second.t0)} ms; totals: catalog ${catalog}, live ${live}`,
    );
  } finally {
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}
