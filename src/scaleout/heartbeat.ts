import { randomUUID } from 'node:crypto';
import type { Logger } from '../util/log.js';
import type { RedisStreamLog } from './redis-stream-log.js';

/** An agent's heartbeat, stored under `heartbeat(receiver)` with a TTL of a few intervals. */
export interface AgentHeartbeat {
  /** Where the agent serves episode details and downloads (replicas proxy there). */
  url: string;
  /** ISO-8601 time it was written. */
  at: string;
  pid: number;
  /** The agent's package version. */
  version: string;
  /** Which writer (one per agent process): another one under the same key is another agent. */
  instance?: string;
  /** Set while this agent finds another one writing the same receiver's heartbeat. */
  conflict?: NameConflict;
}

/** Another agent writing this receiver's heartbeat: two agents run with one `--receiver` name. */
export interface NameConflict {
  /** The other agent's URL and pid, as its heartbeat says. */
  url: string;
  pid: number;
  /** ISO-8601: when this agent first found it. */
  since: string;
}

/** Heartbeats in a row that must find this agent's own before a conflict is called over. */
const CONFLICT_CLEARS_AFTER = 3;

export interface HeartbeatWriterOptions {
  log: RedisStreamLog;
  receiver: string;
  /** What to write each time (`at` is added). */
  url: string;
  version: string;
  /** Milliseconds between writes. @default 5000 */
  intervalMs?: number;
  /** The key's TTL: gone after this long without a write. @default 3 × intervalMs */
  ttlMs?: number;
  logger: Logger;
  /** @default () => new Date() */
  now?: () => Date;
}

/**
 * Writes the agent's heartbeat every interval (SET with a TTL, so a dead or cut-off agent's key
 * disappears by itself) and keeps the receiver in the `receivers` set. A write waits while Redis
 * is away; no second one is queued behind it meanwhile.
 */
export class HeartbeatWriter {
  readonly #o: HeartbeatWriterOptions;
  readonly #intervalMs: number;
  readonly #ttlMs: number;
  #timer: NodeJS.Timeout | null = null;
  #pending: Promise<void> | null = null;
  #failing = false;
  readonly #instance = randomUUID();
  #wrote = false;
  #conflict: NameConflict | null = null;
  #ownInARow = 0;

  constructor(o: HeartbeatWriterOptions) {
    this.#o = o;
    this.#intervalMs = o.intervalMs ?? 5000;
    this.#ttlMs = o.ttlMs ?? 3 * this.#intervalMs;
  }

  /** Writes one now and then every interval; resolves once the first is written. */
  async start(): Promise<void> {
    this.#timer = setInterval(() => void this.beat(), this.#intervalMs);
    this.#timer.unref();
    await this.beat();
  }

  /** One write (skipped while the previous one is still waiting for Redis). */
  beat(): Promise<void> {
    this.#pending ??= this.#write().finally(() => {
      this.#pending = null;
    });
    return this.#pending;
  }

  /** Another agent writing this receiver's heartbeat, as the last writes found; null: none. */
  get conflict(): NameConflict | null {
    return this.#conflict;
  }

  async #write(): Promise<void> {
    const { log, receiver, url, version } = this.#o;
    const now = (this.#o.now?.() ?? new Date()).toISOString();
    try {
      this.#check(parseHeartbeat(await log.command(['GET', log.keys.heartbeat(receiver)])), now);
      const hb: AgentHeartbeat = {
        url,
        at: now,
        pid: process.pid,
        version,
        instance: this.#instance,
        ...(this.#conflict ? { conflict: this.#conflict } : {}),
      };
      await log.command(['SET', log.keys.heartbeat(receiver), JSON.stringify(hb), 'PX', String(this.#ttlMs)]);
      this.#wrote = true;
      await log.command(['SADD', log.keys.receivers, receiver]);
      if (this.#failing) this.#o.logger.info({ receiver }, 'heartbeat written again');
      this.#failing = false;
    } catch (err) {
      if (!this.#failing) this.#o.logger.warn({ err, receiver }, 'heartbeat not written; trying again');
      this.#failing = true;
    }
  }

  /**
   * What the key held before this write. Once this writer has written, anything but its own
   * heartbeat there means another agent wrote since: two agents with one receiver name, whose
   * data then mixes in one receiver. The first write may find a predecessor's (a restart before
   * its key expired); that one writes no more, so the next write finds this writer's own.
   */
  #check(found: AgentHeartbeat | null, now: string): void {
    const { logger, receiver, url } = this.#o;
    if (this.#wrote && found !== null && found.instance !== this.#instance) {
      if (this.#conflict === null) {
        logger.error(
          { receiver, url, other_url: found.url, other_pid: found.pid },
          'another agent writes this receiver’s heartbeat: two agents run with one --receiver name; give each receiver its own',
        );
      }
      this.#conflict = { url: found.url, pid: found.pid, since: this.#conflict?.since ?? now };
      this.#ownInARow = 0;
    } else if (this.#conflict !== null && found?.instance === this.#instance) {
      this.#ownInARow += 1;
      if (this.#ownInARow >= CONFLICT_CLEARS_AFTER) {
        logger.info({ receiver }, 'no other agent wrote this receiver’s heartbeat for 3 intervals');
        this.#conflict = null;
      }
    }
  }

  /** Stops writing; with `remove`, deletes the key (a clean stop says "down" at once). */
  async stop(remove = false): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    if (remove) {
      const { log, receiver } = this.#o;
      await log.command(['DEL', log.keys.heartbeat(receiver)]).catch(() => undefined);
    }
  }
}

/**
 * A receiver's agent heartbeat, or null when there is none: never written, expired (the agent
 * stopped writing for longer than its TTL) or not a heartbeat. A replica proxies to `url`; null
 * means the agent is down (answer 503 with the last time it was seen, which the replica keeps).
 */
export async function readHeartbeat(log: RedisStreamLog, receiver: string): Promise<AgentHeartbeat | null> {
  return parseHeartbeat(await log.command(['GET', log.keys.heartbeat(receiver)]));
}

/** A heartbeat key's value as Redis answered it; null when there is none or it is not one. */
export function parseHeartbeat(raw: unknown): AgentHeartbeat | null {
  if (typeof raw !== 'string') return null;
  try {
    const v = JSON.parse(raw) as Partial<AgentHeartbeat>;
    if (typeof v.url !== 'string' || typeof v.at !== 'string') return null;
    const c = v.conflict;
    return {
      url: v.url,
      at: v.at,
      pid: Number(v.pid ?? 0),
      version: String(v.version ?? ''),
      ...(typeof v.instance === 'string' ? { instance: v.instance } : {}),
      ...(c && typeof c.url === 'string'
        ? { conflict: { url: c.url, pid: Number(c.pid ?? 0), since: String(c.since ?? '') } }
        : {}),
    };
  } catch {
    return null;
  }
}
