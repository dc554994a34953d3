import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { WebSocketServer, WebSocket as WsClient } from 'ws';
import { type DashboardEvent, emptyState, type HelloMessage } from '../../protocol/index.js';
import type { ConnectionStatus } from './source.js';
import { webSocketSource } from './ws-source.js';

/** A scripted /ws server on a real socket: records each connection's URL, lets the test talk back. */
async function fakeServer() {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const urls: string[] = [];
  const sockets: import('ws').WebSocket[] = [];
  wss.on('connection', (ws, req) => {
    urls.push(req.url ?? '');
    sockets.push(ws);
  });
  onTestFinished(() => new Promise<void>((r) => wss.close(() => r())));
  const { port } = wss.address() as AddressInfo;
  return { url: `ws://127.0.0.1:${port}/ws`, urls, sockets, wss };
}

const hello = (seq: number, epoch: string, total: number): HelloMessage => ({
  type: 'hello',
  epoch,
  seq,
  state: { ...emptyState(), total_episodes: total },
});
const ready = (seq: number): DashboardEvent => ({ type: 'ready', seq, ready: true });

function record() {
  const hellos: HelloMessage[] = [];
  const events: DashboardEvent[] = [];
  const statuses: ConnectionStatus[] = [];
  return {
    hellos,
    events,
    statuses,
    listener: {
      hello: (m: HelloMessage) => hellos.push(m),
      event: (e: DashboardEvent) => events.push(e),
      status: (s: ConnectionStatus) => statuses.push(s),
    },
  };
}

describe('webSocketSource', () => {
  it('resumes with ?since=<last seq>&epoch= after the server drops it, and skips duplicates', async () => {
    const server = await fakeServer();
    const rec = record();
    const stop = webSocketSource({
      url: server.url,
      WebSocketImpl: WsClient as unknown as typeof WebSocket,
      baseDelayMs: 20,
      maxDelayMs: 50,
    }).start(rec.listener);
    onTestFinished(stop);

    await vi.waitFor(() => expect(server.sockets.length).toBe(1));
    expect(server.urls[0]).toBe('/ws');
    server.sockets[0]?.send(JSON.stringify(hello(7, 'E1', 3)));
    server.sockets[0]?.send(JSON.stringify(ready(8)));
    await vi.waitFor(() => expect(rec.events.map((e) => e.seq)).toEqual([8]));
    server.sockets[0]?.close(1001, 'going away');

    await vi.waitFor(() => expect(server.sockets.length).toBe(2));
    expect(server.urls[1]).toBe('/ws?since=8&epoch=E1');
    expect(rec.statuses.some((s) => s.kind === 'reconnecting')).toBe(true);
    // A replay that overlaps what we hold: 8 is dropped, 9 applies.
    server.sockets[1]?.send(JSON.stringify(ready(8)));
    server.sockets[1]?.send(JSON.stringify(ready(9)));
    await vi.waitFor(() => expect(rec.events.map((e) => e.seq)).toEqual([8, 9]));
    expect(rec.statuses.at(-1)?.kind).toBe('connected');
  });

  it('reconnects on a gap instead of applying an event it cannot place', async () => {
    const server = await fakeServer();
    const rec = record();
    const stop = webSocketSource({
      url: server.url,
      WebSocketImpl: WsClient as unknown as typeof WebSocket,
      baseDelayMs: 20,
    }).start(rec.listener);
    onTestFinished(stop);
    await vi.waitFor(() => expect(server.sockets.length).toBe(1));
    server.sockets[0]?.send(JSON.stringify(hello(1, 'E', 0)));
    server.sockets[0]?.send(JSON.stringify(ready(5)));
    await vi.waitFor(() => expect(server.sockets.length).toBe(2));
    expect(server.urls[1]).toBe('/ws?since=1&epoch=E');
    expect(rec.events).toEqual([]);
    // The answer to a resume from another epoch is a fresh hello, which replaces.
    server.sockets[1]?.send(JSON.stringify({ ...hello(40, 'F', 9), reset: true }));
    await vi.waitFor(() => expect(rec.hellos.map((h) => h.epoch)).toEqual(['E', 'F']));
  });

  it('stops retrying and says so when the server refuses the token (4001)', async () => {
    const server = await fakeServer();
    const rec = record();
    const stop = webSocketSource({
      url: server.url,
      WebSocketImpl: WsClient as unknown as typeof WebSocket,
      baseDelayMs: 20,
    }).start(rec.listener);
    onTestFinished(stop);
    await vi.waitFor(() => expect(server.sockets.length).toBe(1));
    server.sockets[0]?.close(4001, 'unauthorized');
    await vi.waitFor(() => expect(rec.statuses.at(-1)?.kind).toBe('offline'));
    expect(server.sockets.length).toBe(1);
  });
});
