/**
 * A real replica process (`node bin/cis490-dashboard.js serve --redis URL`), for cases that kill
 * it. Needs `npm run build:server` first (dist/).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';
import { tempDir } from './tmp.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ReplicaProcess {
  child: ChildProcess;
  url: string;
  exited: Promise<string>;
  /** SIGKILL; resolves once it is gone. */
  kill(): Promise<void>;
  output(): string;
}

export async function startReplicaProcess(
  redisUrl: string,
  extra: string[] = [],
  stateDir: string = tempDir('cis490-replica-'),
): Promise<ReplicaProcess> {
  const child = spawn(
    process.execPath,
    [
      path.join(ROOT, 'bin/cis490-dashboard.js'),
      'serve',
      '--redis',
      redisUrl,
      '--state-dir',
      stateDir,
      '--port',
      '0',
      '--log-level',
      'warn',
      '--web-dir',
      path.join(stateDir, '__no_web__'),
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? String(code))),
  );
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  let output = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    output = (output + chunk).slice(-100_000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      output = (output + chunk).slice(-100_000);
      const m = /serving (http:\/\/\S+)/.exec(output);
      if (m?.[1]) resolve(m[1]);
    });
    void exited.then((how) =>
      reject(new Error(`replica exited (${how}) before serving: ${output.slice(-2000)}`)),
    );
  });
  return {
    child,
    url,
    exited,
    output: () => output,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
