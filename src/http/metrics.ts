import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { WsHubStats } from '../bus/ws-hub.js';
import type { ExplorerThreadStats } from '../catalog/explorer-service.js';
import type { IntegrityVerifierStats } from '../catalog/verifier-service.js';
import type { PhaseMixStats } from '../phasemix/service.js';
import type { PipelineStats, SourceStats } from '../pipeline/pipeline.js';
import type { AgentStatus, DashboardState, ReceiverPart } from '../protocol/index.js';
import { splitHostKey } from '../protocol/receivers.js';
import { STORAGE_FAULTS } from '../state/errors.js';

/** Every metric of ours is `cis490_dashboard_*`; prom-client's process/Node.js metrics keep their standard names. */
export const PREFIX = 'cis490_dashboard_';

/** What the pipeline reports (readers, catalog, bus, folders). */
export type DashboardStats = PipelineStats;

/** What one scrape reads from the services, gathered once per scrape. */
export interface Scrape {
  stats: DashboardStats;
  state: DashboardState;
  hub: WsHubStats;
  phaseMix: PhaseMixStats | null;
  /** The integrity verifier's counters (null: none runs here, e.g. a replica). */
  verifier: IntegrityVerifierStats | null;
  /** The explorer thread's counters (null: the explorer reads inline here, e.g. a replica). */
  explorer: ExplorerThreadStats | null;
  startedAt: number;
  /** The catalog's storage fault, if any (`catalog_fault{reason}`). */
  catalogFault: string | null;
  /** Indexed episodes dated after now (null: the catalog could not be read). */
  futureDatedEpisodes: number | null;
  /** A replica's receivers' agents (`agent_up`); absent on a single box. */
  agents?: Record<string, AgentStatus>;
}

export type Sample = readonly [labels: Record<string, string>, value: number];

/**
 * prom-client's default metrics, as the server and the agent register them. Its event-loop delay
 * (`nodejs_eventloop_lag_*`, and our `event_loop_delay_*` read from it) is sampled by a timer
 * (`monitorEventLoopDelay`) every `eventLoopMonitoringPrecision` ms; at prom-client's 10 ms that
 * timer woke an otherwise idle event loop 100 times a second: ≈ 0.2–0.4 ms of CPU per 0.1 s on the
 * bench VM (a bare Node process with a 0.1 s interval: ≈ 0.5–0.75 ms per 0.1 s with it, ≈ 0.25–0.3
 * without, ≈ 0.35 at 50 ms), 5–10 % of the server's 1M-row steady cycle. A busy loop is not woken
 * by it (a tick due meanwhile runs in the same turn), so what it costs is idle time. Each sample is
 * the gap between two ticks, so values are at least this long: a loop blocked for D ms reads
 * between D and D + 50 ms (D to D + 10 before).
 */
export const DEFAULT_METRICS_CONFIG = { eventLoopMonitoringPrecision: 50 } as const;

export const LINT_FAILING_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

type StatType = 'counter' | 'gauge';

/**
 * The per-source series (label `source`: index, alerts), one row each: a number per source, or
 * counts under a second label (`reason`, `how`) per source.
 */
const PER_SOURCE: ReadonlyArray<
  | readonly [StatType, string, string, (src: SourceStats) => number]
  | readonly [StatType, string, string, string, (src: SourceStats) => Record<string, number>]
> = [
  ['counter', 'input_lines_total', 'Complete lines read from a tailed input file.', (x) => x.lines],
  ['counter', 'input_records_total', 'Lines accepted as records.', (x) => x.accepted],
  [
    'counter',
    'input_batches_total',
    'Batches of an input file appended to the ingest log (what the projections applied).',
    (x) => x.batches,
  ],
  [
    'counter',
    'input_bytes_total',
    'Bytes of input files consumed by the batches appended to the ingest log.',
    (x) => x.bytes,
  ],
  [
    'gauge',
    'input_bytes_read',
    'Read position in the current input file (compare with its size).',
    (x) => x.bytes_read,
  ],
  ['gauge', 'input_file_size_bytes', 'Size of the current input file.', (x) => x.file_size],
  ['counter', 'input_lines_skipped_total', 'Lines skipped, by reason.', 'reason', (x) => x.skipped],
  [
    'counter',
    'input_invalid_utf8_lines_total',
    'Lines with invalid UTF-8 (decoded with U+FFFD).',
    (x) => x.invalid_utf8_lines,
  ],
  ['counter', 'input_rotations_total', 'Rotations of an input file, by kind.', 'how', (x) => x.rotations],
  [
    'counter',
    'input_lost_bytes_total',
    'Bytes of an input file known not read (truncated without a copy, or left compressed).',
    (x) => x.lost_bytes,
  ],
  [
    'counter',
    'input_checkpoints_lost_total',
    'Starts whose checkpointed file was found nowhere (read up to its offset, the rest unknown).',
    (x) => x.checkpoints_lost,
  ],
  [
    'counter',
    'input_compressed_files_skipped_total',
    'Rotated .N.gz files after the checkpoint, reported and not read.',
    (x) => x.compressed_skipped,
  ],
];

