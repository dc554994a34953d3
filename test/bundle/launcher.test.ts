/**
 * bin/cis490-dashboard.js run directly (as npm's link, `npm start` and the README run it): its
 * first line is a shell script that starts Node on the same file with glibc's malloc asked for
 * transparent huge pages. A module preloaded through NODE_OPTIONS reports what the Node process
 * got: its arguments, its GLIBC_TUNABLES, and whether a large fresh allocation came in huge pages.
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

/** The kernel's THP mode (`always`, `madvise`, `never`), or null where it has none. */
function thpMode(): string | null {
  try {
    const text = fs.readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8');
    return /\[(\w+)\]/.exec(text)?.[1] ?? null;
  } catch {
    return null;
  }
}

/**
 * A preload that prints one JSON line on stderr: the process's tunables and arguments, and the
 * AnonHugePages of its memory after it allocated and touched 64 MiB (a zeroed Buffer: calloc,
 * a fresh mmap that glibc advises for huge pages when the tunable is on).
 */
function reporter(dir: string): string {
  const file = path.join(dir, 'report.mjs');
  fs.writeFileSync(
    file,
    `import fs from 'node:fs';
const big = Buffer.alloc(64 << 20);
for (let i = 0; i < big.length; i += 4096) big[i] = 1;
const kb = /AnonHugePages:\\s+(\\d+) kB/.exec(fs.readFileSync('/proc/self/smaps_rollup', 'utf8'));
process.stderr.write(JSON.stringify({ tunables: process.env.GLIBC_TUNABLES ?? null, argv: process.argv.slice(2), hugeKb: Number(kb?.[1] ?? 0), touched: big[4096] }) + '\\n');
`,
  );
  return file;
}

async function report(
  argv: string[],
  env: Record<string, string>,
): Promise<{ stdout: string; seen: { tunables: string | null; argv: string[]; hugeKb: number } }> {
  const dir = tempDir('cis490-launcher-');
  const { stdout, stderr } = await run(argv[0] as string, argv.slice(1), {
    env: {
      ...process.env,
      // The `node` the shell line starts: this one.
      PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}`,
      NODE_OPTIONS: `--import ${reporter(dir)}`,
      ...env,
    },
  });
  const line = stderr.split('\n').find((l) => l.startsWith('{"tunables"'));
  if (!line) throw new Error(`no report on stderr: ${stderr}`);
  return { stdout, seen: JSON.parse(line) };
}

describe('bin/cis490-dashboard.js run directly', () => {
  it('starts Node on itself with the huge-page tunable added to the caller’s, every argument intact', async () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
      version: string;
    };
    const plain = await report([BIN, '--version'], { GLIBC_TUNABLES: '' });
    expect(plain.stdout.trim()).toBe(version);
    expect(plain.seen.tunables).toBe('glibc.malloc.hugetlb=1');
    expect(plain.seen.argv).toEqual(['--version']);

    const kept = await report([BIN, '--version', 'a b', ''], {
      GLIBC_TUNABLES: 'glibc.malloc.arena_max=4',
    });
    expect(kept.seen.tunables).toBe('glibc.malloc.arena_max=4:glibc.malloc.hugetlb=1');
    expect(kept.seen.argv).toEqual(['--version', 'a b', '']);
  }, 60_000);

  it('gets its large allocations in huge pages where the kernel offers them on request', async (ctx) => {
    const mode = thpMode();
    if (mode !== 'madvise' && mode !== 'always') ctx.skip(`this kernel's THP mode is ${mode ?? 'absent'}`);
    const direct = await report([BIN, '--version'], { GLIBC_TUNABLES: '' });
    expect(direct.seen.hugeKb).toBeGreaterThanOrEqual(2048);
    if (mode === 'madvise') {
      // Through `node` the shell line is a comment: no tunable, so no huge pages in this mode.
      const viaNode = await report([process.execPath, BIN, '--version'], { GLIBC_TUNABLES: '' });
      expect(viaNode.seen.tunables).toBe('');
      expect(viaNode.seen.hugeKb).toBe(0);
    }
  }, 60_000);
});
