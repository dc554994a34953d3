/**
 * Real scale-out processes from the built CLI (`npm run build:server` first): a replica
 * (`serve --redis URL`) or an agent, for cases that kill them or run them end to end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { onTestFinished, vi } from 'vitest';
import { type GenerateOptions, generateDataRoot } from '../../src/generate/generate.js';
import { BIN } from './cli.js';
import { tempDir } from './tmp.js';

export interface CliProcess {
  child: ChildProcess;
  /** The URL of its "serving http://…" line. */
  url: string;
  exited: Promise<string>;
  /** SIGKILL; resolves once it is gone. */
  kill(): Promise<void>;
  output(): string;
}

/** Runs `cis490-dashboard ARGS` until it prints "serving URL" (killed when the test ends). */
export async function startCliProcess(args: string[]): Promise<CliProcess> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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
      reject(new Error(`${args[0]} exited (${how}) before serving: ${output.slice(-2000)}`)),
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

/**
 * `serve` (info logs, port 0) on a root generated into a temp dir, with a state dir of its own:
 * the process, the root, the state dir, and when it was spawned (`performance.now()`).
 */
export async function startServeOnGeneratedRoot(
  spec: Omit<GenerateOptions, 'out'>,
): Promise<{ serve: CliProcess; root: string; stateDir: string; spawnedAt: number }> {
  const tmp = tempDir();
  const root = path.join(tmp, 'root');
  await generateDataRoot({ ...spec, out: root });
  const stateDir = path.join(tmp, 'state');
  const spawnedAt = performance.now();
  const serve = await startCliProcess([
    'serve',
    '--data-root',
    root,
    '--state-dir',
    stateDir,
    '--port',
    '0',
    '--log-level',
    'info',
  ]);
  return { serve, root, stateDir, spawnedAt };
}

/**
 * The first of `proc`'s JSON log lines whose `msg` is `msg`, parsed: waited for (the output so far,
 * then as it comes) up to `timeoutMs`.
 */
export function logLineOf<T>(proc: CliProcess, msg: string, timeoutMs = 30_000): Promise<T> {
  const marker = `"msg":${JSON.stringify(msg)}`;
  return vi.waitFor(
    () => {
      const line = proc
        .output()
        .split('\n')
        .find((l) => l.includes(marker));
      if (!line) throw new Error(`no ${JSON.stringify(msg)} line yet: ${proc.output().slice(-500)}`);
      return JSON.parse(line) as T;
    },
    { timeout: timeoutMs, interval: 50 },
  );
}

/** A replica process with its own state dir. */
export function startReplicaProcess(
  redisUrl: string,
  extra: string[] = [],
  stateDir: string = tempDir('cis490-replica-'),
): Promise<CliProcess> {
  return startCliProcess([
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
    // An empty folder: no web app (the API alone).
    tempDir('cis490-no-web-'),
    ...extra,
  ]);
}

/** An agent process for one receiver's data root (HTTP on a free port). */
export function startAgentProcess(redisUrl: string, dataRoot: string, receiver: string): Promise<CliProcess> {
  return startCliProcess([
    'agent',
    '--data-root',
    dataRoot,
    '--redis',
    redisUrl,
    '--receiver',
    receiver,
    '--state-dir',
    tempDir('cis490-agent-'),
    '--listen',
    '127.0.0.1:0',
    '--log-level',
    'warn',
    '--poll-interval',
    '0.1',
  ]);
}
