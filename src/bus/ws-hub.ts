import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import {
  type AgentStatus,
  CLOSE_GOING_AWAY,
  CLOSE_SLOW_CLIENT,
  CLOSE_UNAUTHORIZED,
  type DashboardEvent,
  type HeartbeatMessage,
} from '../protocol/index.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { PEER_GRACE_MS } from '../util/stop-budget.js';
import type { LiveFeed, ResumeResult } from './bus.js';
import { serialise } from './event-log.js';
import { parseWsRequest, requestPath } from './ws-query.js';

export interface WsHubOptions {
  bus: LiveFeed;
  logger: Logger;
  /**
   * A client whose unsent bytes exceed this is closed with CLOSE_SLOW_CLIENT (4000); it may
   * resume with `?since=`. Bounds the memory one client can hold. @default 1 MiB
   */
  queueCapBytes?: number;
  /**
   * Ping period. A peer that has answered nothing (pong or message) for two periods plus
   * `deadPeerGraceMs` is terminated at the next ping tick. @default 25,000
   */
  pingIntervalMs?: number;
  /** Extra silence tolerated on top of two ping periods (slow links). @default 10,000 */
  deadPeerGraceMs?: number;
  /**
   * False → the socket is upgraded and then closed with CLOSE_UNAUTHORIZED (4001), which a
   * browser can see and act on (a refused upgrade shows it only a generic failure).
   */
  authorize?(req: IncomingMessage): boolean;
  /** False → HTTP 403 on the upgrade (cross-site WebSocket hijacking). */
  checkOrigin?(origin: string | undefined, req: IncomingMessage): boolean;
  /** Inbound message limit; clients send nothing meaningful. @default 4 KiB */
  maxPayload?: number;
  /** Upgrades on any other path get a 404. @default '/ws' */
  path?: string;
  /** How long `close()` waits for peers to answer the close frame before terminating them. @default PEER_GRACE_MS (3,000) */
  closeTimeoutMs?: number;
  /**
   * Period of the `heartbeat` message every live client gets (announced in the hello as
   * `heartbeat_ms`), so a browser can tell a frozen server from a quiet one. 0 = none. @default 0
   */
  heartbeatIntervalMs?: number;
  /**
   * A replica's receivers' agents (`HeartbeatMessage.agents`), sent with every heartbeat and once
   * right after each hello. Absent on a single box.
   */
  agents?(): Record<string, AgentStatus>;
  /**
   * Called once per event with the seconds from its append to the bus to its send to every live
   * client (the `/metrics` latency histogram).
   */
  observeSendLatency?(seconds: number): void;
}

export interface WsHubStats {
  clients: number;
  messages_sent_total: number;
  bytes_sent_total: number;
  slow_closed_total: number;
  dead_dropped_total: number;
  connections_total: number;
  resumes_total: number;
  resets_total: number;
  unauthorized_total: number;
}

export const SLOW_CLIENT_REASON = 'slow client: resume with ?since=';

interface Client {
  readonly ws: WebSocket;
  readonly remote: string | undefined;
  /**
   * performance.now() of the last pong or message from the peer (or of the connection):
   * monotonic, so a wall-clock step cannot make live peers look dead.
   */
  lastHeard: number;
}

/** Text frames share one Buffer across clients: ws frames it without copying or re-encoding. */
const TEXT = { binary: false } as const;

/**
 * The WebSocket side of the bus (DESIGN §2): one subscriber to the bus that fans every event out
 * to the connected clients. Each event is serialised once per publish; with no client connected
 * the subscriber returns at once, so the bus costs only its log append.
 */
