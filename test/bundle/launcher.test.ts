/**
 * bin/cis490-dashboard.js run directly (as npm's link, `npm start` and the README run it): a Node
 * script for the first `node` on PATH. A module preloaded through NODE_OPTIONS reports what the
 * Node process got: its executable, its arguments and its GLIBC_TUNABLES.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/tmp.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(REPO, 'bin', 'cis490-dashboard.js');
const run = promisify(execFile);

/** A preload that prints one JSON line on stderr: the process's executable, tunables and arguments. */
function reporter(dir: string): string {
  const file = path.join(dir, 'report.mjs');
  fs.writeFileSync(
    file,
    `process.stderr.write(JSON.stringify({ execPath: process.execPath, tunables: process.env.GLIBC_TUNABLES ?? null, argv: process.argv.slice(2) }) + '\\n');\n`,
  );
  return file;
}

async function report(
  argv: string[],
  env: Record<string, string>,
): Promise<{ stdout: string; seen: { execPath: string; tunables: string | null; argv: string[] } }> {
  const dir = tempDir('cis490-launcher-');
  const { stdout, stderr } = await run(argv[0] as string, argv.slice(1), {
    env: {
      ...process.env,
      // The `node` the bin's `#!/usr/bin/env node` finds: this one.
      PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}`,
      NODE_OPTIONS: `--import ${reporter(dir)}`,
      ...env,
    },
  });
  const line = stderr.split('\n').find((l) => l.startsWith('{"execPath"'));
  if (!line) throw new Error(`no report on stderr: ${stderr}`);
  return { stdout, seen: JSON.parse(line) };
}

describe('bin/cis490-dashboard.js run directly', () => {
  it('runs on the first node on PATH with every argument intact and the environment as given', async () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
      version: string;
    };
    const plain = await report([BIN, '--version'], { GLIBC_TUNABLES: '' });
    expect(plain.stdout.trim()).toBe(version);
    expect(fs.realpathSync(plain.seen.execPath)).toBe(fs.realpathSync(process.execPath));
    expect(plain.seen.argv).toEqual(['--version']);
    // No malloc tunable of its own any more (README, "Install"): the caller's, untouched.
    expect(plain.seen.tunables).toBe('');
    const kept = await report([BIN, '--version', 'a b', ''], { GLIBC_TUNABLES: 'glibc.malloc.arena_max=4' });
    expect(kept.seen.tunables).toBe('glibc.malloc.arena_max=4');
    expect(kept.seen.argv).toEqual(['--version', 'a b', '']);
  }, 60_000);
});
