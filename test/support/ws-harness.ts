import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { onTestFinished } from 'vitest';
import { type ClientOptions, WebSocket } from 'ws';
import { Bus } from '../../src/bus/bus.js';
import { WsHub, type WsHubOptions } from '../../src/bus/ws-hub.js';
import type {
  AlertEvent,
  DashboardState,
  ServerMessage,
  UnsequencedEvent,
} from '../../src/protocol/index.js';
import { applyEvent } from '../../src/protocol/reduce.js';
import { silentLogger } from '../../src/util/log.js';

/**
 * Test fixtures for the hub: a real http server on port 0 routing upgrades to a WsHub, and a
 * real `ws` client that records every message. Everything is closed when the test finishes.
 */
export interface HubFixture {
  bus: Bus;
  hub: WsHub;
  server: http.Server;
  /** ws://127.0.0.1:PORT/ws */
  url: string;
}

export async function startHub(
  opts: Partial<Omit<WsHubOptions, 'bus'>> & { bus?: Bus } = {},
): Promise<HubFixture> {
  const bus = opts.bus ?? new Bus({ logger: silentLogger() });
  const hub = new WsHub({ logger: silentLogger(), closeTimeoutMs: 1000, ...opts, bus });
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) => hub.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    await hub.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return { bus, hub, server, url: `ws://127.0.0.1:${port}/ws` };
}

export interface Closed {
  code: number;
  reason: string;
}

/** A `ws` client recording every server message, in order, from the first one. */
export class TestClient {
  readonly ws: WebSocket;
  readonly messages: ServerMessage[] = [];
  readonly closed: Promise<Closed>;
  readonly opened: Promise<void>;

  constructor(url: string, options?: ClientOptions) {
    this.ws = new WebSocket(url, options);
    this.ws.on('message', (data) => {
      this.messages.push(JSON.parse(String(data)) as ServerMessage);
    });
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`unexpected response ${res.statusCode}`)),
      );
    });
    // Errors after open (resets during close) are expected in some tests; keep them off the process.
    this.ws.on('error', () => {});
    onTestFinished(() => {
      this.ws.terminate();
    });
  }

  static async connect(url: string, options?: ClientOptions): Promise<TestClient> {
    const client = new TestClient(url, options);
    await client.opened;
    return client;
  }

  /** Seq of the newest message received (a hello's seq counts), or null before any. */
  get lastSeq(): number | null {
    const last = this.messages.at(-1);
    return last === undefined ? null : last.seq;
  }

  /** The state a web client would hold: the first hello's state with every later event applied. */
  foldState(): DashboardState {
    let state: DashboardState | null = null;
    for (const message of this.messages) {
      if (message.type === 'hello') state = message.state;
      else if (message.type === 'heartbeat') continue;
      else if (state === null) throw new Error(`event seq ${message.seq} before any hello`);
      else state = applyEvent(state, message);
    }
    if (state === null) throw new Error('no hello received');
    return state;
  }
}

let counter = 0;

/** An alert event to publish; `padding` bytes of detail make it as large as a test needs. */
export function alert(padding = 0): Omit<AlertEvent, 'seq'> {
  counter += 1;
  return {
    type: 'alert',
    host_id: `host-${counter % 7}`,
    symptom: 'disk_full',
    detail: `alert ${counter} ${'x'.repeat(padding)}`,
    suggested_fix: 'free some space',
    detected_at: new Date(1_700_000_000_000 + counter * 1000).toISOString(),
    dedup_key: `k${counter}`,
  };
}

/** An episode event to publish. */
export function episode(): UnsequencedEvent {
  counter += 1;
  return {
    type: 'episode',
    episode_id: `ep-${counter}`,
    host_id: `host-${counter % 5}`,
    sha256: counter.toString(16).padStart(64, '0'),
    size_bytes: 1000 + counter,
    received_at: new Date(1_700_000_000_000 + counter * 1000).toISOString(),
  };
}

/** The seqs of the events (not hellos) in `messages`. */
export function eventSeqs(messages: readonly ServerMessage[]): number[] {
  return messages.flatMap((m) => (m.type === 'hello' || m.type === 'heartbeat' ? [] : [m.seq]));
}

/** [from, from+1, ..., to] */
export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}
