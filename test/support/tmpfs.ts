import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { onTestFinished } from 'vitest';

/**
 * Mounts a tmpfs of `sizeKib` at `dir` (made if absent) and unmounts it when the test finishes;
 * false where mounting is not permitted (not root, or no CAP_SYS_ADMIN): the caller skips. A real
 * small file system is the only honest way to test a full or read-only disk: root ignores chmod.
 */
export function mountTmpfs(dir: string, sizeKib: number, readOnly = false): boolean {
  fs.mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKib}k${readOnly ? ',ro' : ''}`, 'tmpfs', dir], {
      stdio: 'ignore',
    });
  } catch {
    return false;
  }
  // Lazy: a child process killed a moment ago may still hold a file open in it.
  onTestFinished(() => {
    execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
  });
  return true;
}

/** Bytes a non-root writer could still write in the file system holding `dir`. */
export function freeBytes(dir: string): number {
  const st = fs.statfsSync(dir);
  return st.bavail * st.bsize;
}

/** Fills the file system holding `dir` until `leaveBytes` are free; returns the filler's path. */
export function fillUntil(dir: string, leaveBytes: number): string {
  const filler = `${dir}/filler`;
  fs.writeFileSync(filler, Buffer.alloc(Math.max(0, freeBytes(dir) - leaveBytes)));
  return filler;
}
