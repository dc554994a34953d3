import type { Bus } from '../bus/bus.js';
import {
  dict,
  type HostDisk,
  type HostHealth,
  type IntegrityCounts,
  own,
  type Snapshot,
} from '../protocol/index.js';
import type { Logger } from '../util/log.js';
import type { LiveProjection } from './live-projection.js';

/**
 * The JSON of each record in a recent window, and of each value of a per-host map of records (the
 * hosts' last alerts, their health), made once: a record stays there for many snapshots. Such a
 * record is never changed once read (a host's new health or last alert is a new object).
 */
const recordJson = new WeakMap<object, string>();

function jsonOfRecord(record: object): string {
  let json = recordJson.get(record);
  if (json === undefined) {
    json = JSON.stringify(record);
    recordJson.set(record, json);
  }
  return json;
}

/** Keys of a snapshot whose value is a list of records (kept as they are while in the window). */
const RECORD_LISTS: ReadonlySet<string> = new Set(['recent_episodes', 'recent_alerts']);
/**
 * Keys of a snapshot whose value maps hosts to records (each kept until the host's next one). A
 * host's `hosts_indexed` entry is one object per change of its totals (`IndexAggregates`, and the
 * reducer replaces, never edits, an entry): between changes its JSON is the same.
 */
const RECORD_MAPS: ReadonlySet<string> = new Set(['host_last_alert', 'health', 'hosts_indexed']);
/**
 * Keys of a snapshot whose value is one record made anew only when it changes: the integrity
 * counts (one object per read of the catalog, kept 10 s) and the per-host files and bytes on disk
 * (`LiveState.smallParts`), whose JSON is then made once.
 */
const RECORD_VALUES: ReadonlySet<string> = new Set(['integrity', 'host_counts', 'host_bytes']);

/**
 * The JSON of one record list or per-host record map of the last snapshot (a slice of its text,
 * which the owner keeps anyway) and the records it was made of: a window or map that holds the
 * very same records again (the alerts, the health and last alerts between their rare changes) is
 * not joined again, and its records' JSON is not looked up again.
 */
interface JoinedRecords {
  /** The map's keys in order; null for a list. */
  keys: readonly string[] | null;
  records: readonly object[];
  text: string;
}

/** The JSON of each snapshot key's records as last joined (`snapshotMembers`); one per owner. */
export type MembersCache = Map<string, JoinedRecords>;

function sameRecords(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The members of `JSON.stringify(snapshot)` (the text between its braces), the same text, with the
 * recent windows and the per-host records joined from each record's JSON made once (a snapshot is
 * ~70 KB, most of it the 200 recent episodes and alerts and the hosts' health and last alerts, of
 * which a cycle changes a few). The records are never changed once read, so their JSON holds. One
 * flat string: comparing two is a memcmp. With a `cache`, a window or map holding the same records
 * as in the last call comes from it (see `JoinedRecords`).
 */
