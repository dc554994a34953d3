import path from 'node:path';
import { IngestLog, type IngestProjection } from '../bus/ingest-log.js';
import { EpisodesDirFeeder } from '../feeders/episodes-dir.js';
import { HealthDirFeeder } from '../feeders/health-dir.js';
import { checkpointFromKey } from '../feeders/tail/fingerprint.js';
import type { Checkpoint } from '../feeders/tail/types.js';
import { DataRootMonitor } from '../liveness/data-root-monitor.js';
import { PhaseMixService } from '../phasemix/service.js';
import { IngestMetrics } from '../pipeline/ingest-metrics.js';
import type { SourceStats } from '../pipeline/pipeline.js';
import { alertSource, IndexSource, type SourceOptions, type SourceReader } from '../pipeline/sources.js';
import { type DashboardState, emptyState } from '../protocol/index.js';
import { applyEvent } from '../protocol/reduce.js';
import type { FileMark, RedisStreamLog } from '../scaleout/redis-stream-log.js';
import { ownEvent, ownReceiverState, readSnapshot } from '../scaleout/snapshot.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { AgentAppender, type AppenderStats, MARK_SOURCE, type MarkSource } from './appender.js';
import type { AgentRowStore } from './rows.js';

/** What one run of the agent's readers needs (a run lasts until the stream's epoch changes). */
export interface AgentRunOptions {
  dataRoot: string;
  receiver: string;
  log: RedisStreamLog;
  logger: Logger;
  /** Seconds, as `serve` takes them. */
  pollInterval: number;
  rescanInterval: number;
  phaseInterval: number;
  phaseSample: number | 'all';
  /** The stream has a new epoch: the owner stops this run and starts another. */
  onEpochChanged(): void;
  /** Called after each keyed append answered `appended`, before anything else (fault tests). */
  afterAppend?(): void;
  /** The agent's row store (its catalog rows with their seqs, for `GET /api/rows`). */
  rows?: AgentRowStore;
  /** More consumers of the readers' batches, after the appender (the HTTP routes' path lookup). */
  projections?: readonly IngestProjection[];
}

/** Where a reader resumes: the newest file identity with a mark (the one `cur` names), at its mark. */
export function resumePoint(marks: readonly FileMark[]): Checkpoint | null {
  for (const m of marks) {
    const cp = checkpointFromKey(m.fileId, m.offset);
    if (cp) return cp;
  }
  return null;
}

/**
 * This receiver's state as of the stream's last seq: its snapshot, plus its events after the
 * snapshot's seq read back from the stream. Empty when it has no snapshot in this epoch (a first
 * start, or Redis lost its data: then every file is sent again from byte 0 anyway).
 */
export async function restoreState(
  log: RedisStreamLog,
  receiver: string,
  logger: Logger,
): Promise<{ state: DashboardState; snapshotSeq: number | null; replayed: number }> {
  const snap = await readSnapshot(log, receiver);
  let state = emptyState();
  if (!snap) return { state, snapshotSeq: null, replayed: 0 };
  if (snap.epoch !== log.epoch) {
    logger.warn({ snapshotEpoch: snap.epoch, epoch: log.epoch }, 'snapshot of another epoch ignored');
    return { state, snapshotSeq: null, replayed: 0 };
  }
  state = { ...state, ...ownReceiverState(snap.state, receiver) };
  let from = snap.seq + 1;
  let replayed = 0;
  for (;;) {
    const records = await log.read(from, { limit: 5000 });
    if (records === null) {
      logger.error(
        { receiver, snapshotSeq: snap.seq },
        "the stream was trimmed past this receiver's snapshot: its state misses the events in between (the stream holds too little for the snapshot interval)",
      );
      break;
    }
    const last = records.at(-1);
    if (!last) break;
    for (const r of records) {
      if (r.receiver !== receiver) continue;
      state = applyEvent(state, ownEvent(r.event));
      replayed++;
    }
    from = last.event.seq + 1;
  }
  return { state, snapshotSeq: snap.seq, replayed };
}

