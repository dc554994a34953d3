import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildEpisodeTarball } from '../generate/episode.js';
import { wallAs } from '../generate/line-style.js';
import { type AlertLine, drawAlert } from '../generate/records.js';
import { Rng } from '../generate/rng.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { corruptTarball, type HostClock, planLiveEpisode } from './episodes.js';
import type { PostPhase } from './phase-client.js';
import { type DemoTiming, demoTiming, type HostProfile, hostProfiles, livePhaseOffsets } from './profiles.js';
import type { HostDiskCount, LogName, Receiver, ReceiverStats, RotationHow } from './receiver.js';
import { HostVitals } from './vitals.js';

/**
 * The live lab of the demo: hosts running episodes back to back (phases posted to the dashboard
 * as they happen, then the tarball lands), heartbeats, a monitor raising alerts, and log
 * rotation. Writes go through a `Receiver`; nothing here touches the file system itself.
 */

export interface SimulatorOptions {
  receiver: Receiver;
  postPhase: PostPhase;
  hosts: readonly string[];
  /** Episodes per minute, all hosts together. */
  ratePerMinute: number;
  seed: number;
  logger: Logger;
  /** Telemetry member size of each episode, KiB before compression. @default 16 */
  telemetryKb?: number;
  /** Overrides of the timings derived from the rate. */
  timing?: Partial<DemoTiming>;
}

export type SimEvent =
  | { kind: 'episode'; hostId: string; episodeId: string; sizeBytes: number; corrupt: boolean }
  | { kind: 'alert'; hostId: string; symptom: string; dedupKey: string }
  | { kind: 'rotated'; log: LogName; how: RotationHow }
  | { kind: 'phase'; hostId: string; phase: string; ok: boolean }
  | { kind: 'stale'; hostId: string; stale: boolean };

export interface SimulatorStats {
  /** Episodes landed (index lines written), corrupt ones included. */
  episodes: number;
  corruptEpisodes: number;
  failedEpisodes: number;
  /** Phase transitions posted: accepted (202) and rejected by reason. */
  phases: { accepted: number; rejected: Record<string, number> };
  receiver: ReceiverStats;
  /** Tarballs landed by the simulator still on disk, per host. */
  disk: Record<string, HostDiskCount>;
  staleHosts: string[];
}

interface HostState {
  profile: HostProfile;
  rng: Rng;
  clock: HostClock;
  vitals: HostVitals;
  stale: boolean;
  /** When its heartbeat stopped (while stale). */
  quietSinceMs: number;
  lastEpisodeId: string | undefined;
  /** False until its first episode began. */
  started: boolean;
}

export class Simulator {
  private readonly timing: DemoTiming;
  private readonly hosts: HostState[];
  private readonly rng: Rng;
  private readonly abort = new AbortController();
  private readonly listeners = new Set<(e: SimEvent) => void>();
  private loops: Array<Promise<void>> = [];
  private startedAt = 0;
  private episodes = 0;
  private corrupt = 0;
  private failed = 0;
  private accepted = 0;
  private readonly rejected: Record<string, number> = {};
  private stopping: Promise<void> | null = null;

  constructor(private readonly o: SimulatorOptions) {
    // Every host's loop waits on this one signal at once: with more than ten hosts Node warned of
    // a listener leak (MaxListenersExceededWarning at `--hosts 60`) where there is none.
    setMaxListeners(0, this.abort.signal);
    this.timing = { ...demoTiming(o.ratePerMinute), ...o.timing };
    this.rng = new Rng(o.seed);
    const profiles = hostProfiles(o.hosts, o.ratePerMinute, this.rng.fork(1));
    this.hosts = profiles.map((profile, i) => {
      const rng = this.rng.fork(100 + i);
      return {
        profile,
        rng,
        // Up an hour to three weeks; ns since then stay far below 2^53.
        clock: { bootMs: Date.now() - rng.int(3_600, 21 * 86_400) * 1000 },
        vitals: new HostVitals(profile.hostId, rng.fork(7)),
        stale: false,
        quietSinceMs: 0,
        lastEpisodeId: undefined,
        started: false,
      };
    });
  }

  /** Starts every loop; returns at once. */
  start(): void {
    if (this.loops.length > 0) return;
    this.startedAt = Date.now();
    this.loops = [
      ...this.hosts.map((h) => this.loop(`host ${h.profile.hostId}`, () => this.runEpisode(h))),
      this.loop('heartbeat', () => this.beat()),
      this.loop('monitor', () => this.monitor()),
      this.loop('rotation', () => this.rotations()),
    ];
  }

