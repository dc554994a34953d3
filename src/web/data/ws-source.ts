import { CLOSE_UNAUTHORIZED, type ServerMessage, STALE_AFTER_BEATS } from '../../protocol/index.js';
import { nextDelayMs } from './backoff.js';
import type { DataSource, SourceListener } from './source.js';

export interface WebSocketSourceOptions {
  /** Absolute `ws:`/`wss:` URL of `/ws` (query parameters are added for resume). */
  url: string;
  /** @default globalThis.WebSocket */
  WebSocketImpl?: typeof WebSocket;
  /** First retry delay. @default 500 */
  baseDelayMs?: number;
  /** Retry delay cap. @default 10_000 */
  maxDelayMs?: number;
  /** Jitter source. @default Math.random */
  random?: () => number;
  now?: () => number;
  /**
   * A socket that has not delivered its first message this long after it was opened (a frozen
   * server still accepts TCP connections) is given up and retried. @default 8,000
   */
  connectTimeoutMs?: number;
}

/**
 * The live data source: ONE WebSocket to `/ws`. On loss it reconnects with jittered, capped
 * backoff and `?since=<last seq>&epoch=<epoch>`, so the server can replay what was missed (or send
 * a fresh hello, which the store treats as a replacement).
 */
export function webSocketSource(options: WebSocketSourceOptions): DataSource {
  const WS = options.WebSocketImpl ?? globalThis.WebSocket;
  const base = options.baseDelayMs ?? 500;
  const cap = options.maxDelayMs ?? 10_000;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const connectTimeoutMs = options.connectTimeoutMs ?? 8000;

  return {
    start(listener: SourceListener) {
      let socket: WebSocket | null = null;
      let timer: ReturnType<typeof setTimeout> | null = null;
      let stopped = false;
      let epoch: string | null = null;
      let seq: number | null = null;
      let attempt = 0;
      let lostAt: number | null = null;
      /** When the server was last heard (any message): the data is current as of then. */
      let heardAt: number | null = null;
      /** Fires when the current socket has been silent too long (frozen server, dead link). */
      let watchdog: ReturnType<typeof setTimeout> | null = null;
      /** Silence tolerated on a connected socket: STALE_AFTER_BEATS heartbeat periods, once announced. */
      let silenceMs: number | null = null;

      const clearWatchdog = (): void => {
        if (watchdog !== null) clearTimeout(watchdog);
        watchdog = null;
      };
      /** (Re)arms the watchdog for `ms`; when it fires the socket is dropped as stale. */
      const armWatchdog = (ws: WebSocket, ms: number, reason: string): void => {
        clearWatchdog();
        watchdog = setTimeout(() => {
          watchdog = null;
          if (socket !== ws) return;
          socket = null;
          // Its onclose must not schedule a second retry; the data is as old as the last message.
          ws.onclose = null;
          ws.onmessage = null;
          try {
            ws.close(4101, 'stale');
          } catch {
            // Closing a socket that never opened can throw in some engines; it is dropped anyway.
          }
          lostAt = heardAt ?? now();
          scheduleRetry(reason);
        }, ms);
      };

      const urlFor = (): string => {
        const url = new URL(options.url);
        if (epoch !== null && seq !== null) {
          url.searchParams.set('since', String(seq));
          url.searchParams.set('epoch', epoch);
        }
        return url.toString();
      };

      const scheduleRetry = (reason: string): void => {
        if (stopped || timer !== null) return;
        lostAt ??= now();
        const delay = nextDelayMs(attempt, { base, cap, random });
        attempt += 1;
        listener.status({ kind: 'reconnecting', since: lostAt, attempt, retryAt: now() + delay, reason });
        timer = setTimeout(() => {
          timer = null;
          connect();
        }, delay);
      };

      const connect = (): void => {
        if (stopped) return;
        let ws: WebSocket;
        try {
          ws = new WS(urlFor());
        } catch (err) {
          scheduleRetry(err instanceof Error ? err.message : String(err));
          return;
        }
        socket = ws;
        armWatchdog(
          ws,
          connectTimeoutMs,
          `no answer from the server within ${Math.round(connectTimeoutMs / 1000)} s`,
        );
        ws.onmessage = (msg: MessageEvent) => {
          if (socket !== ws || typeof msg.data !== 'string') return;
          heardAt = now();
          if (silenceMs !== null) {
            armWatchdog(ws, silenceMs, `no heartbeat from the server for ${Math.round(silenceMs / 1000)} s`);
          }
          let parsed: ServerMessage;
          try {
            parsed = JSON.parse(msg.data) as ServerMessage;
          } catch {
            return; // Not ours to show; the next valid message still applies.
          }
          if (parsed.type === 'heartbeat') {
            listener.beat?.(parsed);
            return;
          }
          if (parsed.type === 'hello') {
            // A server that announces heartbeats is watched for silence; an older one only by the socket.
            silenceMs = parsed.heartbeat_ms ? parsed.heartbeat_ms * STALE_AFTER_BEATS : null;
            if (silenceMs !== null) {
              armWatchdog(
                ws,
                silenceMs,
                `no heartbeat from the server for ${Math.round(silenceMs / 1000)} s`,
              );
            } else clearWatchdog();
            epoch = parsed.epoch;
            seq = parsed.seq;
            attempt = 0;
            lostAt = null;
            listener.hello(parsed);
            listener.status({ kind: 'connected', since: now() });
            return;
          }
          if (seq === null) return; // Events before a hello cannot be placed.
          if (parsed.seq <= seq) return; // Duplicate from a replay overlap.
          if (parsed.seq !== seq + 1) {
            // A gap means our state is wrong: resume from what we hold, the server replays or resets.
            ws.close(4100, 'gap');
            return;
          }
          seq = parsed.seq;
          if (lostAt !== null) {
            // Resumed by replay (no hello): the connection is healthy again.
            attempt = 0;
            lostAt = null;
            listener.status({ kind: 'connected', since: now() });
          }
          listener.event(parsed);
        };
        ws.onopen = () => {
          if (socket !== ws || epoch === null) return;
          // A resume may carry no hello; say we are connected once the socket is open.
          attempt = 0;
          lostAt = null;
          listener.status({ kind: 'connected', since: now() });
        };
        ws.onclose = (ev: CloseEvent) => {
          if (socket !== ws) return;
          socket = null;
          clearWatchdog();
          if (stopped) return;
          if (ev.code === CLOSE_UNAUTHORIZED) {
            listener.status({ kind: 'offline', since: now(), reason: 'The server refused the read token.' });
            return;
          }
          scheduleRetry(ev.reason || `closed (${ev.code})`);
        };
        ws.onerror = () => {
          // onclose follows and schedules the retry.
        };
      };

      // Back on the network or back in front of a person: do not wait out the backoff.
      const retryNow = (): void => {
        if (stopped || socket !== null || timer === null) return;
        clearTimeout(timer);
        timer = null;
        connect();
      };
      globalThis.addEventListener?.('online', retryNow);

      listener.status({ kind: 'connecting', since: now() });
      connect();
      return () => {
        stopped = true;
        clearWatchdog();
        globalThis.removeEventListener?.('online', retryNow);
        if (timer !== null) clearTimeout(timer);
        socket?.close(1000, 'bye');
        socket = null;
      };
    },
  };
}

/** `ws(s)://<this host>/ws`, with the page's `token` passed through when there is one. */
export function defaultSocketUrl(location: Location): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const url = new URL(`${proto}//${location.host}/ws`);
  const token = new URLSearchParams(location.search).get('token');
  if (token) url.searchParams.set('token', token);
  return url.toString();
}
