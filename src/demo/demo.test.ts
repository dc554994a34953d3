import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { getJson } from '../../test/support/server.js';
import { tempDir } from '../../test/support/tmp.js';
import { FAILED_PHASE, PHASES } from '../generate/episode.js';
import type { DashboardState } from '../protocol/index.js';
import { startDemo } from './demo.js';
import type { SimulatorStats } from './simulator.js';

const everyRotation = (s: SimulatorStats) =>
  s.receiver.rotations.index.rename > 0 &&
  s.receiver.rotations.index.copytruncate > 0 &&
  s.receiver.rotations.alerts.rename > 0 &&
  s.receiver.rotations.alerts.copytruncate > 0;

describe('demo', () => {
  it('runs a live lab: episodes, alerts, rotations and phases flow, and the totals match what it wrote', async () => {
    const dir = tempDir('cis490-demo-');
    const demo = await startDemo({
      dir,
      hosts: 3,
      ratePerMinute: 300,
      seed: 11,
      history: { episodes: 6, alerts: 4 },
      telemetryKb: 2,
      server: {
        port: 0,
        logLevel: 'silent',
        pollInterval: 0.05,
        webDir: path.join(dir, 'no-web'),
      },
      timing: { rotateEveryMs: 3_000, staleAfterMs: 1_500, staleForMs: 60_000, corruptShare: 0.5 },
    });
    onTestFinished(() => demo.stop());
    expect(demo.fresh).toBe(true);
    // Subscribed before any I/O callback runs: the simulator's first post cannot be missed.
    let phaseEvents = 0;
    demo.server.pipeline.bus.subscribe((e) => {
      if (e.type === 'phase') phaseEvents += 1;
    });

    const staleHost = 'host-03';
    await demo.simulator.until(
      (s) =>
        s.episodes >= 15 &&
        s.corruptEpisodes >= 1 &&
        everyRotation(s) &&
        (s.receiver.dedupKeys[`${staleHost}:heartbeat_missed`] ?? 0) >= 2,
    );
    await demo.simulator.stop();
    const sim = demo.simulator.stats();
    expect(sim.phases.rejected).toEqual({});
    expect(sim.staleHosts).toEqual([staleHost]);

    const disk = Object.fromEntries(Object.entries(sim.disk).map(([h, d]) => [h, d.files]));
    const diskBytes = Object.fromEntries(Object.entries(sim.disk).map(([h, d]) => [h, d.bytes]));
    // The receiver counted everything written: the hour of history, then the live run.
    expect(sim.receiver.indexLines).toBe(6 + sim.episodes);
    const expected = {
      total_episodes: sim.receiver.indexLines,
      total_bytes: sim.receiver.indexBytes,
      total_alerts: sim.receiver.alertLines,
      host_counts: disk,
      host_bytes: diskBytes,
    };
    await vi
      .waitFor(
        async () => {
          const { body } = await getJson<DashboardState>(demo, '/api/state');
          expect({
            total_episodes: body.total_episodes,
            total_bytes: body.total_bytes,
            total_alerts: body.total_alerts,
            host_counts: body.host_counts,
            host_bytes: body.host_bytes,
          }).toEqual(expected);
        },
        { timeout: 15_000, interval: 100 },
      )
      .catch((err) => {
        const onDisk = Object.fromEntries(
          fs
            .readdirSync(path.join(demo.dataRoot, 'episodes'))
            .map((h) => [h, fs.readdirSync(path.join(demo.dataRoot, 'episodes', h))]),
        );
        console.log(JSON.stringify({ dash: demo.server.pipeline.stats(), sim, onDisk }, null, 1));
        throw err;
      });

    const { body: state } = await getJson<DashboardState>(demo, '/api/state');
    // Every phase the orchestrator posted became an event and the hosts' live phase.
    expect(phaseEvents).toBe(sim.phases.accepted);
    expect(Object.keys(state.live_phases).sort()).toEqual(['host-01', 'host-02', 'host-03']);
    for (const p of Object.values(state.live_phases)) {
      expect([...PHASES, FAILED_PHASE]).toContain(p.phase);
    }
    // The quiet host is reported again and again under one key; its heartbeat file went stale.
    const repeats = state.recent_alerts.filter((a) => a.dedup_key === `${staleHost}:heartbeat_missed`);
    expect(repeats.length).toBeGreaterThanOrEqual(2);
    expect(Object.keys(state.health).sort()).toEqual(['host-01', 'host-02', 'host-03']);
    expect(state.recent_alerts.some((a) => a.symptom === 'episode_corrupt')).toBe(true);

    // The dashboard followed both logs through both kinds of rotation, as often as they happened
    // (the last one may still be waiting for the tailer's next look).
    await vi.waitFor(() => {
      const feeders = demo.server.pipeline.stats();
      expect(feeders.index.rotations).toMatchObject({
        rename: sim.receiver.rotations.index.rename,
        truncate: sim.receiver.rotations.index.copytruncate,
      });
      expect(feeders.alerts.rotations).toMatchObject({
        rename: sim.receiver.rotations.alerts.rename,
        truncate: sim.receiver.rotations.alerts.copytruncate,
      });
    });

    // Every upload was renamed into place: no temp file of the simulator is left behind.
    const leftovers = fs
      .readdirSync(path.join(demo.dataRoot, 'episodes'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.tmp'));
    expect(leftovers).toEqual([]);
  });

  it('refuses a --dir that holds anything but an earlier demo, and writes nothing into it', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'thesis.tex'), 'mine');
    await expect(startDemo({ dir })).rejects.toThrow(/holds other things than a demo's \(thesis\.tex\)/);
    expect(fs.readdirSync(dir)).toEqual(['thesis.tex']);
    const file = path.join(dir, 'thesis.tex');
    await expect(startDemo({ dir: file })).rejects.toThrow(/is a file, not a folder/);
  });

  it('continues an earlier demo in the same folder: no new history, totals carry on', async () => {
    const dir = tempDir('cis490-demo-');
    const options = {
      dir,
      hosts: 2,
      ratePerMinute: 300,
      telemetryKb: 2,
      history: { episodes: 4, alerts: 2 },
      server: { port: 0, logLevel: 'silent' as const, pollInterval: 0.05, webDir: path.join(dir, 'no-web') },
    };
    const first = await startDemo({ ...options, seed: 1 });
    onTestFinished(() => first.stop());
    await first.simulator.until((s) => s.episodes >= 3);
    await first.simulator.stop();
    const written = first.simulator.stats().receiver.indexLines;
    await vi.waitFor(async () => {
      expect((await getJson<DashboardState>(first, '/api/state')).body.total_episodes).toBe(written);
    });
    await first.stop();

    const second = await startDemo({ ...options, seed: 2 });
    onTestFinished(() => second.stop());
    expect(second.fresh).toBe(false);
    await second.simulator.until((s) => s.episodes >= 3);
    await second.simulator.stop();
    const more = second.simulator.stats().episodes;
    await vi.waitFor(async () => {
      expect((await getJson<DashboardState>(second, '/api/state')).body.total_episodes).toBe(written + more);
    });
  });
});
