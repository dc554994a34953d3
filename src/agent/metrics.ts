import { collectDefaultMetrics, Registry } from 'prom-client';
import {
  DEFAULT_METRICS_CONFIG,
  declareSourceStats,
  declareStat,
  LINT_FAILING_DEFAULTS,
  type Sample,
} from '../http/metrics.js';
import type { AgentRun } from './run.js';

type RunStats = ReturnType<AgentRun['stats']>;

/** The agent's own series, one number each, read from its run's stats. */
const AGENT_SERIES: ReadonlyArray<readonly ['counter' | 'gauge', string, string, (s: RunStats) => number]> = [
  [
    'counter',
    'agent_events_appended_total',
    'Events of keyed batches appended to the stream.',
    (s) => s.events_appended,
  ],
  [
    'counter',
    'agent_overlaps_total',
    "Batches refused as straddling their file's mark (the file is read again from the mark).",
    (s) => s.overlaps,
  ],
  [
    'counter',
    'agent_resends_total',
    'Keyed batches sent again after Redis did not answer (lost connection, Redis restarting).',
    (s) => s.resends,
  ],
  [
    'gauge',
    'agent_last_seq',
    'Global seq of the last event this agent appended (0 before any).',
    (s) => s.last_seq,
  ],
];

/** What a scrape of the agent reads: its current run (null before the first is started). */
export type AgentScrapeSource = () => { run: Pick<AgentRun, 'stats'>; ready: boolean } | null;

/**
 * The agent's Prometheus registry (`GET /metrics` on its `--listen`): prom-client's default process
 * and Node.js metrics, the single box's `input_*{source}` series for its readers, and its appends
 * to the shared stream, each read from the run's stats once per scrape.
 */
export class AgentMetrics {
  readonly registry = new Registry();

  constructor(source: AgentScrapeSource) {
    collectDefaultMetrics({ register: this.registry, ...DEFAULT_METRICS_CONFIG });
    for (const name of LINT_FAILING_DEFAULTS) this.registry.removeSingleMetric(name);
    const stats = () => source()?.run.stats() ?? null;
    declareSourceStats(this.registry, () => {
      const s = stats();
      return s === null ? null : [s.index, s.alerts];
    });
    for (const [type, name, help, read] of AGENT_SERIES) {
      declareStat(this.registry, type, name, help, [], (): readonly Sample[] => {
        const s = stats();
        return s === null ? [] : [[{}, read(s)]];
      });
    }
    declareStat(
      this.registry,
      'counter',
      'agent_batches_total',
      'Keyed reader batches sent to the stream, by answer: appended, or skipped (had landed already).',
      ['status'],
      () => {
        const s = stats();
        return s === null
          ? []
          : [
              [{ status: 'appended' }, s.batches_appended],
              [{ status: 'skipped' }, s.batches_skipped],
            ];
      },
    );
    declareStat(
      this.registry,
      'gauge',
      'agent_ready',
      '1 once the first pass over the data root is appended.',
      [],
      () => [[{}, source()?.ready ? 1 : 0]],
    );
  }

  async render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
