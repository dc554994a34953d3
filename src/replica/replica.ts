import { type DashboardEvent, type DashboardState, emptyState, type Snapshot } from '../protocol/index.js';
import { applyEvent } from '../protocol/reduce.js';
import { readHeartbeat } from '../scaleout/heartbeat.js';
import { seqOfId } from '../scaleout/records.js';
import { RedisStreamLog } from '../scaleout/redis-stream-log.js';
import { listReceivers, ownReceiverState, readSnapshot } from '../scaleout/snapshot.js';
import type { Subscription } from '../scaleout/subscription.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { CatalogBackfill, type CatalogCompleteness } from './backfill.js';
import { ReplicaCatalog } from './catalog.js';
import { API_RECEIVER, clientEvent, ReplicaFeed } from './feed.js';

export interface ReplicaOptions {
  /** `redis://host:port[/db]`. */
  redisUrl: string;
  /** Stops waiting for Redis at start (a signal before the replica is up). */
  signal?: AbortSignal;
  /** The shared log's namespace (hash tag). @default 'cis490' */
  namespace?: string;
  /** The catalog's folder; null keeps it in memory (tests). */
  stateDir: string | null;
  logger: Logger;
  /** Events the ring keeps for resuming viewers. */
  replayBuffer: number;
  /** Entries per XREAD. */
  readCount?: number;
  /** Sent to the agents as `Authorization: Bearer` when fetching older catalog rows (their read token). */
  agentToken?: string | null;
  /** Wait before asking an agent for rows again after it failed. @default 2000 */
  backfillRetryMs?: number;
  /** The agent's URL of a receiver (its heartbeat); default: read from Redis. */
  agentUrl?(receiver: string): Promise<string | null>;
  /**
   * Called after a rebuild at run time (the stream's epoch changed, its position was trimmed, or
   * applying a record failed).
   */
  onRebase?(reason: 'epoch' | 'trimmed' | 'error'): void;
}

/** What a receiver's agent stored under `snapshot(receiver)`. */
export interface ReceiverSnapshot {
  seq: number;
  state: Partial<DashboardState>;
}

/** Records per read while catching up. */
const CATCH_UP_PAGE = 5000;

/** A receiver's stored state folded into the merged state, as that receiver's part. */
export function seedFromSnapshot(
  state: DashboardState,
  receiver: string,
  stored: Partial<DashboardState>,
): DashboardState {
  // An agent's snapshot holds only its receiver's fields, its hosts under their own ids (an
  // earlier agent's under `<receiver>/`: read as their own); readiness then comes from its events.
  const full = { ...emptyState(), ready: true, ...ownReceiverState(stored, receiver) };
  // The snapshot part: everything but what is not a receiver's (or is applied on its own below).
  const {
    phase_mix,
    live_phases: _lp,
    data_root: _dr,
    alert_actions: _aa,
    host_thresholds: _ht,
    receivers: _r,
    ...snapshot
  } = full;
  let out = applyEvent(state, { type: 'snapshot', seq: 0, receiver, ...(snapshot satisfies Snapshot) });
  if (phase_mix) out = applyEvent(out, { type: 'phase_mix', seq: 0, receiver, ...phase_mix });
  return {
    ...out,
    live_phases: { ...full.live_phases, ...out.live_phases },
    alert_actions: { ...full.alert_actions, ...out.alert_actions },
    host_thresholds: out.host_thresholds ?? full.host_thresholds,
  };
}

/** The state a replica starts from before any receiver's snapshot. */
function baseState(): DashboardState {
  return { ...emptyState(), receivers: {} };
}

/**
 * A dashboard replica (`serve --redis`): no data root of its own. It builds its live state from
 * the receivers' snapshots plus the stream after their seqs, its catalog from where it left off
 * (or from scratch when the stream's epoch differs or its position was trimmed), then one XREAD
 * BLOCK loop applies every record to both: the feed (follower ring + live state, what viewers
 * see) and the catalog (rows and position in one transaction).
 */
