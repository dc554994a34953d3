import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** One tool the suite runs, and the Debian package that brings it. */
export interface Requirement {
  /** What is missing, as the line names it. */
  name: string;
  /** Debian package for `apt-get install`. */
  pkg: string;
  /** An absolute path to check, or a command looked up on PATH. */
  find: () => string | null;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `command -v NAME` without a shell. */
export function onPath(name: string, envPath = process.env.PATH ?? ''): string | null {
  for (const dir of envPath.split(path.delimiter)) {
    if (dir === '') continue;
    const file = path.join(dir, name);
    if (executable(file)) return file;
  }
  return null;
}

const command = (name: string, pkg: string): Requirement => ({ name, pkg, find: () => onPath(name) });

/** What `npm test` needs beyond Node: the browser tests, tarball tests, scale-out and Prometheus tests. */
export function requirements(env: NodeJS.ProcessEnv = process.env): Requirement[] {
  const chromium = env.CHROMIUM_PATH || '/usr/bin/chromium';
  return [
    {
      name: env.CHROMIUM_PATH ? `chromium (CHROMIUM_PATH=${chromium})` : 'chromium (/usr/bin/chromium)',
      pkg: 'chromium',
      find: () => (executable(chromium) ? chromium : null),
    },
    command('zstd', 'zstd'),
    // The README's Python example and the foreign-data test (bench/foreign-root.py) run it.
    command('python3', 'python3'),
    command('tar', 'tar'),
    command('redis-server', 'redis-server'),
    command('promtool', 'prometheus'),
    command('prometheus', 'prometheus'),
  ];
}

/** One line naming what is missing and the install that brings it; null when nothing is. */
export function preflightMessage(reqs: readonly Requirement[]): string | null {
  const missing = reqs.filter((r) => r.find() === null);
  if (missing.length === 0) return null;
  const pkgs = [...new Set(missing.map((r) => r.pkg))].join(' ');
  return `npm test: missing ${missing.map((r) => r.name).join(', ')}; install with: sudo apt-get install -y ${pkgs}`;
}

/**
 * Vitest global setup, run first: stop at once, in one line, when a tool the suite runs is
 * missing, instead of a browser launch stack trace minutes later.
 */
export default function setup(): void {
  const message = preflightMessage(requirements());
  if (message === null) return;
  process.stderr.write(`${message}\n`);
  process.exit(2);
}
