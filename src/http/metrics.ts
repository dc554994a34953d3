import { monitorEventLoopDelay } from 'node:perf_hooks';
import { STORAGE_FAULTS } from '../state/errors.js';
import type { AppContext } from './context.js';

type Labels = Record<string, string>;

/** Prometheus text exposition, built at scrape time from each component's stats(). */
class Exposition {
  private readonly lines: string[] = [];
  private readonly declared = new Set<string>();

  metric(name: string, type: 'counter' | 'gauge', help: string, value: number, labels: Labels = {}): void {
    const full = `cis490_dashboard_${name}`;
    if (!this.declared.has(full)) {
      this.declared.add(full);
      this.lines.push(`# HELP ${full} ${help}`, `# TYPE ${full} ${type}`);
    }
    const l = Object.entries(labels)
      .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
      .join(',');
    this.lines.push(`${full}${l ? `{${l}}` : ''} ${Number.isFinite(value) ? value : 0}`);
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

/** Event-loop delay of this process (the server must stay responsive during a bootstrap). */
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

export function renderMetrics(ctx: AppContext): string {
  const m = new Exposition();
  const s = ctx.stats();
  for (const src of [s.index, s.alerts]) {
    const l = { source: src.source };
    m.metric('input_lines_total', 'counter', 'Complete lines read from a tailed input file.', src.lines, l);
    m.metric('input_records_total', 'counter', 'Lines accepted as records.', src.accepted, l);
    m.metric(
      'input_bytes_read',
      'gauge',
      'Read position in the current input file (compare with its size).',
      src.bytes_read,
      l,
    );
    m.metric('input_file_size_bytes', 'gauge', 'Size of the current input file.', src.file_size, l);
    for (const [reason, n] of Object.entries(src.skipped)) {
      m.metric('input_lines_skipped_total', 'counter', 'Lines skipped, by reason.', n, { ...l, reason });
    }
    m.metric(
      'input_invalid_utf8_lines_total',
      'counter',
      'Lines with invalid UTF-8 (decoded with U+FFFD).',
      src.invalid_utf8_lines,
      l,
    );
    for (const [how, n] of Object.entries(src.rotations)) {
      m.metric('input_rotations_total', 'counter', 'Rotations of an input file, by kind.', n, { ...l, how });
    }
    m.metric(
      'input_lost_bytes_total',
      'counter',
      'Bytes of an input file known not read (truncated without a copy, or left compressed).',
      src.lost_bytes,
      l,
    );
    m.metric(
      'input_checkpoints_lost_total',
      'counter',
      'Starts whose checkpointed file was found nowhere (read up to its offset, the rest unknown).',
      src.checkpoints_lost,
      l,
    );
    m.metric(
      'input_compressed_files_skipped_total',
      'counter',
      'Rotated .N.gz files after the checkpoint, reported and not read.',
      src.compressed_skipped,
      l,
    );
    m.metric(
      'catalog_committed_lines_total',
      'counter',
      'Lines committed to the catalog with their checkpoint.',
      s.catalog?.committed_lines[src.source as 'index' | 'alerts'] ?? 0,
      l,
    );
  }
  m.metric(
    'input_duplicate_ids_total',
    'counter',
    'Index lines repeating an episode id already counted.',
    s.index.duplicates,
  );
  const state = ctx.events.state;
  m.metric('episodes', 'gauge', 'Unique episodes in the index.', state.total_episodes);
  m.metric('episodes_bytes', 'gauge', 'Sum of size_bytes over unique episodes.', state.total_bytes);
  m.metric('alerts', 'gauge', 'Alerts read over all time.', state.total_alerts);
  for (const [status, n] of Object.entries(state.integrity?.total ?? {})) {
    m.metric(
      'episodes_by_integrity',
      'gauge',
      'Episodes by integrity status (ok, missing, unindexed, corrupt, unverified).',
      n ?? 0,
      { status },
    );
  }
  m.metric('episode_files', 'gauge', 'Episode tarballs on disk.', s.episodes_dir.files);
  m.metric('hosts', 'gauge', 'Hosts with episode folders on disk.', s.episodes_dir.hosts);
  m.metric('health_files_skipped_total', 'counter', 'Health files that could not be read.', s.health.skipped);
  m.metric('ready', 'gauge', '1 once the first pass over the data root is done.', s.ready ? 1 : 0);
  m.metric('bootstrap_seconds', 'gauge', 'Seconds from start to ready.', s.bootstrap_seconds ?? 0);
  const fault = ctx.catalogHealth.fault?.fault;
  for (const reason of STORAGE_FAULTS) {
    m.metric(
      'catalog_fault',
      'gauge',
      '1 while the catalog cannot be written or is corrupt, by reason (/readyz answers 503 meanwhile).',
      fault === reason ? 1 : 0,
      { reason },
    );
  }
  m.metric(
    'remembered_ids',
    'gauge',
    'Episode ids accepted in this run, remembered as hashes so repeats count once.',
    s.remembered_ids,
  );
  m.metric('bus_seq', 'gauge', 'Last event sequence number.', s.bus.seq);
  m.metric('replay_buffer_events', 'gauge', 'Events kept for resuming clients.', s.bus.log_size);
  for (const [type, n] of Object.entries(s.bus.events_total_by_type)) {
    m.metric('events_published_total', 'counter', 'Events published on the bus, by type.', n, { type });
  }
  const hub = ctx.hub.stats();
  m.metric('ws_clients', 'gauge', 'Connected WebSocket clients.', hub.clients);
  m.metric('ws_connections_total', 'counter', 'WebSocket connections accepted.', hub.connections_total);
  m.metric(
    'ws_messages_sent_total',
    'counter',
    'Messages sent to WebSocket clients.',
    hub.messages_sent_total,
  );
  m.metric('ws_sent_bytes_total', 'counter', 'Bytes sent to WebSocket clients.', hub.bytes_sent_total);
  m.metric(
    'ws_slow_closed_total',
    'counter',
    'Clients closed for letting their queue grow past the cap.',
    hub.slow_closed_total,
  );
  m.metric(
    'ws_dead_dropped_total',
    'counter',
    'Clients dropped for not answering pings.',
    hub.dead_dropped_total,
  );
  m.metric('ws_resumes_total', 'counter', 'Reconnects served from the replay buffer.', hub.resumes_total);
  m.metric('ws_resets_total', 'counter', 'Reconnects answered with a fresh hello.', hub.resets_total);
  m.metric(
    'ws_unauthorized_total',
    'counter',
    'WebSocket upgrades refused for a missing or wrong token.',
    hub.unauthorized_total,
  );
  if (ctx.phaseMix) {
    const pm = ctx.phaseMix.stats();
    m.metric('phase_mix_refreshes_total', 'counter', 'Phase-mix refreshes run.', pm.refreshes_total);
    m.metric(
      'phase_mix_refresh_errors_total',
      'counter',
      'Phase-mix refreshes that failed.',
      pm.refresh_errors_total,
    );
    m.metric(
      'phase_mix_episodes_read_total',
      'counter',
      'Episode tarballs read for labels.',
      pm.episodes_read_total,
    );
    for (const [reason, n] of Object.entries(pm.skipped_read_total)) {
      m.metric(
        'phase_mix_episodes_skipped_total',
        'counter',
        'Episode tarballs that could not be used, by reason.',
        n,
        { reason },
      );
    }
    m.metric('phase_mix_cache_entries', 'gauge', 'Episodes with cached labels.', pm.cache_entries);
    if (pm.last_refresh) {
      m.metric(
        'phase_mix_last_refresh_seconds',
        'gauge',
        'Duration of the last refresh.',
        pm.last_refresh.duration_ms / 1000,
      );
    }
  }
  const mem = process.memoryUsage();
  m.metric('resident_memory_bytes', 'gauge', 'Resident set size of the process.', mem.rss);
  m.metric('heap_used_bytes', 'gauge', 'V8 heap in use.', mem.heapUsed);
  m.metric(
    'event_loop_delay_max_seconds',
    'gauge',
    'Worst event-loop delay since start.',
    loopDelay.max / 1e9,
  );
  m.metric(
    'event_loop_delay_p99_seconds',
    'gauge',
    '99th percentile event-loop delay since start.',
    loopDelay.percentile(99) / 1e9,
  );
  m.metric(
    'uptime_seconds',
    'gauge',
    'Seconds since the dashboard started.',
    (Date.now() - ctx.readiness.startedAt) / 1000,
  );
  return m.text();
}
