import { randomUUID } from 'node:crypto';
import type { Logger } from '../util/log.js';
import type { RedisStreamLog } from './redis-stream-log.js';
import { LuaScript } from './scripts.js';

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
  /** The key's TTL the agent writes it with (three of its intervals). */
  ttl_ms?: number;
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

/**
 * One heartbeat write: the key set with its TTL and the receiver kept in the set, in one atomic
 * step that answers what the key held before (another agent's heartbeat there is a second agent
 * under this name; read and write apart, its write could fall between them unseen).
 * KEYS: 1 the heartbeat, 2 the receivers set. ARGV: 1 the heartbeat JSON, 2 TTL ms, 3 receiver.
 */
const HEARTBEAT_SCRIPT = new LuaScript(`
local old = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return old
`);

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
  /** When (ms, this clock) another agent's heartbeat was last found, and how long it lives. */
  #otherSeenMs = 0;
  #otherTtlMs = 0;

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
    const now = this.#o.now?.() ?? new Date();
    try {
      const hb: AgentHeartbeat = {
        url,
        at: now.toISOString(),
        pid: process.pid,
        version,
        instance: this.#instance,
        ttl_ms: this.#ttlMs,
        ...(this.#conflict ? { conflict: this.#conflict } : {}),
      };
      const before = await HEARTBEAT_SCRIPT.run(
        (args) => log.command(args),
        [log.keys.heartbeat(receiver), log.keys.receivers],
        [JSON.stringify(hb), String(this.#ttlMs), receiver],
      );
      this.#check(parseHeartbeat(before), now);
      this.#wrote = true;
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
   * its key expired); that one writes no more. The conflict is over once no other heartbeat was
   * found for the other's TTL plus an interval of this one: by time, not by a count of writes, so
   * two agents writing at different intervals never make it come and go.
   */
  #check(found: AgentHeartbeat | null, now: Date): void {
    const { logger, receiver, url } = this.#o;
    const nowMs = now.getTime();
    if (this.#wrote && found !== null && found.instance !== this.#instance) {
      if (this.#conflict === null) {
        logger.error(
          { receiver, url, other_url: found.url, other_pid: found.pid },
          'another agent writes this receiver’s heartbeat: two agents run with one --receiver name; give each receiver its own',
        );
      }
      this.#conflict = { url: found.url, pid: found.pid, since: this.#conflict?.since ?? now.toISOString() };
      this.#otherSeenMs = nowMs;
      this.#otherTtlMs = found.ttl_ms ?? this.#ttlMs;
    } else if (this.#conflict !== null && nowMs - this.#otherSeenMs > this.#otherTtlMs + this.#intervalMs) {
      logger.info({ receiver }, 'no other agent wrote this receiver’s heartbeat for its TTL; conflict over');
      this.#conflict = null;
    }
  }

  /** Stops writing; with `remove`, deletes the key (a clean stop says "down" at once). */
  async stop(remove = false): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    if (remove) {
      // A write still in flight would land after the DEL and say "up" for a TTL more. (It waits
      // while Redis is away: the agent's shutdown bounds the whole stop.)
      await this.#pending;
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
      ...(typeof v.ttl_ms === 'number' && v.ttl_ms > 0 ? { ttl_ms: v.ttl_ms } : {}),
      ...(c && typeof c.url === 'string'
        ? { conflict: { url: c.url, pid: Number(c.pid ?? 0), since: String(c.since ?? '') } }
        : {}),
    };
  } catch {
    return null;
  }
}