  /** Stops every loop, lets the write in progress finish; idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.abort.abort();
      await Promise.all(this.loops);
      await this.o.receiver.idle();
    })();
    return this.stopping;
  }

  /** Calls `listener` for every event; returns the unsubscribe function. */
  onEvent(listener: (e: SimEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once `pred(stats)` holds (checked now and after every event). */
  until(pred: (s: SimulatorStats) => boolean): Promise<void> {
    if (pred(this.stats())) return Promise.resolve();
    return new Promise((resolve) => {
      const off = this.onEvent(() => {
        if (!pred(this.stats())) return;
        off();
        resolve();
      });
    });
  }

  stats(): SimulatorStats {
    return {
      episodes: this.episodes,
      corruptEpisodes: this.corrupt,
      failedEpisodes: this.failed,
      phases: { accepted: this.accepted, rejected: { ...this.rejected } },
      receiver: this.o.receiver.stats(),
      disk: this.o.receiver.disk(),
      staleHosts: this.hosts.filter((h) => h.stale).map((h) => h.profile.hostId),
    };
  }

  private emit(e: SimEvent): void {
    for (const l of this.listeners) l(e);
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  /** Waits `ms`; false when the simulator stopped meanwhile. */
  private async wait(ms: number): Promise<boolean> {
    if (this.stopped) return false;
    try {
      await sleep(Math.max(0, ms), undefined, { signal: this.abort.signal });
      return true;
    } catch {
      return false; // aborted
    }
  }

  /** Runs `step` until stopped; a failing step is logged and retried after a pause. */
  private async loop(name: string, step: () => Promise<void>): Promise<void> {
    while (!this.stopped) {
      try {
        await step();
      } catch (err) {
        this.o.logger.warn({ loop: name, reason: errorMessage(err) }, 'demo simulator step failed; retrying');
        await this.wait(1_000);
      }
    }
  }

  // ── hosts ──

  /** Is the stale host in its quiet stretch now? (Works, goes quiet, comes back, again.) */
  private quietNow(h: HostState, nowMs: number): boolean {
    if (h.profile.role !== 'stale') return false;
    const { staleAfterMs, staleForMs } = this.timing;
    return (nowMs - this.startedAt) % (staleAfterMs + staleForMs) >= staleAfterMs;
  }

  private setStale(h: HostState, stale: boolean, nowMs: number): void {
    if (h.stale === stale) return;
    h.stale = stale;
    if (stale) h.quietSinceMs = nowMs;
    this.o.logger.info(
      { host: h.profile.hostId, stale },
      stale ? 'demo host went quiet' : 'demo host is back',
    );
    this.emit({ kind: 'stale', hostId: h.profile.hostId, stale });
  }

  /** One episode of one host: phases posted live, then the tarball lands. */
  private async runEpisode(h: HostState): Promise<void> {
    const nowMs = Date.now();
    if (this.quietNow(h, nowMs)) {
      this.setStale(h, true, nowMs);
      await this.wait(this.timing.staleForMs / 10);
      return;
    }
    this.setStale(h, false, nowMs);
    const { hostId, meanEpisodeMs } = h.profile;
    const liveMs = meanEpisodeMs * h.rng.range(0.7, 1.3);
    // The lab was busy before the demo started: each host's first episode is already under way
    // (its earlier phases are posted at once), so the hosts do not march in step.
    const t0 = nowMs - (h.started ? 0 : h.rng.range(0, 0.8) * liveMs);
    h.started = true;
    const plan = planLiveEpisode(hostId, h.clock, t0 + liveMs, this.o.telemetryKb ?? 16, h.rng);
    const episodeId = plan.spec.episodeId;
    // Phases fill the first 90% of the live run; the rest is packing and upload.
    const offsets = livePhaseOffsets(
      plan.labels.map((l) => l.t_mono_ns),
      plan.monoEndNs,
      liveMs * 0.9,
    );
    for (const [i, label] of plan.labels.entries()) {
      if (!(await this.wait(t0 + (offsets[i] ?? 0) - Date.now()))) return;
      await this.postPhase(hostId, episodeId, label.phase);
    }
    if (!(await this.wait(t0 + liveMs - Date.now()))) return;

    let tarball = buildEpisodeTarball(plan);
    const corrupt = h.profile.role === 'corrupt' && h.rng.chance(this.timing.corruptShare);
    if (corrupt) tarball = corruptTarball(tarball, h.rng);
    const landedMs = Date.now();
    await this.o.receiver.landEpisode(hostId, episodeId, tarball, wallAs('python', landedMs, h.rng));
    h.vitals.recorded(tarball.length);
    h.lastEpisodeId = episodeId;
    this.episodes += 1;
    if (corrupt) this.corrupt += 1;
    if (plan.meta.outcome === 'failed') this.failed += 1;
    this.emit({ kind: 'episode', hostId, episodeId, sizeBytes: tarball.length, corrupt });
    if (corrupt) await this.raise(corruptAlert(hostId, episodeId, landedMs, h.rng));
  }

  private async postPhase(hostId: string, episodeId: string, phase: string): Promise<void> {
    const outcome = await this.o.postPhase({
      host_id: hostId,
      episode_id: episodeId,
      phase,
      at: new Date().toISOString(),
    });
    if (outcome.ok) this.accepted += 1;
    else {
      const first = Object.keys(this.rejected).length === 0;
      this.rejected[outcome.reason] = (this.rejected[outcome.reason] ?? 0) + 1;
      if (first) this.o.logger.warn({ reason: outcome.reason }, 'demo: POST /api/phase failed');
    }
    this.emit({ kind: 'phase', hostId, phase, ok: outcome.ok });
  }

  // ── heartbeats, monitor, rotation ──

  private async beat(): Promise<void> {
    const nowMs = Date.now();
    for (const h of this.hosts) {
      const quiet = this.quietNow(h, nowMs);
      this.setStale(h, quiet, nowMs);
      if (!quiet) await this.o.receiver.writeHealth(h.vitals.heartbeat(nowMs));
    }
    await this.wait(this.timing.heartbeatMs);
  }

  /** The monitor: a quiet host is reported again and again (one dedup key), others now and then. */
  private async monitor(): Promise<void> {
    if (!(await this.wait(this.timing.monitorMs))) return;
    const nowMs = Date.now();
    for (const h of this.hosts) {
      const quietMs = nowMs - h.quietSinceMs;
      if (h.stale && quietMs >= 2 * this.timing.heartbeatMs) {
        await this.raise(heartbeatAlert(h.profile.hostId, quietMs, nowMs, h.rng));
      } else if (!h.stale && this.rng.chance(this.timing.alertChance)) {
        const alert = drawAlert(this.rng, h.profile.hostId, nowMs, h.lastEpisodeId);
        // Corrupt episodes are reported when they land, about the episode that was damaged.
        if (alert.symptom !== 'episode_corrupt') await this.raise(alert);
      }
    }
  }

  private async raise(alert: AlertLine): Promise<void> {
    await this.o.receiver.appendAlert(alert);
    this.emit({ kind: 'alert', hostId: alert.host, symptom: alert.symptom, dedupKey: alert.dedup_key });
  }

  private rotationCount = 0;

  /** Each log in turn, half a period apart; each log alternates rename and copytruncate. */
  private async rotations(): Promise<void> {
    if (!(await this.wait(this.timing.rotateEveryMs / 2))) return;
    const k = this.rotationCount++;
    const log: LogName = k % 2 === 0 ? 'index' : 'alerts';
    const how: RotationHow = Math.floor(k / 2) % 2 === 0 ? 'rename' : 'copytruncate';
    if (await this.o.receiver.rotate(log, how)) this.emit({ kind: 'rotated', log, how });
  }
}

function heartbeatAlert(host: string, quietMs: number, nowMs: number, rng: Rng): AlertLine {
  return {
    host,
    symptom: 'heartbeat_missed',
    detail: `no heartbeat for ${Math.round(quietMs / 1000)} s`,
    suggested_fix: 'Check the host is up and on the lab network; power-cycle it if it does not answer.',
    detected_at_wall: wallAs('python', nowMs, rng),
    dedup_key: `${host}:heartbeat_missed`,
  };
}

function corruptAlert(host: string, episodeId: string, nowMs: number, rng: Rng): AlertLine {
  return {
    host,
    symptom: 'episode_corrupt',
    detail: `${episodeId}: sha256 mismatch after upload`,
    suggested_fix: `Re-ship the episode from the host: cis490-shipper resend ${episodeId}.`,
    detected_at_wall: wallAs('python', nowMs, rng),
    dedup_key: `${host}:episode_corrupt:${episodeId}`,
  };
}