const sources = (s: Scrape): SourceStats[] => [s.stats.index, s.stats.alerts];

/** A counter or gauge of `registry` whose samples are read at each scrape. */
export function declareStat(
  registry: Registry,
  type: StatType,
  name: string,
  help: string,
  labelNames: readonly string[],
  samples: () => readonly Sample[],
): void {
  const config = { name: `${PREFIX}${name}`, help, labelNames, registers: [registry] };
  if (type === 'gauge') {
    new Gauge({
      ...config,
      collect() {
        this.reset();
        for (const [labels, v] of samples()) this.set(labels, Number.isFinite(v) ? v : 0);
      },
    });
  } else {
    new Counter({
      ...config,
      collect() {
        this.reset();
        for (const [labels, v] of samples()) this.inc(labels, Number.isFinite(v) && v > 0 ? v : 0);
      },
    });
  }
}

/** The per-source input series (`input_*{source}`), read from `read()` at each scrape (null: none). */
export function declareSourceStats(registry: Registry, read: () => readonly SourceStats[] | null): void {
  for (const row of PER_SOURCE) {
    const [type, name, help] = row;
    if (row.length === 4) {
      const value = row[3];
      declareStat(registry, type, name, help, ['source'], () =>
        (read() ?? []).map((src) => [{ source: src.source }, value(src)] as const),
      );
    } else {
      const [, , , label, counts] = row;
      declareStat(registry, type, name, help, ['source', label], () =>
        (read() ?? []).flatMap((src) =>
          Object.entries(counts(src)).map(([k, n]) => [{ source: src.source, [label]: k }, n] as const),
        ),
      );
    }
  }
}

/** Latency buckets (seconds): sub-millisecond to seconds. */
const FAST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Phase-mix refreshes take milliseconds (cached) to minutes (a cold root). */
const SLOW_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900];

