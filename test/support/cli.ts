import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

/** The real CLI, as users run it. */
export const BIN = fileURLToPath(new URL('../../bin/cis490-dashboard.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to its end as a child process (logs silent unless `env` says otherwise). */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  /** Run as this user and group id (the test runs as root): what an unprivileged user meets. */
  as?: number,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, CIS490_LOG_LEVEL: 'silent', ...env },
      ...(as === undefined ? {} : { uid: as, gid: as }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A usage or environment error: exit 2 and exactly one line on stderr, matching `pattern`. */
export function expectUsageError(r: CliResult, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
}