export class WsHub {
  readonly #bus: LiveFeed;
  readonly #logger: Logger;
  readonly #wss: WebSocketServer;
  readonly #queueCap: number;
  readonly #pingIntervalMs: number;
  readonly #deadAfterMs: number;
  readonly #closeTimeoutMs: number;
  readonly #path: string;
  readonly #authorize: ((req: IncomingMessage) => boolean) | undefined;
  readonly #checkOrigin: ((origin: string | undefined, req: IncomingMessage) => boolean) | undefined;
  /** Clients that receive live events. */
  readonly #live = new Set<Client>();
  /** Clients waiting for an asynchronous resume, with the events published meanwhile. */
  readonly #parked = new Map<Client, DashboardEvent[]>();
  /** Every socket not yet closed, live or being closed; `close()` waits for these. */
  readonly #open = new Map<WebSocket, Promise<void>>();
  readonly #unsubscribe: () => void;
  readonly #pingTimer: NodeJS.Timeout;
  readonly #heartbeatMs: number;
  readonly #agents: (() => Record<string, AgentStatus>) | undefined;
  readonly #beatTimer: NodeJS.Timeout | null;
  #closing = false;
  /** Serialised events published this event-loop turn, not yet written (see `#flush`). */
  #pending: Buffer[] = [];
  /** performance.now() of each pending event's publish, in step with `#pending`. */
  #pendingAt: number[] = [];
  readonly #observeSendLatency: ((seconds: number) => void) | undefined;
  #flushScheduled = false;
  /** The last hello sent, reused while the seq has not moved (a reconnect storm serialises it once). */
  #helloCache: { epoch: string; seq: number; reset: boolean; data: Buffer } | null = null;
  readonly #counters = {
    messages_sent_total: 0,
    bytes_sent_total: 0,
    slow_closed_total: 0,
    dead_dropped_total: 0,
    connections_total: 0,
    resumes_total: 0,
    resets_total: 0,
    unauthorized_total: 0,
  };

  constructor(o: WsHubOptions) {
    this.#bus = o.bus;
    this.#logger = o.logger;
    this.#queueCap = o.queueCapBytes ?? 1024 * 1024;
    this.#pingIntervalMs = o.pingIntervalMs ?? 25_000;
    this.#deadAfterMs = 2 * this.#pingIntervalMs + (o.deadPeerGraceMs ?? 10_000);
    this.#closeTimeoutMs = o.closeTimeoutMs ?? PEER_GRACE_MS;
    this.#path = o.path ?? '/ws';
    this.#authorize = o.authorize;
    this.#checkOrigin = o.checkOrigin;
    this.#observeSendLatency = o.observeSendLatency;
    // perMessageDeflate off: compressing per client would defeat serialising once per publish.
    this.#wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: o.maxPayload ?? 4096,
    });
    this.#unsubscribe = this.#bus.subscribe((event) => this.#broadcast(event));
    this.#pingTimer = setInterval(() => this.#heartbeat(), this.#pingIntervalMs);
    // The ping timer alone must not keep a process (or a test worker) alive.
    this.#pingTimer.unref();
    this.#heartbeatMs = o.heartbeatIntervalMs ?? 0;
    this.#agents = o.agents;
    this.#beatTimer = this.#heartbeatMs > 0 ? setInterval(() => this.#beat(), this.#heartbeatMs) : null;
    this.#beatTimer?.unref();
  }

  /** Clients currently receiving live events. */
  get clientCount(): number {
    return this.#live.size;
  }

  stats(): WsHubStats {
    return { clients: this.#live.size, ...this.#counters };
  }

  /** For the http server's 'upgrade' event. Never throws: a failure is logged and the socket destroyed. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    try {
      const refusal = this.#refusal(req);
      if (refusal !== null) {
        rejectUpgrade(socket, refusal.status, refusal.text);
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => {
        try {
          this.#accept(ws, req);
        } catch (err) {
          // e.g. a throwing `authorize`: that client is lost, the hub and the others are not.
          this.#logger.error({ err, url: req.url }, `ws accept failed: ${errorMessage(err)}`);
          ws.terminate();
        }
      });
    } catch (err) {
      this.#logger.error({ err, url: req.url }, `ws upgrade failed: ${errorMessage(err)}`);
      socket.destroy();
    }
  }

  /**
   * A socket already upgraded by @fastify/websocket, whose request went through the app's hooks
   * (read token, Origin, headers). `authorized: false` closes it with 4001, as `authorize` does
   * for `handleUpgrade`. Never throws: a failure is logged and the socket terminated.
   */
  accept(ws: WebSocket, req: IncomingMessage, authorized = true): void {
    try {
      this.#accept(ws, req, authorized);
    } catch (err) {
      this.#logger.error({ err, url: req.url }, `ws accept failed: ${errorMessage(err)}`);
      ws.terminate();
    }
  }

  /** Why an upgrade is refused at the HTTP level, or null to accept it. */
  #refusal(req: IncomingMessage): { status: number; text: string } | null {
    if (this.#closing) return { status: 503, text: 'Service Unavailable' };
    if (requestPath(req.url) !== this.#path) return { status: 404, text: 'Not Found' };
    if (this.#checkOrigin && !this.#checkOrigin(req.headers.origin, req)) {
      this.#logger.warn(
        { origin: req.headers.origin, remote: req.socket.remoteAddress },
        'ws origin refused',
      );
      return { status: 403, text: 'Forbidden' };
    }
    return null;
  }

  /**
   * Closes every client with 1001 and keeps serving: they reconnect with `?since=` and get the
   * events they missed or a reset (a replica whose feed started over from a new position).
   */
  disconnectAll(reason: string): void {
    this.#flush();
    for (const client of [...this.#live, ...this.#parked.keys()])
      this.#closeClient(client, CLOSE_GOING_AWAY, reason);
    this.#live.clear();
    this.#parked.clear();
  }

  /** Closes every client with `code` (1001 by default), stops the timers; resolves once all sockets are closed. */
  async close(code: number = CLOSE_GOING_AWAY, reason = 'server shutting down'): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      clearInterval(this.#pingTimer);
      if (this.#beatTimer) clearInterval(this.#beatTimer);
      this.#unsubscribe();
      this.#flush();
      for (const client of this.#live) this.#closeClient(client, code, reason);
      this.#live.clear();
      for (const client of this.#parked.keys()) this.#closeClient(client, code, reason);
      this.#parked.clear();
    }
    const pending = [...this.#open.values()];
    if (pending.length === 0) return;
    // Peers that do not answer the close frame (paused, dead) are cut after closeTimeoutMs.
    const timer = setTimeout(() => {
      for (const ws of this.#open.keys()) ws.terminate();
    }, this.#closeTimeoutMs);
    try {
      await Promise.all(pending);
    } finally {
      clearTimeout(timer);
    }
  }

  #accept(ws: WebSocket, req: IncomingMessage, authorized = true): void {
    const client: Client = { ws, remote: req.socket.remoteAddress, lastHeard: performance.now() };
    this.#counters.connections_total += 1;
    this.#open.set(
      ws,
      new Promise<void>((resolve) => {
        ws.once('close', () => {
          this.#open.delete(ws);
          this.#live.delete(client);
          this.#parked.delete(client);
          resolve();
        });
      }),
    );
    ws.on('error', (err) => {
      this.#logger.warn({ err, remote: client.remote }, `ws client error: ${errorMessage(err)}`);
    });
    const heard = (): void => {
      client.lastHeard = performance.now();
    };
    ws.on('pong', heard);
    ws.on('message', heard);

    if (this.#closing) {
      this.#closeClient(client, CLOSE_GOING_AWAY, 'server shutting down');
      return;
    }
    if (!authorized || (this.#authorize && !this.#authorize(req))) {
      this.#counters.unauthorized_total += 1;
      this.#logger.warn({ remote: client.remote }, 'ws client unauthorized');
      this.#closeClient(client, CLOSE_UNAUTHORIZED, 'unauthorized');
      return;
    }
    // Hello (or replay) and joining the live set happen in this one synchronous step, so no
    // publish can fall between them: the client sees every seq after its starting point once.
    // Events still pending are older than that starting point: deliver them to the others first.
    this.#flush();
    if (this.#sendStart(client, req) === 'parked') return;
    this.#live.add(client);
    this.#logger.debug(
      { remote: client.remote, seq: this.#bus.seq, clients: this.#live.size },
      'ws client connected',
    );
  }

  /**
   * The first messages of a connection: a hello, or the replay of what a resuming client missed.
   * 'parked' when the feed answers the resume asynchronously: the client joins the live set when
   * the answer is sent (`#unpark`).
   */
  #sendStart(client: Client, req: IncomingMessage): 'sent' | 'parked' {
    const request = parseWsRequest(req.url);
    if (request.kind === 'fresh') {
      this.#sendHello(client, false);
      return 'sent';
    }
    if (request.kind === 'malformed') {
      this.#logger.info(
        { remote: client.remote, url: req.url, reason: request.reason },
        'ws resume malformed: reset',
      );
      this.#sendHello(client, true);
      return 'sent';
    }
    const resumed = this.#bus.resume(request.since, request.epoch);
    if (resumed instanceof Promise) {
      const held: DashboardEvent[] = [];
      this.#parked.set(client, held);
      void resumed
        .catch((err: unknown): ResumeResult => {
          this.#logger.warn({ err, remote: client.remote }, `ws resume read failed: ${errorMessage(err)}`);
          return { kind: 'reset' };
        })
        .then((answer) => this.#unpark(client, request.since, answer, held));
      return 'parked';
    }
    this.#sendReplay(client, resumed);
    return 'sent';
  }

  /** Sends a resume answer: the missed events, or a reset hello. */
  #sendReplay(client: Client, resumed: ResumeResult): void {
    const frames = this.#replayFrames(resumed);
    if (frames === null) {
      this.#sendHello(client, true);
      return;
    }
    this.#counters.resumes_total += 1;
    for (const frame of frames) this.#send(client, frame);
  }

  /**
   * An asynchronous resume settled: the answer (which covers the feed up to when it settled) and
   * then the events held since the client was parked that it does not already hold, without gap or
   * duplicate; then the client is live.
   */
  #unpark(client: Client, since: number, answer: ResumeResult, held: DashboardEvent[]): void {
    if (this.#parked.get(client) !== held) return; // closed meanwhile
    this.#parked.delete(client);
    if (this.#closing || client.ws.readyState !== WebSocket.OPEN) return;
    // Everything published so far goes to the live clients first; this client got it in `held`.
    this.#flush();
    if (answer.kind === 'events') {
      const last = answer.events.at(-1)?.seq ?? since;
      const later = held.filter((e) => e.seq > last);
      const first = later[0]?.seq;
      if (first === undefined || first === last + 1) {
        this.#sendReplay(client, { kind: 'events', events: [...answer.events, ...later] });
      } else {
        this.#sendHello(client, true);
      }
    } else {
      this.#sendHello(client, true);
    }
    this.#live.add(client);
  }

  /**
   * The serialised events of a resume answer; null when a hello must be sent instead (another
   * epoch, aged out, or too big to replay).
   */
  #replayFrames(resumed: ResumeResult): Buffer[] | null {
    if (resumed.kind === 'events') {
      const frames = resumed.events.map((event) => Buffer.from(serialise(event)));
      const bytes = frames.reduce((sum, frame) => sum + frame.length, 0);
      // A replay bigger than the queue cap would get the client closed as slow again at once (and
      // it would resume again, forever); the state is the bounded answer.
      if (bytes <= this.#queueCap) return frames;
    }
    return null;
  }

  #sendHello(client: Client, reset: boolean): void {
    if (reset) this.#counters.resets_total += 1;
    const seq = this.#bus.seq;
    const epoch = this.#bus.epoch;
    let cached = this.#helloCache;
    // The epoch too: a replica's feed can start over at the same seq in another epoch.
    if (cached === null || cached.seq !== seq || cached.epoch !== epoch || cached.reset !== reset) {
      const hello = this.#bus.hello(reset);
      if (this.#heartbeatMs > 0) hello.heartbeat_ms = this.#heartbeatMs;
      cached = { epoch, seq, reset, data: Buffer.from(JSON.stringify(hello)) };
      this.#helloCache = cached;
    }
    this.#send(client, cached.data);
    // The agents are no part of the state (nor of the cached hello): the client hears them now
    // rather than at the next beat.
    if (this.#agents) this.#send(client, this.#beatFrame());
  }

  #beatFrame(): Buffer {
    const beat: HeartbeatMessage = { type: 'heartbeat', at: new Date().toISOString(), seq: this.#bus.seq };
    if (this.#agents) beat.agents = this.#agents();
    return Buffer.from(JSON.stringify(beat));
  }

  #broadcast(event: DashboardEvent): void {
    for (const held of this.#parked.values()) held.push(event);
    if (this.#live.size === 0) return;
    this.#pending.push(Buffer.from(serialise(event)));
    if (this.#observeSendLatency) this.#pendingAt.push(performance.now());
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  /**
   * Sends the events published since the last flush to every live client. A socket write costs
   * ~8 µs of CPU on loopback, mostly kernel (measured, 2-core box), so one write per event per
   * client made each event cost ~8 ms with 1,000 clients; one corked write per client per
   * event-loop turn carries a whole burst of events for about the price of one.
   */
  #flush(): void {
    this.#flushScheduled = false;
    const frames = this.#pending;
    if (frames.length === 0) return;
    this.#pending = [];
    const publishedAt = this.#pendingAt;
    this.#pendingAt = [];
    for (const client of this.#live) {
      // Slow = still holding more than the cap from EARLIER turns. Judged before this turn's
      // frames, so one message bigger than the cap (a snapshot whose recent episodes carry large
      // extra fields) does not close every reader the kernel cannot take it from at once; a
      // client that stopped reading is closed at the next turn. Bound: cap + one turn's frames.
      if (client.ws.bufferedAmount > this.#queueCap) {
        this.#dropSlow(client);
        continue;
      }
      const socket = rawSocket(client.ws);
      socket?.cork();
      for (const frame of frames) this.#send(client, frame);
      socket?.uncork();
    }
    const observe = this.#observeSendLatency;
    if (observe) {
      const now = performance.now();
      for (const at of publishedAt) observe((now - at) / 1000);
    }
  }

  #send(client: Client, data: Buffer): void {
    if (client.ws.readyState !== WebSocket.OPEN) return;
    try {
      client.ws.send(data, TEXT);
      this.#counters.messages_sent_total += 1;
      this.#counters.bytes_sent_total += data.length;
    } catch (err) {
      this.#logger.warn({ err, remote: client.remote }, `ws send failed: ${errorMessage(err)}`);
      client.ws.terminate();
    }
  }

  #dropSlow(client: Client): void {
    this.#counters.slow_closed_total += 1;
    this.#logger.warn(
      {
        remote: client.remote,
        buffered_bytes: client.ws.bufferedAmount,
        cap_bytes: this.#queueCap,
        seq: this.#bus.seq,
      },
      'ws client too slow: closed',
    );
    // Out of the live set first: nothing more is queued for it, so its memory stays bounded by
    // the cap plus one turn's events until the close completes (or ws's 30 s close timeout
    // destroys the socket).
    this.#live.delete(client);
    this.#closeClient(client, CLOSE_SLOW_CLIENT, SLOW_CLIENT_REASON);
  }

  #closeClient(client: Client, code: number, reason: string): void {
    try {
      client.ws.close(code, reason);
    } catch (err) {
      this.#logger.warn({ err, remote: client.remote }, `ws close failed: ${errorMessage(err)}`);
      client.ws.terminate();
    }
  }

  /** The application-level heartbeat: after any pending events, so its `seq` is never ahead of them. */
  #beat(): void {
    if (this.#live.size === 0) return;
    this.#flush();
    const frame = this.#beatFrame();
    for (const client of this.#live) {
      // A client already holding a cap's worth is not helped by more; the slow check closes it.
      if (client.ws.bufferedAmount <= this.#queueCap) this.#send(client, frame);
    }
  }

  #heartbeat(): void {
    const now = performance.now();
    for (const client of this.#live) {
      const silentMs = Math.round(now - client.lastHeard);
      if (silentMs > this.#deadAfterMs) {
        this.#counters.dead_dropped_total += 1;
        this.#live.delete(client);
        this.#logger.info({ remote: client.remote, silent_ms: silentMs }, 'ws peer silent: terminated');
        client.ws.terminate();
        continue;
      }
      try {
        client.ws.ping();
      } catch (err) {
        this.#logger.warn({ err, remote: client.remote }, `ws ping failed: ${errorMessage(err)}`);
      }
    }
  }
}

/**
 * The TCP socket under a `ws` WebSocket, to cork it around a batch of sends. `ws` keeps it in the
 * private `_socket` (stable through ws 8); without it we just send uncorked.
 */
function rawSocket(ws: WebSocket): Duplex | undefined {
  const socket = (ws as unknown as { _socket?: unknown })._socket;
  return socket !== null && typeof socket === 'object' && 'cork' in socket ? (socket as Duplex) : undefined;
}

/** Refuses an upgrade with a bare HTTP response (the socket has not become a WebSocket). */
function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