export function snapshotMembers(snapshot: Snapshot, cache?: MembersCache): string {
  const parts: string[] = [];
  /** Characters of the text pushed so far: where a joined window lies in the result. */
  let at = 0;
  const push = (text: string) => {
    parts.push(text);
    at += text.length;
  };
  /** Each joined window or map: its records, and where its text lies in the result. */
  const joined: Array<Omit<JoinedRecords, 'text'> & { key: string; start: number; end: number }> = [];
  for (const [key, value] of Object.entries(snapshot)) {
    if (value === undefined) continue; // as JSON.stringify leaves such a key out
    push(JSON.stringify(key));
    push(':');
    const isList = RECORD_LISTS.has(key);
    if (isList || (RECORD_MAPS.has(key) && value !== null)) {
      // Object.entries lists the keys in JSON.stringify's order (integer-like keys first).
      const entries = isList
        ? null
        : Object.entries(value as Record<string, object | undefined>).filter(([, r]) => r !== undefined);
      const keys = entries === null ? null : entries.map(([host]) => host);
      const records = entries === null ? (value as readonly object[]) : entries.map(([, r]) => r as object);
      const last = cache?.get(key);
      const start = at;
      if (
        last &&
        sameRecords(last.records, records) &&
        (keys === null || (last.keys !== null && sameRecords(last.keys, keys)))
      ) {
        push(last.text);
        joined.push({ key, keys: last.keys, records: last.records, start, end: at });
      } else {
        push(isList ? '[' : '{');
        for (let i = 0; i < records.length; i++) {
          if (i > 0) push(',');
          if (keys !== null) {
            push(JSON.stringify(keys[i]));
            push(':');
          }
          push(jsonOfRecord(records[i] as object));
        }
        push(isList ? ']' : '}');
        joined.push({ key, keys, records, start, end: at });
      }
    } else if (RECORD_VALUES.has(key) && typeof value === 'object' && value !== null) {
      push(jsonOfRecord(value));
    } else {
      push(JSON.stringify(value));
    }
    push(',');
  }
  parts.pop(); // the last ','
  const members = parts.join('');
  // Slices of the flat result (no copy), the reused ones too: the cache then holds this text only,
  // which the owner keeps anyway as its last snapshot's.
  for (const j of joined) {
    cache?.set(j.key, { keys: j.keys, records: j.records, text: members.slice(j.start, j.end) });
  }
  return members;
}

/** The parts of a snapshot not made by the live projection. */
interface SmallParts {
  host_counts: Record<string, number>;
  host_bytes: Record<string, number>;
  integrity: IntegrityCounts | null;
}

/** Whether `disk` gives the per-host counts and bytes `small` holds (hosts with neither left out). */
function sameDisk(disk: Record<string, HostDisk>, small: SmallParts): boolean {
  let hosts = 0;
  for (const host in disk) {
    const d = disk[host] as HostDisk;
    if (d.files === 0 && d.bytes === 0) continue;
    if (small.host_counts[host] !== d.files || small.host_bytes[host] !== d.bytes) return false;
    hosts++;
  }
  let before = 0;
  for (const _ in small.host_counts) before++;
  return hosts === before;
}

/**
 * Whether `now` says what the wall must not wait the next snapshot for (`integrityCounted`): another
 * number of corrupt episodes for a host (what a host's status takes from the integrity counts).
 */
function integrityNews(published: IntegrityCounts | null, now: IntegrityCounts): boolean {
  const hosts = new Set([...Object.keys(published?.hosts ?? {}), ...Object.keys(now.hosts)]);
  for (const host of hosts) {
    if ((own(published?.hosts, host)?.corrupt ?? 0) !== (own(now.hosts, host)?.corrupt ?? 0)) return true;
  }
  return false;
}

/** How often, at most, a bulk load (backlog of the index) publishes its progress as a snapshot. */
const BULK_SNAPSHOT_MS = 500;
/** Integrity counts come from the catalog; bulk snapshots are frequent, so they are reused this long. */
const INTEGRITY_TTL_MS = 10_000;
/**
 * After the verifier counted again, how soon its counts are looked at (the thread posts them at
 * most every 2 s while busy): several of its posts in that time are one look.
 */
const INTEGRITY_LOOK_MS = 1000;

export interface LiveStateOptions {
  bus: Bus;
  live: LiveProjection;
  /** Episode files per host on disk (the episodes-dir watcher). */
  disk(): Record<string, HostDisk>;
  /** Integrity counts from the catalog; null when unknown. */
  integrity(): IntegrityCounts;
  /** A catalog error met while counting; true when it was reported as a fault (not logged here). */
  reportError(err: unknown): boolean;
  logger: Logger;
  /** Seconds between periodic snapshots. */
  snapshotInterval: number;
}

/**
 * The snapshot side of the live state: builds snapshots from the running projections (never a
 * re-read), publishes them on a timer (unless unchanged), after a backlog's batches (throttled)
 * and at ready; keeps the per-host health and the readiness flag.
 */
