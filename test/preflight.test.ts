import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { preflightMessage, requirements } from './preflight.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('test preflight', () => {
  it('passes on this machine (the suite needs every tool)', () => {
    expect(preflightMessage(requirements())).toBeNull();
  });

  it('names every missing tool and the apt-get install in one line', () => {
    const reqs = requirements({ CHROMIUM_PATH: '/nonexistent/chromium' }).map((r) =>
      r.pkg === 'zstd' || r.pkg === 'chromium' ? { ...r, find: () => null } : r,
    );
    expect(preflightMessage(reqs)).toBe(
      'npm test: missing chromium (CHROMIUM_PATH=/nonexistent/chromium), zstd; install with: sudo apt-get install -y chromium zstd',
    );
  });

  it('stops vitest at once, before any build or test, when tools are missing', () => {
    // A PATH holding node alone: zstd, python3, tar, redis-server and promtool are all missing.
    const bin = mkdtempSync(path.join(os.tmpdir(), 'cis490-preflight-'));
    onTestFinished(() => rmSync(bin, { recursive: true, force: true }));
    symlinkSync(process.execPath, path.join(bin, 'node'));
    const run = spawnSync(
      process.execPath,
      ['node_modules/vitest/vitest.mjs', 'run', 'test/readme.test.ts'],
      {
        cwd: root,
        encoding: 'utf8',
        env: { PATH: bin, HOME: os.homedir(), CHROMIUM_PATH: path.join(bin, 'chromium') },
      },
    );
    expect(run.status).toBe(2);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^npm test: missing chromium .*, zstd, python3, tar, redis-server, promtool, prometheus; install with: sudo apt-get install -y chromium zstd python3 tar redis-server prometheus$/,
    );
    expect(run.stdout).not.toContain('readme');
  });
});
