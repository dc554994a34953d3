import type { DashboardEvent, HeartbeatMessage, HelloMessage } from '../../protocol/index.js';

/** Where the connection stands, for the indicator and for "offline for 3 min". */
export type ConnectionStatus =
  /** First connection attempt, nothing received yet. */
  | { kind: 'connecting'; since: number }
  /** A hello arrived on the current socket; events are flowing. */
  | { kind: 'connected'; since: number }
  /** The socket was lost at `since`; the next attempt is at `retryAt`. */
  | { kind: 'reconnecting'; since: number; attempt: number; retryAt: number; reason: string }
  /** The server refused us (bad token) or the source is static: no retry is pending. */
  | { kind: 'offline'; since: number; reason: string }
  /** A static source (screenshots, tests): data without a live connection. */
  | { kind: 'static'; since: number };

/** What a data source tells the store. */
export interface SourceListener {
  /** A hello: REPLACE the state (a reconnect that could not be replayed sends one too). */
  hello(message: HelloMessage): void;
  /** One event after the hello's seq, in order, without gap or duplicate. */
  event(event: DashboardEvent): void;
  status(status: ConnectionStatus): void;
  /** The server's heartbeat (a replica's carries its receivers' agents). */
  beat?(message: HeartbeatMessage): void;
}

/**
 * Where the web app's live data comes from: the WebSocket in production, a fixed state in tests
 * and screenshots. `start` returns the function that stops it.
 */
export interface DataSource {
  start(listener: SourceListener): () => void;
}
