import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

/** The real CLI, as users run it. */
export const BIN = fileURLToPath(new URL('../../bin/cis490-dashboard.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * A run that should end but has not by then is killed and fails the test. Without it a command
 * that waits (a `serve` whose data root a timed-out test's cleanup had removed) outlived the test
 * run by hours.
 */
const CLI_RUN_LIMIT_MS = 120_000;

/** Runs not ended yet: killed if this test process exits first (its timers then never fire). */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

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
    const limit = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cis490-dashboard ${args.join(' ')} did not end within ${CLI_RUN_LIMIT_MS / 1000} s`));
    }, CLI_RUN_LIMIT_MS);
    limit.unref();
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (err) => {
      running.delete(child);
      clearTimeout(limit);
      reject(err);
    });
    child.on('close', (code) => {
      running.delete(child);
      clearTimeout(limit);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A usage or environment error: exit 2 and exactly one line on stderr, matching `pattern`. */
export function expectUsageError(r: CliResult, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
}
