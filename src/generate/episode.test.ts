import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decompress } from 'zstd-napi';
import { tempDir } from '../../test/support/tmp.js';
import {
  buildEpisodeTarball,
  type EpisodeSpec,
  episodeLabels,
  episodePhaseTotals,
  FAILED_PHASE,
  PHASES,
  planEpisode,
} from './episode.js';

const SPEC: EpisodeSpec = {
  episodeId: 'ep-20261101T120000-0badf00d',
  hostId: 'host-01',
  startMs: Date.UTC(2026, 10, 1, 12),
  monoStartNs: 86_400e9,
  telemetryKb: 16,
  seed: 11,
};

/** `zstd -dc FILE | tar <args>` through the system tools. */
function zstdTar(file: string, args: string[]): string {
  return execFileSync('sh', ['-c', `zstd -dc "$1" | tar ${args.join(' ')}`, 'sh', file], {
    encoding: 'utf8',
  });
}

function writeTarball(spec: EpisodeSpec): string {
  const file = path.join(tempDir(), `${spec.episodeId}.tar.zst`);
  fs.writeFileSync(file, buildEpisodeTarball(spec));
  return file;
}

describe('buildEpisodeTarball', () => {
  it('holds meta.json, labels.jsonl and telemetry, in that order, under the episode folder', () => {
    const file = writeTarball(SPEC);
    const id = SPEC.episodeId;
    expect(zstdTar(file, ['-tf', '-']).split('\n').filter(Boolean)).toEqual([
      `${id}/`,
      `${id}/meta.json`,
      `${id}/labels.jsonl`,
      `${id}/telemetry.csv`,
    ]);
    // The telemetry member is exactly telemetryKb KiB, CSV with a header.
    const verbose = zstdTar(file, ['-tvf', '-']);
    expect(verbose).toMatch(new RegExp(`\\s${16 * 1024}\\s.*${id}/telemetry\\.csv`));
    const csv = zstdTar(file, ['-xOf', '-', `${id}/telemetry.csv`]);
    expect(csv.length).toBe(16 * 1024);
    expect(csv.split('\n')[0]).toBe(
      't_mono_ns,phase,cpu_pct,mem_mb,net_rx_bytes,net_tx_bytes,disk_write_bytes,procs',
    );
  });

  it('carries the labels and meta that planEpisode describes', () => {
    const file = writeTarball(SPEC);
    const id = SPEC.episodeId;
    const labels = zstdTar(file, ['-xOf', '-', `${id}/labels.jsonl`])
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(labels).toEqual(episodeLabels(SPEC));
    const meta = JSON.parse(zstdTar(file, ['-xOf', '-', `${id}/meta.json`]));
    const plan = planEpisode(SPEC);
    expect(meta).toEqual(plan.meta);
    expect(meta).toMatchObject({ episode_id: id, host_id: 'host-01', t_mono_start_ns: SPEC.monoStartNs });
    expect(meta.t_mono_end_ns).toBeGreaterThanOrEqual(labels.at(-1).t_mono_ns);
    expect(Date.parse(meta.ended_at_wall)).toBeGreaterThan(Date.parse(meta.started_at_wall));
  });

  it('is deterministic and compressed with zstd', () => {
    const a = buildEpisodeTarball(SPEC);
    expect(a.equals(buildEpisodeTarball(SPEC))).toBe(true);
    expect(a.equals(buildEpisodeTarball({ ...SPEC, seed: 12 }))).toBe(false);
    expect(a.subarray(0, 4).toString('hex')).toBe('28b52ffd'); // zstd frame magic
    expect(a.length).toBeLessThan(decompress(a).length / 2);
  });

  it('writes an empty telemetry member for telemetryKb 0', () => {
    const file = writeTarball({ ...SPEC, telemetryKb: 0 });
    expect(zstdTar(file, ['-xOf', '-', `${SPEC.episodeId}/telemetry.csv`])).toBe('');
  });
});

describe('episode labels', () => {
  const specs = Array.from({ length: 2000 }, (_, i) => ({ ...SPEC, episodeId: `ep-${i}`, seed: i }));

  it('walk boot → baseline → infecting → infected_running, or stop early in failed', () => {
    for (const spec of specs) {
      const labels = episodeLabels(spec);
      const phases = labels.map((l) => l.phase);
      if (phases.at(-1) === FAILED_PHASE) {
        expect(phases.slice(0, -1)).toEqual(PHASES.slice(0, phases.length - 1));
      } else {
        expect(phases).toEqual([...PHASES]);
      }
      for (const [i, label] of labels.entries()) {
        expect(label.episode_id).toBe(spec.episodeId);
        expect(Number.isSafeInteger(label.t_mono_ns)).toBe(true);
        expect(new Date(label.t_wall).toISOString()).toBe(label.t_wall);
        const prev = labels[i - 1];
        if (prev) {
          expect(label.t_mono_ns).toBeGreaterThan(prev.t_mono_ns);
          expect(label.t_wall >= prev.t_wall).toBe(true);
        }
      }
    }
  });

  it('end in failed for about 3% of episodes, and take seconds to minutes', () => {
    const plans = specs.map(planEpisode);
    const failed = plans.filter((p) => p.meta.outcome === 'failed');
    expect(failed.length / plans.length).toBeGreaterThan(0.015);
    expect(failed.length / plans.length).toBeLessThan(0.05);
    for (const p of failed) expect(p.labels.at(-1)?.phase).toBe(FAILED_PHASE);
    const seconds = plans
      .filter((p) => p.meta.outcome === 'completed')
      .map((p) => (p.monoEndNs - p.spec.monoStartNs) / 1e9);
    expect(Math.min(...seconds)).toBeGreaterThan(60);
    expect(Math.max(...seconds)).toBeLessThan(3600);
    expect(new Set(seconds.map(Math.round)).size).toBeGreaterThan(500); // jitter, not a fixed script
  });

  it('honours a forced outcome and workload', () => {
    const plan = planEpisode({ ...SPEC, outcome: 'failed', workload: 'benign-office' });
    expect(plan.meta.outcome).toBe('failed');
    expect(plan.meta.workload).toBe('benign-office');
    expect(plan.meta.failure?.phase).toBeDefined();
    expect(plan.labels.at(-1)?.phase).toBe(FAILED_PHASE);
  });
});

describe('episodePhaseTotals', () => {
  it('counts each label and gives the last phase its time until meta.t_mono_end_ns', () => {
    const plan = planEpisode({ ...SPEC, outcome: 'completed' });
    const [boot, baseline, infecting, running] = plan.labels;
    if (!boot || !baseline || !infecting || !running) throw new Error('expected four labels');
    const totals = episodePhaseTotals(plan);
    expect(totals.counts).toEqual({ boot: 1, baseline: 1, infecting: 1, infected_running: 1 });
    expect(totals.weighted_seconds.boot).toBeCloseTo((baseline.t_mono_ns - boot.t_mono_ns) / 1e9, 6);
    expect(totals.weighted_seconds.infected_running).toBeCloseTo(
      (plan.meta.t_mono_end_ns - running.t_mono_ns) / 1e9,
      6,
    );
    const total = Object.values(totals.weighted_seconds).reduce((a, b) => a + b, 0);
    expect(total).toBeCloseTo((plan.meta.t_mono_end_ns - boot.t_mono_ns) / 1e9, 6);
    expect(totals).toMatchObject({ sampled_episodes: 1, total_labels: 4 });
  });
});
