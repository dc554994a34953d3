import http from 'node:http';
import type net from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { startBalancer, UPSTREAM_HEADER } from './balancer.js';

/** A stand-in replica: answers GET with its name, echoes WebSocket messages prefixed with it. */
async function replica(name: string) {
  const server = http.createServer((req, res) => {
    if (req.url === '/private') {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"error":{"code":"unauthorized","message":"no"}}');
      return;
    }
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${name} ${req.method} ${req.url} ${body}`);
    });
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (req.url === '/refused') {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (m) => ws.send(`${name}:${m.toString()}`));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const close = async (): Promise<void> => {
    for (const c of wss.clients) c.terminate();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  onTestFinished(close);
  return { url: `http://127.0.0.1:${port}`, id: `127.0.0.1:${port}`, close };
}

function get(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; body: string; upstream: string | null }> {
  return fetch(url, init).then(async (r) => ({
    status: r.status,
    body: await r.text(),
    upstream: r.headers.get(UPSTREAM_HEADER),
  }));
}

function openWs(url: string): Promise<{ ws: WebSocket; upstream: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    let upstream = '';
    ws.once('upgrade', (res) => {
      upstream = String(res.headers[UPSTREAM_HEADER] ?? '');
    });
    ws.once('open', () => resolve({ ws, upstream }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

const echo = (ws: WebSocket, text: string): Promise<string> =>
  new Promise((resolve) => {
    ws.once('message', (m) => resolve(m.toString()));
    ws.send(text);
  });

describe('round-robin balancer', () => {
  it('spreads requests and WebSockets over every replica, in turn, and passes bodies and errors on', async () => {
    const a = await replica('a');
    const b = await replica('b');
    const lb = await startBalancer({ upstreams: [a.url, b.url] });
    onTestFinished(() => lb.close());

    const answers = [await get(`${lb.url}/x?y=1`), await get(`${lb.url}/x?y=1`)];
    expect(answers.map((r) => r.body).sort()).toEqual(['a GET /x?y=1 ', 'b GET /x?y=1 ']);
    expect(new Set(answers.map((r) => r.upstream))).toEqual(new Set([a.id, b.id]));
    const post = await get(`${lb.url}/p`, { method: 'POST', body: 'hello' });
    expect(post.body).toMatch(/^[ab] POST \/p hello$/);
    expect((await get(`${lb.url}/private`)).status).toBe(401);

    const one = await openWs(`${lb.url.replace('http', 'ws')}/ws?since=3`);
    const two = await openWs(`${lb.url.replace('http', 'ws')}/ws?since=3`);
    onTestFinished(() => {
      one.ws.terminate();
      two.ws.terminate();
    });
    expect(new Set([one.upstream, two.upstream])).toEqual(new Set([a.id, b.id]));
    const replies = [await echo(one.ws, 'm1'), await echo(two.ws, 'm2')].sort();
    expect(replies).toEqual(
      [`${one.upstream === a.id ? 'a' : 'b'}:m1`, `${two.upstream === a.id ? 'a' : 'b'}:m2`].sort(),
    );
    await expect(openWs(`${lb.url.replace('http', 'ws')}/refused`)).rejects.toThrow(/403/);
  });

  it('spreads WebSockets evenly whatever requests come between them', async () => {
    const a = await replica('a');
    const b = await replica('b');
    const lb = await startBalancer({ upstreams: [a.url, b.url] });
    onTestFinished(() => lb.close());
    // One request between two viewers, as the demo's simulators post phases meanwhile.
    const viewers: string[] = [];
    for (let i = 0; i < 4; i++) {
      const v = await openWs(`${lb.url.replace('http', 'ws')}/ws`);
      onTestFinished(() => v.ws.terminate());
      viewers.push(v.upstream);
      await get(`${lb.url}/api/phase`, { method: 'POST', body: '{}' });
    }
    expect(viewers.filter((u) => u === a.id).length).toBe(2);
    expect(viewers.filter((u) => u === b.id).length).toBe(2);
  });

  it('skips a dead replica: a viewer whose replica died reconnects to a live one', async () => {
    const a = await replica('a');
    const b = await replica('b');
    const lb = await startBalancer({ upstreams: [a.url, b.url] });
    onTestFinished(() => lb.close());
    const first = await openWs(`${lb.url.replace('http', 'ws')}/ws`);
    const victim = first.upstream === a.id ? a : b;
    const survivor = victim === a ? b : a;
    const closed = new Promise<void>((resolve) => first.ws.once('close', () => resolve()));
    await victim.close();
    // The viewer sees the close (its replica is gone) ...
    await closed;
    // ... and every reconnect and request lands on the survivor, whatever the turn.
    for (let i = 0; i < 3; i++) {
      const again = await openWs(`${lb.url.replace('http', 'ws')}/ws`);
      expect(again.upstream).toBe(survivor.id);
      again.ws.terminate();
      expect((await get(`${lb.url}/x`)).upstream).toBe(survivor.id);
    }
  });
});
