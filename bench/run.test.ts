import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../test/support/tmp.js';

const repo = fileURLToPath(new URL('..', import.meta.url));

// Keeps `npm run bench` from rotting: every case runs end to end on tiny data (no timings asserted).
describe('bench/run.mjs --selftest', () => {
  it('runs every case and writes a report with a verdict per row', async () => {
    const out = path.join(tempDir('cis490-bench-'), 'BENCHMARKS.md');
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['bench/run.mjs', '--selftest', '--out', out],
        { cwd: repo, timeout: 150_000 },
        (err, so, se) => (err ? reject(new Error(`${err.message}\n${se}`)) : resolve(so)),
      );
    });
    expect(stdout).toMatch(/append → WebSocket/);
    const report = fs.readFileSync(out, 'utf8');
    for (const heading of [
      'cold bootstrap',
      'foreign style',
      'catalog complete',
      'steady state',
      'footprint',
      'append → WebSocket',
      'fan-out',
      'scale-out',
    ]) {
      expect(report).toContain(heading);
    }
    expect(report).not.toMatch(/\| error \|/);
    expect(report).toMatch(/0 lost/);
  }, 180_000);
});
