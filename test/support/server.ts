import path from 'node:path';
import { onTestFinished } from 'vitest';
import WebSocket from 'ws';
import type { DashboardEvent, ServerMessage } from '../../src/protocol/index.js';
import type { RunningServer, ServerConfig, StartServerExtras } from '../../src/server.js';
import { startServer } from '../../src/server.js';
import { tempDir } from './tmp.js';

/** A server on port 0 with its own state dir, closed when the test finishes. */
export async function testServer(
  config: Partial<ServerConfig> & { dataRoot: string },
  extras: StartServerExtras = {},
): Promise<RunningServer> {
  const server = await startServer(
    {
      stateDir: path.join(tempDir('cis490-state-'), 'state'),
      port: 0,
      logLevel: 'silent',
      pollInterval: 0.1,
      webDir: path.join(config.dataRoot, '__no_web__'),
      ...config,
    },
    extras,
  );
  onTestFinished(() => server.close());
  return server;
}

/** A WebSocket client that records every message and lets a test wait for one. */
export class TestClient {
  readonly messages: ServerMessage[] = [];
  readonly ws: WebSocket;
  closeCode: number | null = null;
  private waiters: Array<() => void> = [];

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('message', (data) => {
      this.messages.push(JSON.parse(String(data)) as ServerMessage);
      this.wake();
    });
    this.ws.on('close', (code) => {
      this.closeCode = code;
      this.wake();
    });
    this.ws.on('error', () => this.wake());
    onTestFinished(() => this.ws.terminate());
  }

  static connect(server: { url: string }, query = ''): TestClient {
    return new TestClient(`${server.url.replace(/^http/, 'ws')}/ws${query}`);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves with the first recorded message matching, waiting as long as needed (the test timeout bounds it). */
  async waitFor<T extends ServerMessage>(pred: (m: ServerMessage) => m is T): Promise<T>;
  async waitFor(pred: (m: ServerMessage) => boolean): Promise<ServerMessage>;
  async waitFor(pred: (m: ServerMessage) => boolean): Promise<ServerMessage> {
    for (;;) {
      const found = this.messages.find(pred);
      if (found) return found;
      if (this.closeCode !== null)
        throw new Error(`socket closed (${this.closeCode}) before the message arrived`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Waits until the socket closes; resolves with the code. */
  async closed(): Promise<number> {
    while (this.closeCode === null) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.closeCode;
  }

  events(): DashboardEvent[] {
    return this.messages.filter((m): m is DashboardEvent => m.type !== 'hello' && m.type !== 'heartbeat');
  }
}

export async function getJson<T = unknown>(
  server: { url: string },
  pathname: string,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${server.url}${pathname}`);
  return { status: res.status, body: (await res.json()) as T };
}

/** Polls /readyz until 200 (a test's timeout bounds it). */
export async function waitReady(server: RunningServer): Promise<void> {
  await server.pipeline.whenReady();
}