/**
 * The server's Prometheus registry (prom-client): default process and Node.js metrics, four
 * histograms fed as things happen, and today's counters and gauges, read from each component's
 * stats() once per scrape. One registry per server, so servers in one process never share series.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly wsSendLatency: Histogram;
  readonly phaseMixRefresh: Histogram;
  readonly catalogCommit: Histogram<'source'>;
  #source: (() => Scrape) | null = null;
  #scrape: Scrape | null = null;

  constructor() {
    collectDefaultMetrics({ register: this.registry, ...DEFAULT_METRICS_CONFIG });
    // Gauges named like counters fail `promtool check metrics`; their per-type twins
    // (nodejs_active_handles{type}, …) carry the same numbers.
    for (const name of LINT_FAILING_DEFAULTS) this.registry.removeSingleMetric(name);
    const registers = [this.registry];
    this.httpDuration = new Histogram({
      name: `${PREFIX}http_request_duration_seconds`,
      help: 'HTTP request duration, by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: FAST_BUCKETS,
      registers,
    });
    this.wsSendLatency = new Histogram({
      name: `${PREFIX}ws_send_latency_seconds`,
      help: 'Seconds from an event appended to the bus to its send to every live WebSocket client.',
      buckets: FAST_BUCKETS,
      registers,
    });
    this.phaseMixRefresh = new Histogram({
      name: `${PREFIX}phase_mix_refresh_duration_seconds`,
      help: 'Duration of completed phase-mix refreshes.',
      buckets: SLOW_BUCKETS,
      registers,
    });
    this.catalogCommit = new Histogram({
      name: `${PREFIX}catalog_commit_duration_seconds`,
      help: 'Duration of catalog transactions (rows with their checkpoint), by source file.',
      labelNames: ['source'],
      buckets: FAST_BUCKETS,
      registers,
    });
    this.#declareStats();
  }

  /** Where the counters and gauges read from (the services exist after the registry). */
  bind(source: () => Scrape): void {
    this.#source = source;
  }

  /** The exposition text of one scrape. */
  async render(): Promise<string> {
    this.#scrape = this.#source?.() ?? null;
    try {
      return await this.registry.metrics();
    } finally {
      this.#scrape = null;
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** A counter or gauge whose samples are read from the scrape. */
  #stat(
    type: 'counter' | 'gauge',
    name: string,
    help: string,
    labelNames: readonly string[],
    read: (s: Scrape) => readonly Sample[] | number | null,
  ): void {
    declareStat(this.registry, type, name, help, labelNames, () => {
      const s = this.#scrape;
      const got = s === null ? null : read(s);
      if (got === null) return [];
      return typeof got === 'number' ? [[{}, got]] : got;
    });
  }

  /**
   * Event-loop delay since start (the server must stay responsive during a bootstrap), from the
   * one sampler of the process: prom-client's default collector (`nodejs_eventloop_lag_*`, its
   * histogram reset at every scrape). The worst delay since start is the worst of every scrape
   * interval's (exact); the p99 is the highest interval p99 seen. Collected after the default
   * metrics (registered before), so each scrape's own interval counts.
   */
  #declareLoopDelay(): void {
    const since = { max: 0, p99: 0 };
    const read = async (name: string): Promise<number> => {
      const metric = this.registry.getSingleMetric(name);
      const value = metric ? (await metric.get()).values[0]?.value : undefined;
      return typeof value === 'number' && Number.isFinite(value) ? value : 0;
    };
    new Gauge({
      name: `${PREFIX}event_loop_delay_max_seconds`,
      help: 'Worst event-loop delay since start.',
      registers: [this.registry],
      async collect() {
        since.max = Math.max(since.max, await read('nodejs_eventloop_lag_max_seconds'));
        this.set(since.max);
      },
    });
    new Gauge({
      name: `${PREFIX}event_loop_delay_p99_seconds`,
      help: 'Highest 99th-percentile event-loop delay of a scrape interval since start.',
      registers: [this.registry],
      async collect() {
        since.p99 = Math.max(since.p99, await read('nodejs_eventloop_lag_p99_seconds'));
        this.set(since.p99);
      },
    });
  }

  /** Today's counters and gauges, under the names they had before prom-client. */
  #declareStats(): void {
    const stat = this.#stat.bind(this);
    declareSourceStats(this.registry, () => (this.#scrape === null ? null : sources(this.#scrape)));
    stat(
      'gauge',
      'catalog_fault',
      '1 while the catalog cannot be written or is corrupt, by reason (/readyz answers 503 meanwhile).',
      ['reason'],
      (s) => STORAGE_FAULTS.map((reason) => [{ reason }, s.catalogFault === reason ? 1 : 0] as const),
    );
    stat(
      'counter',
      'catalog_committed_lines_total',
      'Lines committed to the catalog with their checkpoint.',
      ['source'],
      (s) =>
        (['index', 'alerts'] as const).map(
          (source) => [{ source }, s.stats.catalog?.committed_lines[source] ?? 0] as const,
        ),
    );
    stat(
      'counter',
      'input_duplicate_ids_total',
      'Index lines repeating an episode id already counted.',
      [],
      (s) => s.stats.index.duplicates,
    );
    stat('gauge', 'episodes', 'Unique episodes in the index.', [], (s) => s.state.total_episodes);
    stat(
      'gauge',
      'episodes_bytes',
      'Sum of size_bytes over unique episodes.',
      [],
      (s) => s.state.total_bytes,
    );
    stat('gauge', 'alerts', 'Alerts read over all time.', [], (s) => s.state.total_alerts);
    stat(
      'gauge',
      'episodes_by_integrity',
      'Episodes by integrity status (ok, missing, unindexed, corrupt, unverified).',
      ['status'],
      (s) =>
        Object.entries(s.state.integrity?.total ?? {}).map(([status, n]) => [{ status }, n ?? 0] as const),
    );
    stat(
      'gauge',
      'host_last_received_timestamp_seconds',
      "Unix time of the newest indexed episode's received_at, per host, clamped at now (a silent host stops moving); with --redis also by receiver.",
      ['host', 'receiver'],
      (s) =>
        Object.entries(s.state.hosts_indexed).flatMap(([key, h]) => {
          const ms = h.last_received_at === null ? Number.NaN : Date.parse(h.last_received_at);
          const { receiver, host_id: host } = splitHostKey(key, s.state.receivers !== undefined);
          const labels: Record<string, string> = receiver === undefined ? { host } : { host, receiver };
          // Clamped at now: one episode dated in the future must not keep a silent host fresh for
          // a year (episodes_future_dated flags it).
          return Number.isFinite(ms) ? [[labels, Math.min(ms, Date.now()) / 1000] as const] : [];
        }),
    );
    stat(
      'gauge',
      'episodes_future_dated',
      'Indexed episodes whose received_at is later than now (clamped at now in the last-hour/24 h views and host last-episode times).',
      [],
      (s) => s.futureDatedEpisodes,
    );
    const perReceiver = (name: string, help: string, f: (p: ReceiverPart) => number) =>
      stat('gauge', name, help, ['receiver'], (s) =>
        Object.entries(s.state.receivers ?? {}).map(([receiver, p]) => [{ receiver }, f(p)] as const),
      );
    perReceiver(
      'receiver_episodes',
      'With --redis: unique episodes of each receiver.',
      (p) => p.total_episodes,
    );
    perReceiver(
      'receiver_bytes',
      'With --redis: size_bytes of each receiver’s episodes.',
      (p) => p.total_bytes,
    );
    perReceiver('receiver_alerts', 'With --redis: alerts of each receiver.', (p) => p.total_alerts);
    perReceiver('receiver_ready', 'With --redis: 1 when the receiver’s agent has caught up.', (p) =>
      p.ready ? 1 : 0,
    );
    stat(
      'gauge',
      'agent_up',
      'With --redis: 1 while the receiver’s agent heartbeat is in Redis, 0 once it expired (three heartbeat intervals without one).',
      ['receiver'],
      (s) => Object.entries(s.agents ?? {}).map(([receiver, a]) => [{ receiver }, a.up ? 1 : 0] as const),
    );
    stat('gauge', 'episode_files', 'Episode tarballs on disk.', [], (s) => s.stats.episodes_dir.files);
    stat('gauge', 'hosts', 'Hosts with episode folders on disk.', [], (s) => s.stats.episodes_dir.hosts);
    stat(
      'counter',
      'episodes_dir_errors_total',
      'Listings of episodes/ or of a host folder that failed (an unlistable host folder once, until listed again).',
      [],
      (s) => s.stats.episodes_dir.errors,
    );
    stat(
      'counter',
      'health_files_skipped_total',
      'Health files that could not be read.',
      [],
      (s) => s.stats.health.skipped,
    );
    stat('gauge', 'ready', '1 once the first pass over the data root is done.', [], (s) =>
      s.stats.ready ? 1 : 0,
    );
    stat(
      'gauge',
      'bootstrap_seconds',
      'Seconds from start to ready.',
      [],
      (s) => s.stats.bootstrap_seconds ?? 0,
    );
    stat(
      'gauge',
      'remembered_ids',
      'Episode ids accepted in this run, remembered as hashes so repeats count once.',
      [],
      (s) => s.stats.remembered_ids,
    );
    stat('gauge', 'bus_seq', 'Last event sequence number.', [], (s) => s.stats.bus.seq);
    stat(
      'gauge',
      'replay_buffer_events',
      'Events kept for resuming clients.',
      [],
      (s) => s.stats.bus.log_size,
    );
    stat('counter', 'events_published_total', 'Events published on the bus, by type.', ['type'], (s) =>
      Object.entries(s.stats.bus.events_total_by_type).map(([type, n]) => [{ type }, n] as const),
    );
    const hub = (type: 'counter' | 'gauge', name: string, help: string, key: keyof WsHubStats) =>
      stat(type, name, help, [], (s) => s.hub[key]);
    hub('gauge', 'ws_clients', 'Connected WebSocket clients.', 'clients');
    hub('counter', 'ws_connections_total', 'WebSocket connections accepted.', 'connections_total');
    hub('counter', 'ws_messages_sent_total', 'Messages sent to WebSocket clients.', 'messages_sent_total');
    hub('counter', 'ws_sent_bytes_total', 'Bytes sent to WebSocket clients.', 'bytes_sent_total');
    hub(
      'counter',
      'ws_slow_closed_total',
      'Clients closed for letting their queue grow past the cap.',
      'slow_closed_total',
    );
    hub('counter', 'ws_dead_dropped_total', 'Clients dropped for not answering pings.', 'dead_dropped_total');
    hub('counter', 'ws_resumes_total', 'Reconnects served from the replay buffer.', 'resumes_total');
    hub('counter', 'ws_resets_total', 'Reconnects answered with a fresh hello.', 'resets_total');
    hub(
      'counter',
      'ws_unauthorized_total',
      'WebSocket upgrades refused for a missing or wrong token.',
      'unauthorized_total',
    );
    // A series of one part of the scrape that a server may not have (no sample while it is null).
    const ofPart =
      <K extends 'phaseMix' | 'verifier' | 'explorer'>(key: K) =>
      (type: StatType, name: string, help: string, f: (part: NonNullable<Scrape[K]>) => number | null) =>
        stat(type, name, help, [], (s) => {
          const part = s[key];
          return part === null ? null : f(part as NonNullable<Scrape[K]>);
        });
    const pm = ofPart('phaseMix');
    pm('counter', 'phase_mix_refreshes_total', 'Phase-mix refreshes run.', (p) => p.refreshes_total);
    pm(
      'counter',
      'phase_mix_refresh_errors_total',
      'Phase-mix refreshes that failed.',
      (p) => p.refresh_errors_total,
    );
    pm(
      'counter',
      'phase_mix_episodes_read_total',
      'Episode tarballs read for labels.',
      (p) => p.episodes_read_total,
    );
    stat(
      'counter',
      'phase_mix_episodes_skipped_total',
      'Episode tarballs that could not be used, by reason.',
      ['reason'],
      (s) =>
        Object.entries(s.phaseMix?.skipped_read_total ?? {}).map(([reason, n]) => [{ reason }, n] as const),
    );
    pm('gauge', 'phase_mix_cache_entries', 'Episodes with cached labels.', (p) => p.cache_entries);
    pm('gauge', 'phase_mix_last_refresh_seconds', 'Duration of the last refresh.', (p) =>
      p.last_refresh ? p.last_refresh.duration_ms / 1000 : null,
    );
    const vf = ofPart('verifier');
    vf(
      'gauge',
      'verifier_running',
      'Whether the integrity verifier thread is running (1) or ended while idle (0).',
      (v) => (v.running ? 1 : 0),
    );
    vf(
      'counter',
      'verifier_thread_starts_total',
      'Integrity verifier threads started: the first, and one each time work came back after an idle end.',
      (v) => v.thread_starts_total,
    );
    vf(
      'counter',
      'verifier_rows_synced_total',
      'Catalog rows the integrity verifier classified against the files on disk.',
      (v) => v.rows_synced_total,
    );
    vf(
      'counter',
      'verifier_files_hashed_total',
      'Episode files the integrity verifier hashed.',
      (v) => v.files_hashed_total,
    );
    vf(
      'counter',
      'verifier_bytes_hashed_total',
      'Bytes the integrity verifier hashed.',
      (v) => v.bytes_hashed_total,
    );
    vf(
      'counter',
      'verifier_errors_total',
      'Integrity verifier cycles that failed (each is retried).',
      (v) => v.errors_total,
    );
    vf(
      'counter',
      'verifier_unreadable_files_total',
      'Indexed episode files the integrity verifier could not read to hash (each once until it changes or reads).',
      (v) => v.unreadable_files_total,
    );
    const ex = ofPart('explorer');
    ex(
      'gauge',
      'explorer_thread_running',
      'Whether the explorer thread is running (1) or ended while idle (0).',
      (e) => (e.running ? 1 : 0),
    );
    ex(
      'counter',
      'explorer_thread_starts_total',
      'Explorer threads started: by the first explorer read, and by the next one after each idle end.',
      (e) => e.thread_starts_total,
    );
    ex(
      'counter',
      'explorer_reads_total',
      'Explorer reads (pages, facets) run on the explorer thread.',
      (e) => e.calls_total,
    );
    ex(
      'counter',
      'explorer_read_errors_total',
      'Explorer reads the explorer thread could not answer.',
      (e) => e.errors_total,
    );
    stat(
      'gauge',
      'resident_memory_bytes',
      'Resident set size of the process.',
      [],
      () => process.memoryUsage().rss,
    );
    stat('gauge', 'heap_used_bytes', 'V8 heap in use.', [], () => process.memoryUsage().heapUsed);
    this.#declareLoopDelay();
    stat(
      'gauge',
      'uptime_seconds',
      'Seconds since the dashboard started.',
      [],
      (s) => (Date.now() - s.startedAt) / 1000,
    );
  }
}