export class LiveState {
  readonly startedAt = Date.now();
  private readonly healthByHost = dict<HostHealth>();
  private readyFlag = false;
  private readySeconds: number | null = null;
  private snapshotTimer: NodeJS.Timeout | null = null;
  private bulkTimer: NodeJS.Timeout | null = null;
  private lastSnapshotMembers: string | null = null;
  /** What the last snapshot was built from (see `changeKey`); null before the first. */
  private lastChangeKey: string | null = null;
  /** The last small parts (`smallParts`), and a version that goes up with each new one. */
  private lastSmall: SmallParts | null = null;
  private smallVersion = 0;
  /** Goes up with every change of `healthByHost`. */
  private healthVersion = 0;
  private integrityCache: { at: number; counts: IntegrityCounts } | null = null;
  private integrityTimer: NodeJS.Timeout | null = null;
  /** The recent windows' and per-host maps' JSON as last joined (`snapshotMembers`). */
  private readonly membersCache: MembersCache = new Map();
  private stopped = false;

  constructor(private readonly o: LiveStateOptions) {}

  get ready(): boolean {
    return this.readyFlag;
  }

  /** Seconds from start to ready, once ready. */
  get bootstrapSeconds(): number | null {
    return this.readySeconds;
  }

  start(): void {
    this.snapshotTimer = setInterval(() => this.periodicSnapshot(), this.o.snapshotInterval * 1000);
    this.snapshotTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.snapshotTimer) clearInterval(this.snapshotTimer);
    if (this.bulkTimer) clearTimeout(this.bulkTimer);
    if (this.integrityTimer) clearTimeout(this.integrityTimer);
  }

  /**
   * The integrity verifier counted again. Its counts reach clients with the snapshots (every
   * --snapshot-interval, 30 s by default), which is soon enough for episodes turning `ok` or
   * `missing` as they arrive; but not for what the wall would show wrong meanwhile: a host's
   * corrupt episodes (a reason of its status: protocol/host-status.ts), found or gone — on a cold
   * start, every host was shown without one until the first snapshot after the verifier's. Those
   * are published within INTEGRITY_LOOK_MS.
   */
  integrityCounted(): void {
    if (this.stopped || this.integrityTimer) return;
    this.integrityTimer = setTimeout(() => {
      this.integrityTimer = null;
      if (this.stopped) return;
      // Counted again now; the last counts stay the fallback should counting fail (`integrity`).
      if (this.integrityCache) this.integrityCache.at = Number.NEGATIVE_INFINITY;
      const now = this.integrity();
      // What the last snapshot published said: the state the bus folded from it.
      if (now !== null && integrityNews(this.o.bus.state.integrity, now)) this.periodicSnapshot();
    }, INTEGRITY_LOOK_MS);
    this.integrityTimer.unref();
  }

  /** Resolves when ready. */
  whenReady(): Promise<void> {
    if (this.readyFlag) return Promise.resolve();
    return new Promise((resolve) => {
      const unsubscribe = this.o.bus.subscribe((e) => {
        if (e.type === 'ready' && e.ready) {
          unsubscribe();
          resolve();
        }
      });
    });
  }

  setHealth(host: string, health: HostHealth | null): void {
    if (health) this.healthByHost[host] = health;
    else delete this.healthByHost[host];
    this.healthVersion++;
    this.o.bus.publish({ type: 'health', host_id: host, health });
  }

  /** The snapshot part of the state, from the running aggregates. */
  snapshot(): Snapshot {
    return this.build(this.smallParts());
  }

  /**
   * The parts of a snapshot that do not come from the live projection (small: per host): the last
   * ones, the very objects, while they say the same (`smallVersion` goes up when they do not), so
   * that the change key compares no text and the snapshot's JSON of them is made once.
   */
  private smallParts(): SmallParts {
    const disk = this.o.disk();
    const integrity = this.integrity();
    const last = this.lastSmall;
    if (last !== null && last.integrity === integrity && sameDisk(disk, last)) return last;
    const host_counts = dict<number>();
    const host_bytes = dict<number>();
    for (const [host, d] of Object.entries(disk)) {
      if (d.files === 0 && d.bytes === 0) continue;
      host_counts[host] = d.files;
      host_bytes[host] = d.bytes;
    }
    this.lastSmall = { host_counts, host_bytes, integrity };
    this.smallVersion++;
    return this.lastSmall;
  }

  private build(small: SmallParts): Snapshot {
    return {
      ...this.o.live.index.snapshotFields(),
      ...this.o.live.alerts.snapshotFields(),
      host_counts: small.host_counts,
      host_bytes: small.host_bytes,
      health: dict(this.healthByHost),
      ready: this.readyFlag,
      integrity: small.integrity,
    };
  }

  /**
   * Everything a snapshot is built from: the live projection's, the health's and the small
   * per-host parts' versions (`smallParts`), and the ready flag. Equal keys make equal snapshots,
   * so the timer need not build (and stringify, ~100 KB) one to find it unchanged.
   */
  private changeKey(): string {
    return `${this.o.live.version}|${this.healthVersion}|${this.smallVersion}|${this.readyFlag}`;
  }

  publishSnapshot(): void {
    if (this.stopped) return;
    const small = this.smallParts();
    const snapshot = this.build(small);
    this.publish(snapshot, snapshotMembers(snapshot, this.membersCache), this.changeKey());
  }

  /**
   * The timer's snapshot: published unless it would say exactly what the last one said. A quiet
   * lab would otherwise fill the replay ring (up to its 64 MiB) with identical 70 KB snapshots
   * over a few hours — memory held for nothing, since every client already has that state.
   * Unchanged inputs (`changeKey`) are found without building it; otherwise it is stringified once,
   * for the comparison and for the log (which makes the event's JSON from it), its recent
   * windows from each record's JSON made once (`snapshotMembers`).
   */
  periodicSnapshot(): void {
    if (this.stopped) return;
    const small = this.smallParts();
    const key = this.changeKey();
    if (key === this.lastChangeKey) return;
    const snapshot = this.build(small);
    const members = snapshotMembers(snapshot, this.membersCache);
    if (members === this.lastSnapshotMembers) {
      this.lastChangeKey = key;
      return;
    }
    this.publish(snapshot, members, key);
  }

  private publish(snapshot: Snapshot, members: string, key: string): void {
    this.lastSnapshotMembers = members;
    this.lastChangeKey = key;
    // `{ type, ...snapshot }` stringifies as the snapshot's members with `type` first.
    this.o.bus.publish({ type: 'snapshot', ...snapshot }, `"type":"snapshot",${members}`);
  }

  /** A backlog is published as snapshots (at most every 500 ms), not one event per line. */
  scheduleBulkSnapshot(): void {
    if (this.bulkTimer || this.stopped) return;
    this.bulkTimer = setTimeout(() => {
      this.bulkTimer = null;
      this.publishSnapshot();
    }, BULK_SNAPSHOT_MS);
  }

  /** The first pass is done: publish the state and say so. */
  markReady(): void {
    if (this.readyFlag || this.stopped) return;
    this.readyFlag = true;
    this.readySeconds = (Date.now() - this.startedAt) / 1000;
    if (this.bulkTimer) {
      clearTimeout(this.bulkTimer);
      this.bulkTimer = null;
    }
    this.publishSnapshot();
    this.o.bus.publish({ type: 'ready', ready: true });
    this.o.logger.info(
      {
        bootstrap_seconds: this.readySeconds,
        total_episodes: this.o.live.index.total_episodes,
        total_alerts: this.o.live.alerts.total_alerts,
      },
      'ready',
    );
  }

  private integrity(): IntegrityCounts | null {
    const now = Date.now();
    if (this.integrityCache && now - this.integrityCache.at < INTEGRITY_TTL_MS)
      return this.integrityCache.counts;
    try {
      this.integrityCache = { at: now, counts: this.o.integrity() };
    } catch (err) {
      if (!this.o.reportError(err)) this.o.logger.warn({ err }, 'cannot count integrity statuses');
    }
    return this.integrityCache?.counts ?? null;
  }
}