/** One source file's reader, restartable at a mark (after an overlap). */
class SourceSlot {
  reader: SourceReader;
  #chain: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(
    private readonly make: (start: Checkpoint | null) => SourceReader,
    start: Checkpoint | null,
    private readonly logger: Logger,
  ) {
    this.reader = make(start);
  }

  start(): Promise<void> {
    return this.reader.start();
  }

  /** Stops the reader and starts a new one at `start` (not awaited by the batch that asked). */
  restartAt(start: Checkpoint | null): void {
    this.#chain = this.#chain.then(async () => {
      if (this.#stopped) return;
      await this.reader.stop();
      if (this.#stopped) return;
      this.reader = this.make(start);
      await this.reader.start();
    });
    this.#chain.catch((err: unknown) =>
      this.logger.error({ err: errorMessage(err) }, 'restarting a reader failed'),
    );
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#chain.catch(() => undefined);
    await this.reader.stop();
  }
}

/**
 * One run of the agent's readers over its data root, in one epoch of the stream: the index and
 * alerts readers resumed from this receiver's marks (batches appended keyed), the `episodes/` and
 * `health/` feeders, the data-root monitor and the phase mix (appended unkeyed), and the state
 * restored from the snapshot.
 */
export class AgentRun {
  readonly appender: AgentAppender;
  readonly #o: AgentRunOptions;
  readonly #slots: Record<'index' | 'alerts', SourceSlot>;
  /** What the readers' batches carried (the `input_*_total` series), across reader restarts. */
  readonly #counts = new IngestMetrics();
  readonly #episodesDir: EpisodesDirFeeder;
  readonly #health: HealthDirFeeder;
  readonly #phaseMix: PhaseMixService;
  #dataRootMonitor: DataRootMonitor | null = null;
  #dirsScanned = false;
  #ready = false;
  #readyWaiters: Array<() => void> = [];
  #stopped = false;