export class Replica {
  readonly stream: RedisStreamLog;
  readonly catalog: ReplicaCatalog;
  readonly feed: ReplicaFeed;
  /** Fetches the catalog's older rows from the agents when the stream no longer held them. */
  readonly backfill: CatalogBackfill;
  readonly startedAt = Date.now();
  readonly #o: ReplicaOptions;
  readonly #logger: Logger;
  #subscription: Subscription | null = null;
  #ready = false;
  #bootstrapSeconds: number | null = null;
  #stopped = false;
  #rebuilding: Promise<void> | null = null;
  #streamError: { message: string; since: string } | null = null;
  #rebuildError: string | null = null;
  /** When the replica last applied a record of each receiver (epoch ms). */
  readonly lastEventAt = new Map<string, number>();

  private constructor(stream: RedisStreamLog, o: ReplicaOptions) {
    this.stream = stream;
    this.#o = o;
    this.#logger = o.logger;
    this.catalog = new ReplicaCatalog(o.stateDir);
    this.feed = new ReplicaFeed(stream, o.replayBuffer, o.logger);
    this.backfill = new CatalogBackfill({
      catalog: this.catalog,
      logger: o.logger,
      token: o.agentToken ?? null,
      ...(o.backfillRetryMs !== undefined ? { retryMs: o.backfillRetryMs } : {}),
      agentUrl: o.agentUrl ?? (async (receiver) => (await readHeartbeat(this.stream, receiver))?.url ?? null),
    });
  }

  /** Whether the catalog holds every row up to its position (older rows may still come from agents). */
  catalogStatus(): CatalogCompleteness {
    return this.backfill.status();
  }

  /** Connects, builds the state and the catalog up to the stream's head, and follows it. */
  static async start(o: ReplicaOptions): Promise<Replica> {
    const stream = await RedisStreamLog.open({
      url: o.redisUrl,
      ...(o.namespace !== undefined ? { namespace: o.namespace } : {}),
      ...(o.readCount !== undefined ? { readCount: o.readCount } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      logger: o.logger,
    });
    let replica: Replica;
    try {
      replica = new Replica(stream, o);
    } catch (err) {
      await stream.close();
      throw err;
    }
    try {
      await replica.#build();
    } catch (err) {
      await replica.stop();
      throw err;
    }
    replica.#ready = true;
    replica.#bootstrapSeconds = (Date.now() - replica.startedAt) / 1000;
    return replica;
  }

  get ready(): boolean {
    return this.#ready;
  }

  get bootstrapSeconds(): number | null {
    return this.#bootstrapSeconds;
  }

  /** The receivers' snapshots (`snapshot(receiver)` of every member of `receivers`), by receiver. */
  async snapshots(): Promise<Map<string, ReceiverSnapshot>> {
    const out = new Map<string, ReceiverSnapshot>();
    for (const receiver of await listReceivers(this.stream)) {
      let snap: Awaited<ReturnType<typeof readSnapshot>>;
      try {
        snap = await readSnapshot(this.stream, receiver);
      } catch (err) {
        // An invalid name in the set, or a state that is not JSON: that receiver starts empty.
        this.#logger.warn({ receiver, err }, `snapshot of ${receiver} unusable: ${errorMessage(err)}`);
        snap = null;
      }
      if (snap !== null && snap.epoch !== '' && snap.epoch !== this.stream.epoch) {
        // Written in an epoch Redis has lost since: its seq means nothing in this stream.
        this.#logger.warn(
          { receiver, epoch: snap.epoch },
          `snapshot of ${receiver} belongs to another epoch`,
        );
        snap = null;
      }
      out.set(receiver, snap === null ? { seq: 0, state: {} } : { seq: snap.seq, state: snap.state });
    }
    return out;
  }

