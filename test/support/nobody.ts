/**
 * Cases about permissions, which do not bind root: the program runs as `nobody` while the suite
 * runs as root (as CI does). Elsewhere (a developer's own user) such a case is not run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { it } from 'vitest';
import { generateDataRoot } from '../../src/generate/generate.js';
import { runCli } from './cli.js';
import { tempDir } from './tmp.js';

export const NOBODY = 65534;
export const RUNS_AS_ROOT = process.getuid?.() === 0;

/** Whether `nobody` can run this checkout's CLI at all (not from under /root, say). */
export async function nobodyCanRun(): Promise<boolean> {
  return (await runCli(['--version'], {}, NOBODY)).code === 0;
}

/**
 * A case run as `nobody`: only where the suite runs as root, and skipped (not failed) where
 * `nobody` cannot run this checkout.
 */
export function itAsNobody(name: string, fn: () => Promise<void>, timeoutMs?: number): void {
  it.runIf(RUNS_AS_ROOT)(
    name,
    async (ctx) => {
      if (!(await nobodyCanRun())) ctx.skip();
      await fn();
    },
    timeoutMs,
  );
}

/**
 * A generated data root of one host and `episodes` tarballs that `nobody` can read, a state dir
 * it may write, and the first tarball's path.
 */
export async function rootForNobody(
  episodes: number,
): Promise<{ root: string; stateDir: string; tarball: string }> {
  const dir = tempDir();
  fs.chmodSync(dir, 0o755);
  const root = path.join(dir, 'root');
  await generateDataRoot({ out: root, hosts: 1, episodes, alerts: 0, telemetryKb: 1, seed: 7 });
  const stateDir = path.join(dir, 'state');
  fs.mkdirSync(stateDir, { mode: 0o777 });
  fs.chmodSync(stateDir, 0o777);
  const host = path.join(root, 'episodes', 'host-01');
  const tarball = path.join(host, fs.readdirSync(host).filter((f) => f.endsWith('.tar.zst'))[0] as string);
  return { root, stateDir: path.join(stateDir, 's'), tarball };
}