  private constructor(
    o: AgentRunOptions,
    state: DashboardState,
    marks: Record<MarkSource, FileMark[]>,
    headAtStart: number,
  ) {
    this.#o = o;
    const { dataRoot, receiver, logger } = o;
    const startMarks = new Map<MarkSource, Map<string, number>>();
    for (const [source, list] of Object.entries(marks) as Array<[MarkSource, FileMark[]]>) {
      startMarks.set(source, new Map(list.map((m) => [m.fileId, m.offset])));
    }
    this.appender = new AgentAppender({
      log: o.log,
      receiver,
      logger,
      epoch: o.log.epoch,
      state,
      startMarks,
      onOverlap: (source, fileKey, markOffset) => {
        const slot = source === MARK_SOURCE.index ? this.#slots.index : this.#slots.alerts;
        slot.restartAt(checkpointFromKey(fileKey, markOffset));
      },
      onEpochChanged: () => o.onEpochChanged(),
      headAtStart,
      ...(o.rows ? { rows: o.rows } : {}),
      ...(o.afterAppend ? { afterAppend: o.afterAppend } : {}),
    });
    const ingest = new IngestLog();
    ingest.subscribe(this.#counts);
    ingest.subscribe(this.appender);
    for (const p of o.projections ?? []) ingest.subscribe(p);
    const pollIntervalMs = o.pollInterval * 1000;
    const sourceOptions = (name: 'index' | 'alerts', start: Checkpoint | null): SourceOptions => ({
      path: path.join(dataRoot, MARK_SOURCE[name]),
      start,
      pollIntervalMs,
      logger,
      log: ingest,
      onCaughtUp: () => this.#checkReady(),
      fileKeys: true,
    });
    // Each run keeps its own repeat check (ids accepted in this run): a replica dedups by
    // (receiver, episode_id) across runs. Never "cold": the ranged first pass has no marks.
    this.#slots = {
      index: new SourceSlot(
        (start) => new IndexSource(sourceOptions('index', start), () => false),
        resumePoint(marks['index.jsonl']),
        logger,
      ),
      alerts: new SourceSlot(
        (start) => alertSource(sourceOptions('alerts', start)),
        resumePoint(marks['alerts.jsonl']),
        logger,
      ),
    };
    const publish = this.appender.publish.bind(this.appender);
    this.#episodesDir = new EpisodesDirFeeder({
      dataRoot,
      logger,
      rescanIntervalMs: o.rescanInterval * 1000,
      onHostChange: (host, disk) => publish({ type: 'host_disk', host_id: host, ...disk, receiver }),
      onNewFiles: () => this.#phaseMix.notifyNewEpisodes(),
    });
    this.#phaseMix = new PhaseMixService({
      dataRoot,
      db: null,
      logger,
      sample: o.phaseSample,
      intervalMs: o.phaseInterval * 1000,
      publish: (mix) => publish({ type: 'phase_mix', ...mix }),
      files: this.#episodesDir,
    });
    this.#health = new HealthDirFeeder({
      dataRoot,
      logger,
      rescanIntervalMs: o.rescanInterval * 1000,
      onHealth: (host, health) => publish({ type: 'health', host_id: host, health, receiver }),
    });
  }

  /**
   * Builds a run: reads the marks and restores the state (both before anything of this run is
   * appended), writes the snapshot at start, then starts the readers.
   */
  static async start(o: AgentRunOptions): Promise<AgentRun> {
    const marks = {
      'index.jsonl': await o.log.marks(o.receiver, MARK_SOURCE.index),
      'alerts.jsonl': await o.log.marks(o.receiver, MARK_SOURCE.alerts),
    };
    const restored = await restoreState(o.log, o.receiver, o.logger);
    const headAtStart = await o.log.lastSeq();
    o.rows?.begin(o.log.epoch, {
      marks: { episode: marks['index.jsonl'], alert: marks['alerts.jsonl'] },
      headAtStart,
    });
    const run = new AgentRun(o, restored.state, marks, headAtStart);
    const snap = await run.appender.snapshot();
    // Replicas show this receiver catching up again until its first pass is appended (`#checkReady`).
    run.appender.publish({ type: 'ready', ready: false, receiver: o.receiver });
    o.logger.info(
      {
        epoch: o.log.epoch,
        snapshotSeq: restored.snapshotSeq,
        replayed: restored.replayed,
        resumeIndex: resumePoint(marks['index.jsonl'])?.offset ?? 0,
        resumeAlerts: resumePoint(marks['alerts.jsonl'])?.offset ?? 0,
        snapshot: snap,
      },
      'agent run started: state restored, snapshot written, readers resume from their marks',
    );
    await run.#startReaders();
    return run;
  }

  async #startReaders(): Promise<void> {
    const publish = this.appender.publish.bind(this.appender);
    this.#dataRootMonitor = new DataRootMonitor({ dataRoot: this.#o.dataRoot, publish });
    await Promise.all([this.#slots.index.start(), this.#slots.alerts.start()]);
    void Promise.all([this.#episodesDir.start(), this.#health.start()]).then(() => {
      this.#dirsScanned = true;
      this.#checkReady();
    });
  }

  #checkReady(): void {
    if (this.#ready || this.#stopped) return;
    const { index, alerts } = this.#slots;
    if (!(index.reader.isCaughtUp && alerts.reader.isCaughtUp && this.#dirsScanned)) return;
    this.#ready = true;
    this.#o.logger.info('first pass appended: agent ready');
    // Said in the stream too: a replica's receiver part is ready from this event on (one that
    // started before this receiver's first snapshot had nothing else to tell it).
    this.appender.publish({ type: 'ready', ready: true, receiver: this.#o.receiver });
    this.#phaseMix.start();
    for (const resolve of this.#readyWaiters.splice(0)) resolve();
    // Rows a killed run appended without recording them: found in the stream now, not when a
    // replica first asks for them.
    this.reconcileRows().catch((err: unknown) =>
      this.#o.logger.warn({ err: errorMessage(err) }, 'row store not filled from the stream yet'),
    );
  }

  /**
   * The row store made exact up to the stream's head as it is now: no append in flight (each
   * answered one recorded), then what was noted dirty filled from the stream.
   */
  async reconcileRows(): Promise<void> {
    const { rows } = this.#o;
    if (!rows) return;
    await this.appender.settled();
    await rows.reconcile(this.#o.log, this.#o.receiver);
  }

  /** True once the first pass over the data root was appended (index, alerts, episodes/, health/). */
  get ready(): boolean {
    return this.#ready;
  }

  whenReady(): Promise<void> {
    if (this.#ready) return Promise.resolve();
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  stats(): AppenderStats & { index: SourceStats; alerts: SourceStats } {
    return {
      ...this.appender.stats(),
      index: { ...this.#slots.index.reader.stats(), ...this.#counts.counts('index') },
      alerts: { ...this.#slots.alerts.reader.stats(), ...this.#counts.counts('alerts') },
    };
  }

  /** Stops everything of this run; appends waiting for Redis give up. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.appender.stop();
    this.#dataRootMonitor?.stop();
    this.#episodesDir.stop();
    this.#health.stop();
    await this.#phaseMix.stop();
    await Promise.all([this.#slots.index.stop(), this.#slots.alerts.stop()]);
  }
}
