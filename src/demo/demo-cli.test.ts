import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { getJson } from '../../test/support/server.js';
import { tempDir } from '../../test/support/tmp.js';
import type { DashboardState } from '../protocol/index.js';

const bin = fileURLToPath(new URL('../../bin/cis490-dashboard.js', import.meta.url));

describe('cis490-dashboard demo', () => {
  it('prints the data root and URL, serves numbers that grow, and on SIGINT stops cleanly saying where the data is', async () => {
    const dir = path.join(tempDir('cis490-demo-cli-'), 'demo');
    const child = spawn(
      process.execPath,
      [bin, 'demo', '--dir', dir, '--port', '0', '--rate', '300', '--hosts', '2', '--log-level', 'silent'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    onTestFinished(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    const exited = once(child, 'exit');

    const url = await vi.waitFor(
      () => {
        const m = /serving (http:\/\/\S+)/.exec(stderr);
        if (!m?.[1]) throw new Error(`no URL yet: ${stderr}`);
        return m[1];
      },
      { timeout: 20_000, interval: 50 },
    );
    expect(stderr).toContain(`data root ${path.join(dir, 'data')}`);
    const server = { url };
    const first = (await getJson<DashboardState>(server, '/api/state')).body.total_episodes;
    await vi.waitFor(
      async () => {
        const { body } = await getJson<DashboardState>(server, '/api/state');
        expect(body.total_episodes).toBeGreaterThan(first);
      },
      { timeout: 15_000, interval: 100 },
    );

    child.kill('SIGINT');
    const [code] = await exited;
    expect(code).toBe(0);
    expect(stderr).toContain(`The data root is kept at ${path.join(dir, 'data')}`);
    expect(fs.existsSync(path.join(dir, 'data', 'index.jsonl'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'state'))).toBe(true);
  });
});