  /** The seq of the stream's oldest entry (head + 1 when it is empty). */
  async #oldestSeq(head: number): Promise<number> {
    const reply = (await this.stream.command([
      'XRANGE',
      this.stream.keys.stream,
      '-',
      '+',
      'COUNT',
      '1',
    ])) as Array<[string, unknown]> | null;
    const first = reply?.[0]?.[0];
    return first === undefined ? head + 1 : seqOfId(first);
  }

  /** Snapshots + stream → feed; catalog → up to the head; then the subscription. Retries on a moving epoch. */
  async #build(): Promise<void> {
    for (;;) {
      const epoch = await this.stream.ensureEpoch();
      // Redis answers (a subscription that ended on a new epoch never said it was back).
      this.#noteStream(null);
      const snaps = await this.snapshots();
      let state = baseState();
      for (const [receiver, snap] of snaps) state = seedFromSnapshot(state, receiver, snap.state);
      const head = await this.stream.lastSeq();
      let position = this.catalog.position();
      if (position === null || position.epoch !== epoch || position.seq > head) {
        if (position !== null) {
          this.#logger.warn(
            { catalog: position, epoch, head },
            'the catalog belongs to another epoch of the stream: rebuilding it',
          );
        }
        this.catalog.reset(epoch, 0);
        position = { epoch, seq: 0 };
      } else {
        // A catalog from before viewers' posts were kept: what the stream still holds of them, up
        // to the position, is read once (every record is paged through; later ones come below).
        if (this.catalog.apiReplayPending()) await this.#replayApi(epoch, position.seq);
        // What viewers posted (alert actions, live phases) as of the catalog's position: the
        // stream before `next` is not read again, and no receiver's snapshot holds it. The reads
        // below apply whatever came after, over it.
        const posted = this.catalog.apiState();
        state = {
          ...state,
          alert_actions: { ...posted.alert_actions, ...state.alert_actions },
          live_phases: { ...posted.live_phases, ...state.live_phases },
        };
      }
      const snapSeqs = [...snaps.values()].map((s) => s.seq);
      const liveFrom = snapSeqs.length === 0 ? 1 : Math.min(...snapSeqs) + 1;
      let next = Math.min(position.seq + 1, liveFrom);
      const oldest = await this.#oldestSeq(head);
      if (next < oldest) {
        if (position.seq + 1 < oldest) {
          if (position.seq > 0) {
            this.#logger.warn(
              { catalogSeq: position.seq, oldest },
              'the catalog position was trimmed from the stream: rebuilding it from what the stream holds',
            );
          }
          // The rows in between come from each receiver's agent (its row export), in the background.
          this.catalog.skipTo(epoch, oldest - 1, [...snaps.keys()]);
          position = { epoch, seq: oldest - 1 };
        }
        if (liveFrom < oldest) {
          this.#logger.warn(
            { liveFrom, oldest },
            'a receiver snapshot is older than the stream’s oldest entry: events between are not in the live state',
          );
        }
        next = oldest;
      }
      let moved = false;
      for (;;) {
        const records = await this.stream.read(next, { epoch, limit: CATCH_UP_PAGE });
        if (records === null) {
          moved = true;
          break;
        }
        if (records.length === 0) break;
        const events: DashboardEvent[] = [];
        for (const record of records) {
          const event = clientEvent(record);
          events.push(event);
          if (event.seq > (snaps.get(record.receiver)?.seq ?? 0)) state = applyEvent(state, event);
          this.lastEventAt.set(record.receiver, Date.now());
        }
        const last = events.at(-1)?.seq ?? next - 1;
        if (last > position.seq) {
          this.catalog.apply(
            epoch,
            last,
            events.filter((e) => e.seq > (position?.seq ?? 0)),
          );
          position = { epoch, seq: last };
        }
        next = last + 1;
      }
      if (moved) {
        this.#logger.warn('the stream moved (new epoch or trimmed) while catching up: starting over');
        continue;
      }
      this.feed.rebase(epoch, next - 1, state);
      this.#subscription = await this.stream.subscribe(next, {
        records: (batch) => this.#apply(epoch, batch.map(clientEvent), batch),
        reset: (reason, detail) => {
          this.#logger.warn({ reason, ...detail }, `the stream subscription stopped (${reason}): rebuilding`);
          void this.#rebuild(reason);
        },
        error: (err) => {
          // Applying a record threw: built again from the snapshots and the stream, after a pause
          // (the subscription has stopped; left so, the replica would serve a frozen state).
          this.#ready = false;
          this.#logger.error({ err }, `the stream subscription failed: ${errorMessage(err)}; rebuilding`);
          setTimeout(() => void this.#rebuild('error'), 1000).unref();
        },
        readFailing: (err) => this.#noteStream(err),
      });
      this.#logger.info(
        { epoch, seq: next - 1, catalogSeq: position.seq, receivers: [...snaps.keys()] },
        'replica following the stream',
      );
      if (this.catalog.backfillJobs().length > 0) {
        this.#logger.warn(
          { jobs: this.catalog.backfillJobs() },
          'catalog incomplete: older rows the stream no longer holds are being fetched from the agents',
        );
        this.backfill.kick();
      }
      return;
    }
  }

  /** The stream's `_api` records (alert actions, live phases) up to `upto`, into the catalog. */
  async #replayApi(epoch: string, upto: number): Promise<void> {
    const posted: DashboardEvent[] = [];
    let from = await this.#oldestSeq(upto);
    while (from <= upto) {
      const records = await this.stream.read(from, {
        epoch,
        limit: Math.min(CATCH_UP_PAGE, upto - from + 1),
      });
      if (records === null || records.length === 0) break;
      for (const record of records) {
        if (record.receiver === API_RECEIVER && record.event.seq <= upto) posted.push(clientEvent(record));
      }
      from = (records.at(-1)?.event.seq ?? upto) + 1;
    }
    this.catalog.replayApi(posted);
    this.#logger.info(
      { events: posted.length, upto },
      'alert actions and live phases read back from the stream',
    );
  }

  #apply(epoch: string, events: DashboardEvent[], records: readonly { receiver: string }[]): void {
    this.feed.followAll(events);
    const last = events.at(-1);
    if (last) this.catalog.apply(epoch, last.seq, events);
    const now = Date.now();
    for (const r of records) this.lastEventAt.set(r.receiver, now);
  }

  /**
   * Why the stream cannot be read now (Redis away, or refusing reads), since when; null while it
   * answers. The replica still serves its last state meanwhile (README, failures).
   */
  get streamError(): { message: string; since: string } | null {
    return this.#streamError;
  }

  /** Reads of the stream failing (`err`, logged when a spell begins) or, with null, answered again. */
  #noteStream(err: unknown | null): void {
    if (err === null) {
      if (this.#streamError !== null) this.#logger.info('the stream answers again: reading on');
      this.#streamError = null;
    } else {
      this.#streamError = { message: errorMessage(err), since: new Date().toISOString() };
      this.#logger.warn({ err: errorMessage(err) }, 'the stream does not answer: reading on once it does');
    }
  }

  /** Why the last rebuild failed while the next one is still to come (the replica is not ready). */
  get rebuildError(): string | null {
    return this.#rebuildError;
  }

  #rebuild(reason: 'epoch' | 'trimmed' | 'error'): Promise<void> {
    this.#rebuilding ??= (async () => {
      this.#subscription = null;
      for (;;) {
        if (this.#stopped) return;
        try {
          await this.#build();
          this.#ready = true;
          this.#rebuildError = null;
          break;
        } catch (err) {
          // Not ready while it cannot follow the stream (a catalog it cannot write, say): a load
          // balancer sends viewers to a replica that can, rather than to this frozen one.
          this.#ready = false;
          this.#rebuildError = errorMessage(err);
          this.#logger.error({ err }, `replica rebuild failed: ${errorMessage(err)}; trying again`);
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }
      this.#o.onRebase?.(reason);
    })().finally(() => {
      this.#rebuilding = null;
    });
    return this.#rebuilding;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.backfill.stop();
    await this.#subscription?.close();
    await this.stream.close();
    this.catalog.close();
  }
}
