/**
 * A small round-robin HTTP + WebSocket balancer over dashboard replicas, for `demo --cluster`
 * and the scale-out benchmark (production uses nginx: deploy/nginx-replicas.conf, same policy).
 * No stickiness: each request goes to the next replica in turn, and each WebSocket to the next in
 * a turn of their own (so the requests between two viewers never put both on one replica); a replica that
 * refuses the connection is skipped (the next one is tried, up to all of them), so a viewer whose
 * replica died reconnects through here to a live one and resumes with `?since=&epoch=`. Every
 * answer carries `x-cis490-upstream: <host:port>` (the 101 of a WebSocket too), which the tests
 * and the benchmark read to see which replica served them.
 */
import http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';

export const UPSTREAM_HEADER = 'x-cis490-upstream';

export interface BalancerOptions {
  /** Replica base URLs (`http://127.0.0.1:8491`). */
  upstreams: readonly string[];
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 0 */
  port?: number;
}

export interface RunningBalancer {
  url: string;
  /** How many requests and WebSockets each upstream was given (by `host:port`). */
  served(): Record<string, number>;
  close(): Promise<void>;
}

interface Upstream {
  hostname: string;
  port: number;
  id: string;
}

/** Hop-by-hop headers a proxy must not forward (RFC 9110 §7.6.1); `upgrade` is re-added for WebSockets. */
const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
]);

function forwardHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP.has(k)) out[k] = v;
  return out;
}

function rawHead(
  status: number,
  message: string,
  headers: http.IncomingHttpHeaders,
  extra: [string, string][],
): string {
  const lines = [`HTTP/1.1 ${status} ${message}`];
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${one}`);
  }
  for (const [k, v] of extra) lines.push(`${k}: ${v}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

export async function startBalancer(o: BalancerOptions): Promise<RunningBalancer> {
  if (o.upstreams.length === 0) throw new Error('a balancer needs at least one upstream');
  const upstreams: Upstream[] = o.upstreams.map((u) => {
    const url = new URL(u);
    const port = Number(url.port || 80);
    return { hostname: url.hostname, port, id: `${url.hostname}:${port}` };
  });
  const counts: Record<string, number> = Object.fromEntries(upstreams.map((u) => [u.id, 0]));
  /**
   * The upstreams in the order to try for one request: the next in `turn`, then the others.
   * WebSockets and plain requests take turns separately: with one turn for both, the requests
   * between two viewers' upgrades (the demo's simulators post phases through here several times a
   * second) decided where the viewers went, and four viewers in a row could all land on one replica.
   */
  const inTurn = (turn: { next: number }): Upstream[] => {
    const start = turn.next;
    turn.next = (turn.next + 1) % upstreams.length;
    return upstreams.map((_, i) => upstreams[(start + i) % upstreams.length] as Upstream);
  };
  const requestTurn = { next: 0 };
  const socketTurn = { next: 0 };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const sockets = new Set<Duplex>();
  const track = (s: Duplex): void => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };

  const proxyHttp = (req: http.IncomingMessage, res: http.ServerResponse, tries: Upstream[]): void => {
    const up = tries[0];
    if (up === undefined) {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'no_replica', message: 'no replica answered' } }));
      return;
    }
    // Only a request with no body can be sent again to the next replica.
    const retryable = req.method === 'GET' || req.method === 'HEAD';
    const out = http.request(
      {
        hostname: up.hostname,
        port: up.port,
        method: req.method,
        path: req.url,
        headers: forwardHeaders(req.headers),
        agent,
      },
      (upRes) => {
        counts[up.id] = (counts[up.id] ?? 0) + 1;
        const headers = forwardHeaders(upRes.headers);
        headers[UPSTREAM_HEADER] = up.id;
        res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, headers);
        upRes.pipe(res);
        res.once('close', () => upRes.destroy());
      },
    );
    out.once('error', (err: NodeJS.ErrnoException) => {
      if (!res.headersSent && retryable && (err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET')) {
        proxyHttp(req, res, tries.slice(1));
        return;
      }
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ error: { code: 'replica_failed', message: `replica ${up.id}: ${err.code}` } }),
        );
      } else res.destroy();
    });
    if (retryable) out.end();
    else req.pipe(out);
  };

  const proxyUpgrade = (req: http.IncomingMessage, client: Duplex, head: Buffer, tries: Upstream[]): void => {
    const up = tries[0];
    if (up === undefined) {
      client.end('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      return;
    }
    const out = http.request({
      hostname: up.hostname,
      port: up.port,
      method: req.method,
      path: req.url,
      headers: {
        ...forwardHeaders(req.headers),
        connection: 'Upgrade',
        upgrade: req.headers.upgrade ?? 'websocket',
      },
    });
    out.once('upgrade', (upRes, upSocket: net.Socket, upHead) => {
      counts[up.id] = (counts[up.id] ?? 0) + 1;
      track(upSocket);
      client.write(
        rawHead(101, upRes.statusMessage ?? 'Switching Protocols', upRes.headers, [[UPSTREAM_HEADER, up.id]]),
      );
      if (upHead.length > 0) client.write(upHead);
      if (head.length > 0) upSocket.write(head);
      upSocket.pipe(client);
      client.pipe(upSocket);
      // Either side going away ends the other: a viewer sees its replica's death as a close.
      const end = (): void => {
        upSocket.destroy();
        client.destroy();
      };
      upSocket.once('close', end);
      client.once('close', end);
      upSocket.once('error', end);
      client.once('error', end);
    });
    out.once('response', (upRes) => {
      // Refused upgrade (401, 403, 4xx JSON): passed on as it is.
      counts[up.id] = (counts[up.id] ?? 0) + 1;
      client.write(
        rawHead(upRes.statusCode ?? 502, upRes.statusMessage ?? '', upRes.headers, [
          [UPSTREAM_HEADER, up.id],
        ]),
      );
      upRes.pipe(client);
    });
    out.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET')
        proxyUpgrade(req, client, head, tries.slice(1));
      else client.destroy();
    });
    out.end();
  };

  const server = http.createServer((req, res) => proxyHttp(req, res, inTurn(requestTurn)));
  server.on('upgrade', (req, socket, head) => {
    track(socket);
    socket.on('error', () => socket.destroy());
    proxyUpgrade(req, socket, head, inTurn(socketTurn));
  });
  server.on('connection', track);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as net.AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    served: () => ({ ...counts }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        agent.destroy();
      }),
  };
}
