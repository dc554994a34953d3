/**
 * `demo --cluster` as a child process, for tests: the real CLI, its printed URL and children
 * (Redis, agents, replicas with their pids and URLs), and a Ctrl-C that resolves with the exit code.
 */
import { spawn } from 'node:child_process';
import { onTestFinished } from 'vitest';
import { BIN } from './cli.js';

export interface ClusterChildInfo {
  role: string;
  name: string;
  pid: number;
  url: string;
}

export interface RunningClusterDemo {
  pid: number;
  url: string;
  children: ClusterChildInfo[];
  /** Everything it printed on stderr so far. */
  stderr(): string;
  /** SIGINT (Ctrl-C); resolves with the exit code once its output is closed. */
  interrupt(): Promise<number | null>;
}

export async function startClusterDemo(args: string[] = []): Promise<RunningClusterDemo> {
  const demo = spawn(process.execPath, [BIN, 'demo', '--cluster', '--port', '0', ...args], {
    env: { ...process.env, CIS490_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const closed = new Promise<number | null>((resolve) => demo.once('close', (code) => resolve(code)));
  // Its children run detached (their own process groups): a demo killed here would leave them.
  let spawned: ClusterChildInfo[] = [];
  onTestFinished(() => {
    if (demo.exitCode === null && demo.signalCode === null) demo.kill('SIGKILL');
    for (const c of spawned) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // Already gone (a clean Ctrl-C stops them all).
      }
    }
  });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    demo.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /demo --cluster: serving (http:\/\/\S+)/.exec(err);
      if (m?.[1]) resolve(m[1]);
    });
    demo.once('exit', (code) => reject(new Error(`demo --cluster exited (${code}) before serving:\n${err}`)));
  });
  const children = [...err.matchAll(/demo --cluster: (redis|agent|replica) (\S+) pid (\d+) (\S+)/g)].map(
    (m) => ({
      role: m[1] ?? '',
      name: m[2] ?? '',
      pid: Number(m[3]),
      url: m[4] ?? '',
    }),
  );
  spawned = children;
  return {
    pid: demo.pid ?? 0,
    url,
    children,
    stderr: () => err,
    interrupt: () => {
      demo.kill('SIGINT');
      return closed;
    },
  };
}
