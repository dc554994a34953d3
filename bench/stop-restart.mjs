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
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [root, delays = '1200,2500,4000,6000', repo = path.resolve(fileURLToPath(import.meta.url), '../..')] =
  process.argv.slice(2);
if (!root) {
  console.error('usage: node bench/stop-restart.mjs ROOT [DELAY_MS,...] [REPO]');
  process.exit(2);
}

function start(stateDir) {
  const t0 = Date.now();
  const child = spawn(
    process.execPath,
    [
      path.join(repo, 'bin/cis490-dashboard.js'),
      'serve',
      '--data-root',
      root,
      '--port',
      '0',
      '--state-dir',
      stateDir,
    ],
    { env: { ...process.env, CIS490_LOG_LEVEL: 'info' } },
  );
  let err = '';
  let out = '';
  child.stderr.on('data', (d) => {
    err += d;
  });
  child.stdout.on('data', (d) => {
    out += d;
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  const url = new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      const m = /serving (http:\/\/\S+)/.exec(err);
      if (m) {
        clearInterval(poll);
        resolve(m[1]);
      }
    }, 5);
    void exited.then((how) => {
      clearInterval(poll);
      reject(new Error(`exited (${how}) before serving: ${err.slice(-500)}`));
    });
  });
  return { child, t0, exited, url, log: () => out };
}

const until = (check, everyMs = 20) =>
  new Promise((resolve) => {
    const poll = setInterval(async () => {
      if (await check()) {
        clearInterval(poll);
        resolve();
      }
    }, everyMs);
  });

for (const delay of delays.split(',').map(Number)) {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cis490-stop-restart-'));
  try {
    const first = start(stateDir);
    await first.url;
    await new Promise((r) => setTimeout(r, Math.max(0, delay - (Date.now() - first.t0))));
    const signalled = Date.now();
    first.child.kill('SIGTERM');
    const how = await first.exited;
    const stopMs = Date.now() - signalled;
    const overran = /took longer/.test(first.log());

    const second = start(stateDir);
    const url = await second.url;
    let readyMs = null;
    const ready = until(async () => {
      const r = await fetch(`${url}/readyz`).catch(() => null);
      if (r?.status === 200) readyMs = Date.now() - second.t0;
      return readyMs !== null;
    }, 50);
    await until(() => /catalog caught up/.test(second.log()), 50);
    const caughtUpMs = Date.now() - second.t0;
    await ready;
    const catalog = (await (await fetch(`${url}/api/episodes?limit=1`)).json()).total;
    const live = (await (await fetch(`${url}/api/state`)).json()).total_episodes;
    const reloaded = /loading .* again from its start/.test(second.log());
    second.child.kill('SIGTERM');
    await second.exited;
    console.log(
      `SIGTERM at ${delay} ms: exit ${how} after ${stopMs} ms${overran ? ' (logged: took longer than 5 s)' : ''}; ` +
        `restart${reloaded ? ' (loaded again)' : ''}: ready ${readyMs} ms, catalog caught up ${caughtUpMs} ms; ` +
        `totals: catalog ${catalog}, live ${live}`,
    );
  } finally {
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}
