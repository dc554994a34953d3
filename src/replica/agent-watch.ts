import { type AgentStatus, dict } from '../protocol/index.js';
import { type AgentHeartbeat, parseHeartbeat } from '../scaleout/heartbeat.js';
import type { RedisStreamLog } from '../scaleout/redis-stream-log.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { within } from '../util/within.js';
import { API_RECEIVER } from './feed.js';

export interface AgentWatchOptions {
  stream: Pick<RedisStreamLog, 'command' | 'keys'>;
  logger: Logger;
  /** Between two looks at the heartbeats. @default 2000 */
  intervalMs?: number;
  /** How long a look waits for Redis before it says the statuses are old. @default 1000 */
  timeoutMs?: number;
  /** @default () => new Date() */
  now?: () => Date;
}

/** What one look read: every watched receiver's heartbeat (null: none). */
type Beats = ReadonlyArray<readonly [receiver: string, beat: AgentHeartbeat | null]>;

/**
 * Which receivers' agents are up, as this replica sees them: every receiver that ever wrote a
 * heartbeat (the `receivers` set, less the `retired` set unless an agent writes again) is up while
 * its heartbeat key is there. The key expires three heartbeat intervals after the agent's last
 * write, so Redis keeps the time: an agent whose clock is off is not called down for it. While
 * Redis does not answer, the statuses stay as they were (the replica's `/readyz` says the stream
 * is away) and no second read is sent behind the unanswered one (the client would queue them all).
 */
export class AgentWatch {
  readonly #o: AgentWatchOptions;
  readonly #statuses = new Map<string, AgentStatus>();
  #timer: NodeJS.Timeout | null = null;
  #read: Promise<Beats> | null = null;
  #looking: Promise<void> | null = null;
  #looked = false;
  #failing = false;

  constructor(o: AgentWatchOptions) {
    this.#o = o;
  }

  /** Looks now and then every interval. */
  start(): void {
    this.#timer = setInterval(() => void this.look(), this.#o.intervalMs ?? 2000);
    this.#timer.unref();
    void this.look();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** One look at every receiver's heartbeat (none started while the last one waits). */
  look(): Promise<void> {
    this.#looking ??= this.#look().finally(() => {
      this.#looking = null;
    });
    return this.#looking;
  }

  /** Every receiver's agent, by receiver name. */
  statuses(): Record<string, AgentStatus> {
    const out = dict<AgentStatus>();
    for (const name of [...this.#statuses.keys()].sort()) out[name] = this.#statuses.get(name) as AgentStatus;
    return out;
  }

  /** The newest heartbeat time read from `receiver`'s agent (its clock); null: none read. */
  lastHeartbeat(receiver: string): string | null {
    return this.#statuses.get(receiver)?.last_heartbeat ?? null;
  }

  /**
   * What another read of a watched receiver's heartbeat found (the detail proxy asks Redis for the
   * agent's URL); a receiver this watch does not list is left to the looks.
   */
  note(receiver: string, beat: AgentHeartbeat | null): void {
    if (this.#statuses.has(receiver)) this.#set(receiver, beat);
  }

  #set(receiver: string, beat: AgentHeartbeat | null): void {
    const prev = this.#statuses.get(receiver);
    const at = beat?.at ?? null;
    const up = at !== null;
    // The newer of two readings (an answer that took long must not take the time back).
    const newest =
      prev?.last_heartbeat != null && (at === null || prev.last_heartbeat > at) ? prev.last_heartbeat : at;
    const nowIso = (this.#o.now?.() ?? new Date()).toISOString();
    const since = prev === undefined ? (this.#looked ? nowIso : null) : prev.up === up ? prev.since : nowIso;
    if (prev !== undefined && prev.up !== up) {
      this.#o.logger.info(
        { receiver, last_heartbeat: newest },
        up ? 'agent up again' : 'agent down: no heartbeat',
      );
    }
    const conflict = beat?.conflict
      ? [
          { url: beat.url, pid: beat.pid },
          { url: beat.conflict.url, pid: beat.conflict.pid },
        ].sort((a, b) => a.url.localeCompare(b.url) || a.pid - b.pid)
      : undefined;
    if (conflict && !prev?.conflict) {
      this.#o.logger.warn({ receiver, agents: conflict }, 'two agents write one receiver’s heartbeat');
    }
    this.#statuses.set(receiver, { up, since, last_heartbeat: newest, ...(conflict ? { conflict } : {}) });
  }

  async #readBeats(): Promise<Beats> {
    const { stream } = this.#o;
    const [members, retired] = (await Promise.all([
      stream.command(['SMEMBERS', stream.keys.receivers]),
      stream.command(['SMEMBERS', stream.keys.retired]),
    ])) as [string[], string[]];
    const beats = await Promise.all(
      members
        .filter((r) => r !== API_RECEIVER)
        .map(
          async (r) => [r, parseHeartbeat(await stream.command(['GET', stream.keys.heartbeat(r)]))] as const,
        ),
    );
    // A retired receiver is watched again only once an agent writes its heartbeat.
    const gone = new Set(retired);
    return beats.filter(([r, beat]) => beat !== null || !gone.has(r));
  }

  async #look(): Promise<void> {
    if (this.#read !== null) return; // the last read is still unanswered: Redis is away
    const read = this.#readBeats().finally(() => {
      if (this.#read === read) this.#read = null;
    });
    this.#read = read;
    const timeoutMs = this.#o.timeoutMs ?? 1000;
    try {
      // A read that fails after its look gave up is said by the next look.
      const beats = await within(
        read,
        timeoutMs,
        () => new Error(`Redis did not answer within ${timeoutMs} ms`),
      );
      for (const [receiver, beat] of beats) this.#set(receiver, beat);
      // A receiver taken out of the sets (or retired) is no longer watched.
      const listed = new Set(beats.map(([receiver]) => receiver));
      for (const receiver of [...this.#statuses.keys()])
        if (!listed.has(receiver)) this.#statuses.delete(receiver);
      this.#looked = true;
      if (this.#failing) this.#o.logger.info('agent heartbeats read again');
      this.#failing = false;
    } catch (err) {
      if (!this.#failing)
        this.#o.logger.warn({ err: errorMessage(err) }, 'agent heartbeats not read; statuses kept');
      this.#failing = true;
    }
  }
}
