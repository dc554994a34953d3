/**
 * A real `redis-server` for tests (test-only: shipped code never imports this): a free port, its
 * own temp dir, AOF with `appendfsync always`, readiness by PING (never a sleep), and the faults
 * a test needs — SIGKILL, then restart on the same dir and port so clients reconnect to the same URL.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { onTestFinished } from 'vitest';
import { redisServerArgs } from '../../src/scaleout/redis-server-args.js';

export interface RedisServerOptions {
  /** Data dir (AOF); a fresh temp dir, removed by `cleanup()`, when absent. */
  dir?: string;
  /** Extra `--name value` arguments (e.g. `{ maxmemory: '64mb' }`). */
  config?: Record<string, string>;
}

/** A port nothing listens on right now (bound and released on 127.0.0.1). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** One PING on a fresh connection: resolves with the first reply line (`+PONG`, `-LOADING ...`). */
function ping(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buffered = '';
    socket.once('error', reject);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      const end = buffered.indexOf('\r\n');
      if (end === -1) return;
      socket.destroy();
      resolve(buffered.slice(0, end));
    });
  });
}

export class RedisServer {
  readonly port: number;
  readonly dir: string;
  readonly #ownsDir: boolean;
  readonly #config: Record<string, string>;
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  /** Everything the server printed, for a failing test's message. */
  output = '';

  private constructor(port: number, dir: string, ownsDir: boolean, config: Record<string, string>) {
    this.port = port;
    this.dir = dir;
    this.#ownsDir = ownsDir;
    this.#config = config;
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cis490-redis-'));
    const server = new RedisServer(await freePort(), dir, options.dir === undefined, options.config ?? {});
    await server.#spawn();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== null;
  }

  async #spawn(): Promise<void> {
    const args = redisServerArgs(this.port, this.dir);
    for (const [name, value] of Object.entries(this.#config)) args.push(`--${name}`, value);
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    void this.#exited.then(() => {
      if (this.#child === child) this.#child = null;
    });
    let printed = '';
    const ready = new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        printed += chunk.toString('utf8');
        this.output += chunk.toString('utf8');
        if (printed.includes('Ready to accept connections')) resolve();
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('error', (err) =>
        reject(
          (err as NodeJS.ErrnoException).code === 'ENOENT'
            ? new Error('redis-server is not on PATH: install the Debian package redis-server')
            : err,
        ),
      );
      child.once('exit', (code, signal) =>
        reject(new Error(`redis-server exited before ready (code ${code}, signal ${signal}):\n${printed}`)),
      );
    });
    await ready;
    // The log line says the listener is up; PING says it answers commands (not -LOADING).
    for (;;) {
      const reply = await ping(this.port);
      // Up: a PONG, or a refusal to answer before AUTH (a server started with `requirepass`).
      if (reply === '+PONG' || reply.startsWith('-NOAUTH')) return;
      if (!reply.startsWith('-LOADING')) throw new Error(`redis-server answered PING with ${reply}`);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** SIGKILL: no shutdown save, no goodbye to clients; resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    child.kill('SIGKILL');
    await this.#exited;
  }

  /** SIGTERM (a clean shutdown, AOF flushed); resolves once the process is gone. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    child.kill('SIGTERM');
    await this.#exited;
  }

  /** Starts again on the same dir and port (after `kill()` or `stop()`), ready when it returns. */
  async restart(): Promise<void> {
    if (this.#child) throw new Error('redis-server is still running');
    await this.#spawn();
  }

  /** Stops the server (SIGKILL) and removes the temp dir it created. */
  async cleanup(): Promise<void> {
    await this.kill();
    if (this.#ownsDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A `RedisServer` stopped and cleaned up when the current test finishes. Call inside a test. */
export async function redisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const server = await RedisServer.start(options);
  onTestFinished(() => server.cleanup());
  return server;
}
