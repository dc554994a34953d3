/**
 * The real CLI server as a child process (`node bin/cis490-dashboard.js serve ...`), for cases
 * that kill it: its URL comes from its "serving" line, its peak RSS from /proc.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';
import { tempDir } from '../support/tmp.js';
import { peakRss } from './support.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ChildServer {
  child: ChildProcess;
  url: string;
  /** Resolves with the exit code or signal once the process is gone. */
  exited: Promise<string>;
  /** SIGKILL; resolves once it is gone. Returns the peak RSS (VmHWM) read just before. */
  kill(): Promise<number | null>;
  peakRss(): number | null;
  /** The tail of what it wrote (log lines, the serving line), for failure messages. */
  stderr(): string;
}

export async function startChildServer(args: {
  dataRoot: string;
  /** Null: no --state-dir, the default one for the data root (under `env.XDG_STATE_HOME`). */
  stateDir: string | null;
  extra?: string[];
  env?: NodeJS.ProcessEnv;
  /** Run as this user and group id (the suite runs as root): what an unprivileged server meets. */
  uid?: number;
}): Promise<ChildServer> {
  const child = spawn(
    process.execPath,
    [
      path.join(ROOT, 'bin/cis490-dashboard.js'),
      'serve',
      '--data-root',
      args.dataRoot,
      ...(args.stateDir === null ? [] : ['--state-dir', args.stateDir]),
      '--port',
      '0',
      '--poll-interval',
      '0.1',
      '--log-level',
      'warn',
      '--web-dir',
      // An empty folder: no web app (the API alone), outside the data root.
      tempDir('cis490-no-web-'),
      ...(args.extra ?? []),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...args.env },
      ...(args.uid === undefined ? {} : { uid: args.uid, gid: args.uid }),
    },
  );
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? String(code))),
  );
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  // Logs (pino, JSON lines) go to stdout; kept with stderr for failure messages.
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-100_000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-100_000);
      const m = /serving (http:\/\/\S+)/.exec(stderr);
      if (m?.[1]) resolve(m[1]);
    });
    void exited.then((how) =>
      reject(new Error(`server exited (${how}) before serving: ${stderr.slice(-2000)}`)),
    );
  });
  const pid = child.pid as number;
  return {
    child,
    url,
    exited,
    peakRss: () => peakRss(pid),
    stderr: () => stderr,
    async kill() {
      const peak = peakRss(pid);
      child.kill('SIGKILL');
      await exited;
      return peak;
    },
  };
}
