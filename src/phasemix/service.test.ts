import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { addFile, checkedRefresh } from '../../test/support/episode-root.js';
import { capturedLogger } from '../../test/support/log.js';
import { episodeTarball, tarZst, zstdOf } from '../../test/support/phasemix.js';
import { tempDir } from '../../test/support/tmp.js';
import { openDatabase } from '../catalog/db.js';
import { EpisodesDirFeeder } from '../feeders/episodes-dir.js';
import { generateDataRoot } from '../generate/generate.js';
import type { PhaseMix } from '../protocol/index.js';
import { silentLogger } from '../util/log.js';
import { computePhaseMixOnce } from './compute-once.js';
import { PhaseMixService, type PhaseMixServiceOptions } from './service.js';

const S = 1e9;

/** A data root with hand-made episodes: `episodes/<host>/<name>` → bytes. */
function craftedRoot(files: Record<string, Uint8Array | string>): string {
  const root = tempDir();
  for (const [rel, bytes] of Object.entries(files)) addFile(root, rel, bytes);
  return root;
}

function service(options: Partial<PhaseMixServiceOptions> & { dataRoot: string }) {
  const published: PhaseMix[] = [];
  const svc = new PhaseMixService({
    logger: silentLogger(),
    sample: 'all',
    publish: (mix) => published.push(mix),
    now: () => new Date('2026-11-01T12:00:00Z'),
    ...options,
  });
  onTestFinished(() => svc.stop());
  return { svc, published };
}

describe('PhaseMixService', () => {
  it('adds up crafted episodes by hand: durations, trailing phase to meta end, skips by reason', async () => {
    const root = craftedRoot({
      // boot 2 s, run 3 s (to meta end).
      'episodes/h1/a.tar.zst': episodeTarball(
        [
          { phase: 'boot', t_mono_ns: 1 * S },
          { phase: 'run', t_mono_ns: 3 * S },
        ],
        { t_mono_end_ns: 6 * S },
      ),
      // boot 1 s, failed counted without duration (no meta); garbage line skipped.
      'episodes/h1/b.tar.zst': tarZst([
        {
          name: 'labels.jsonl',
          data: '{"phase":"boot","t_mono_ns":0}\nnull\ngarbage\n{"phase":"failed","t_mono_ns":1e9}\n',
        },
      ]),
      // Empty labels: readable, contributes nothing, not a skip.
      'episodes/h2/c.tar.zst': episodeTarball([]),
      'episodes/h2/d.tar.zst': tarZst([{ name: 'meta.json', data: '{}' }]),
      'episodes/h2/e.tar.zst': zstdOf([Buffer.from('not a tar archive\n'.repeat(64))]),
      'episodes/h2/f.tar.zst': episodeTarball([{ phase: 'boot', t_mono_ns: 0 }]).subarray(0, 20),
      'episodes/h3/g.tar.zst': 'plain text',
      // Not episodes: a temp upload, a checksum file, a file beside the host folders.
      'episodes/h1/a.tar.zst.part': 'x',
      'episodes/h1/a.sha256': 'x',
      'episodes/stray.tar.zst': episodeTarball([{ phase: 'boot', t_mono_ns: 0 }]),
    });
    const { svc, published } = service({ dataRoot: root });
    const mix = await svc.refresh();
    expect(mix).toEqual({
      counts: { boot: 2, run: 1, failed: 1 },
      weighted_seconds: { boot: 3, run: 3 },
      sampled_episodes: 2,
      population_episodes: 7,
      total_labels: 4,
      per_host: {
        h1: {
          counts: { boot: 2, run: 1, failed: 1 },
          weighted_seconds: { boot: 3, run: 3 },
          sampled_episodes: 2,
          total_labels: 4,
          population_episodes: 2,
        },
        h2: {
          counts: {},
          weighted_seconds: {},
          sampled_episodes: 0,
          total_labels: 0,
          population_episodes: 4,
        },
        h3: {
          counts: {},
          weighted_seconds: {},
          sampled_episodes: 0,
          total_labels: 0,
          population_episodes: 1,
        },
      },
      skipped: { no_labels: 1, not_tar: 1, truncated: 1, not_zstd: 1 },
      computed_at: '2026-11-01T12:00:00.000Z',
      mode: 'all',
    });
    expect(published).toEqual([mix]);
    expect(svc.current('h2')).toMatchObject({
      population_episodes: 4,
      skipped: { no_labels: 1, not_tar: 1, truncated: 1 },
    });
    expect(svc.current('nope')).toBeNull();
  });

  it('equals the generator’s own totals on a generated root', async () => {
    const root = path.join(tempDir(), 'root');
    const summary = await generateDataRoot({
      out: root,
      hosts: 3,
      episodes: 40,
      alerts: 0,
      telemetryKb: 16,
      seed: 5,
    });
    const { svc } = service({ dataRoot: root });
    const mix = await svc.refresh();
    const expected = summary.expected.phase_mix;
    expect(mix.counts).toEqual(expected.counts);
    expect(mix.total_labels).toBe(expected.total_labels);
    expect(mix.sampled_episodes).toBe(expected.sampled_episodes);
    expect(mix.population_episodes).toBe(expected.population_episodes);
    expect(Object.keys(mix.weighted_seconds).sort()).toEqual(Object.keys(expected.weighted_seconds).sort());
    for (const [phase, seconds] of Object.entries(expected.weighted_seconds)) {
      expect(mix.weighted_seconds[phase]).toBeCloseTo(seconds, 6);
    }
    expect(mix.skipped).toEqual({});
  });

  it('reads only new or changed files, drops removed ones, and reads none after a restart', async () => {
    const root = craftedRoot({
      'episodes/h1/a.tar.zst': episodeTarball([{ phase: 'boot', t_mono_ns: 0 }]),
      'episodes/h1/b.tar.zst': episodeTarball([{ phase: 'boot', t_mono_ns: 0 }]),
      'episodes/h2/bad.tar.zst': 'garbage',
    });
    const db = openDatabase(tempDir());
    onTestFinished(() => {
      db.close();
    });
    const { logger, lines } = capturedLogger();
    const first = service({ dataRoot: root, db, logger }).svc;

    await first.refresh();
    expect(first.stats().last_refresh).toMatchObject({ files_read: 3, files_cached: 0 });
    await first.refresh();
    expect(first.stats().last_refresh).toMatchObject({ files_read: 0, files_cached: 3 });

    addFile(root, 'episodes/h2/c.tar.zst', episodeTarball([{ phase: 'run', t_mono_ns: 0 }]));
    let mix = await first.refresh();
    expect(first.stats().last_refresh).toMatchObject({ files_read: 1, files_cached: 3 });
    expect(mix.counts).toEqual({ boot: 2, run: 1 });

    fs.rmSync(path.join(root, 'episodes/h1/a.tar.zst'));
    mix = await first.refresh();
    expect(first.stats().last_refresh).toMatchObject({ files_read: 0, files_removed: 1 });
    expect(mix.counts).toEqual({ boot: 1, run: 1 });
    expect(mix.population_episodes).toBe(3);

    // Rewritten in place (another size): a quick refresh does not stat known names again; the
    // next full scan (every fullScanMs, and the first one of a new service) reads it again.
    addFile(root, 'episodes/h1/b.tar.zst', episodeTarball([{ phase: 'x', t_mono_ns: 0, pad: 'longer' }]));
    await first.refresh();
    expect(first.stats().last_refresh).toMatchObject({ files_read: 0, full_scan: false });
    await first.stop();

    // A new service on the same catalog: only the rewritten file is read.
    const second = service({ dataRoot: root, db }).svc;
    mix = await second.refresh();
    expect(second.stats().last_refresh).toMatchObject({ files_read: 1, files_cached: 2, full_scan: true });
    expect(mix.counts).toEqual({ x: 1, run: 1 });

    // And another one reads nothing at all, with the same numbers; the bad file is still skipped.
    const third = service({ dataRoot: root, db }).svc;
    expect(await third.refresh()).toEqual(mix);
    expect(third.stats().last_refresh).toMatchObject({ files_read: 0, files_cached: 3 });
    expect(db.prepare('SELECT count(*) AS n FROM phase_cache').get()).toEqual({ n: 3 });
    expect(mix.skipped).toEqual({ not_zstd: 1 });

    // The bad file was logged once, on its first read only.
    const skips = lines.filter((l) => l.msg === 'phase mix: episode skipped');
    expect(skips).toEqual([expect.objectContaining({ file: 'episodes/h2/bad.tar.zst', reason: 'not_zstd' })]);
  });

  it('stats every file again on each refresh when fullScanMs is 0', async () => {
    const root = craftedRoot({ 'episodes/h1/a.tar.zst': episodeTarball([{ phase: 'a', t_mono_ns: 0 }]) });
    const { svc } = service({ dataRoot: root, fullScanMs: 0 });
    await svc.refresh();
    addFile(root, 'episodes/h1/a.tar.zst', episodeTarball([{ phase: 'rewritten', t_mono_ns: 0 }]));
    expect((await svc.refresh()).counts).toEqual({ rewritten: 1 });
  });

  it('keeps the seed’s random sample when asked for N, counting the whole population', async () => {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 10; i++)
      files[`episodes/h${i % 2}/e${i}.tar.zst`] = episodeTarball([{ phase: 'p', t_mono_ns: 0 }]);
    const { svc } = service({ dataRoot: craftedRoot(files), sample: 4 });
    const mix = await svc.refresh();
    expect(mix).toMatchObject({ mode: 4, sampled_episodes: 4, population_episodes: 10, counts: { p: 4 } });
    expect(svc.stats().last_refresh).toMatchObject({ files_read: 4, considered: 4 });
    expect((mix.per_host.h0?.population_episodes ?? 0) + (mix.per_host.h1?.population_episodes ?? 0)).toBe(
      10,
    );
  });

  it('gives an empty mix for a data root without episodes', async () => {
    const { svc } = service({ dataRoot: tempDir() });
    expect(await svc.refresh()).toMatchObject({ population_episodes: 0, sampled_episodes: 0, counts: {} });
  });

  it('coalesces concurrent refreshes into the running one plus one follow-up', async () => {
    const root = craftedRoot({ 'episodes/h1/a.tar.zst': episodeTarball([{ phase: 'p', t_mono_ns: 0 }]) });
    const { svc, published } = service({ dataRoot: root });
    const a = svc.refresh();
    const b = svc.refresh();
    const c = svc.refresh();
    expect(b).toBe(c);
    expect(a).not.toBe(b);
    await Promise.all([a, b, c]);
    expect(published).toHaveLength(2);
    expect(svc.stats().refreshes_total).toBe(2);
  });

  it('refreshes once after a burst of new-episode notices', async () => {
    const root = craftedRoot({ 'episodes/h1/a.tar.zst': episodeTarball([{ phase: 'p', t_mono_ns: 0 }]) });
    const { svc, published } = service({ dataRoot: root, debounceMs: 20 });
    for (let i = 0; i < 5; i++) svc.notifyNewEpisodes();
    await vi.waitFor(() => expect(published).toHaveLength(1));
    addFile(root, 'episodes/h1/b.tar.zst', episodeTarball([{ phase: 'p', t_mono_ns: 0 }]));
    svc.notifyNewEpisodes();
    await vi.waitFor(() => expect(published).toHaveLength(2));
    expect(published[1]?.counts).toEqual({ p: 2 });
  });

  it('refreshes at start and on its timer, and stops cleanly', async () => {
    const root = craftedRoot({ 'episodes/h1/a.tar.zst': episodeTarball([{ phase: 'p', t_mono_ns: 0 }]) });
    const { svc, published } = service({ dataRoot: root, intervalMs: 10 });
    svc.start();
    await vi.waitFor(() => expect(published.length).toBeGreaterThanOrEqual(3));
    await svc.stop();
  });

  it('lets the event loop run during a refresh', async () => {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 20; i++)
      files[`episodes/h1/e${i}.tar.zst`] = episodeTarball([{ phase: 'p', t_mono_ns: 0 }]);
    const { svc } = service({ dataRoot: craftedRoot(files), sliceMs: 0 });
    // Another task on the loop, re-queueing itself each turn while the refresh runs.
    let ticks = 0;
    let done = false;
    const tick = (): void => {
      ticks++;
      if (!done) setImmediate(tick);
    };
    setImmediate(tick);
    await svc.refresh();
    done = true;
    // With a 0 ms slice it yields between episodes: the other task got turns meanwhile.
    expect(ticks).toBeGreaterThanOrEqual(20);
  });
});

describe('computePhaseMixOnce', () => {
  it('computes once, and fills the cache of a state dir for the next run', async () => {
    const root = craftedRoot({
      'episodes/h1/a.tar.zst': episodeTarball(
        [
          { phase: 'boot', t_mono_ns: 0 },
          { phase: 'run', t_mono_ns: 2 * S },
        ],
        { t_mono_end_ns: 5 * S },
      ),
    });
    const stateDir = tempDir();
    const mix = await computePhaseMixOnce({
      dataRoot: root,
      stateDir,
      sample: 'all',
      logger: silentLogger(),
    });
    expect(mix).toMatchObject({ counts: { boot: 1, run: 1 }, weighted_seconds: { boot: 2, run: 3 } });
    const db = openDatabase(stateDir);
    onTestFinished(() => {
      db.close();
    });
    expect(db.prepare('SELECT rel_path, status, labels, meta FROM phase_cache').all()).toEqual([
      { rel_path: 'episodes/h1/a.tar.zst', status: 'ok', labels: 2, meta: '{"t_mono_end_ns":5000000000}' },
    ]);
    const noState = await computePhaseMixOnce({ dataRoot: root, sample: 'all', logger: silentLogger() });
    expect(noState.counts).toEqual(mix.counts);
  });
});

describe('PhaseMixService incremental refreshes', () => {
  /** Puts a folder's mtime well in the past, so a quick scan trusts it until it moves again. */
  let settled = 0;
  function settle(dir: string): void {
    const old = new Date(Date.UTC(2026, 0, 1) + ++settled * 1000);
    fs.utimesSync(dir, old, old);
  }

  it('equals a cold computation after files and host folders come, go and change', async () => {
    const root = path.join(tempDir(), 'root');
    await generateDataRoot({ out: root, hosts: 3, episodes: 24, alerts: 0, telemetryKb: 2, seed: 11 });
    const episodes = path.join(root, 'episodes');
    const hosts = fs.readdirSync(episodes).sort();
    const [h1, h2, h3] = hosts as [string, string, string];
    for (const h of hosts) settle(path.join(episodes, h));
    let clock = Date.UTC(2026, 10, 1);
    const now = () => new Date(clock);
    const db = openDatabase(tempDir());
    onTestFinished(() => {
      db.close();
    });
    const { svc } = service({ dataRoot: root, db, now, fullScanMs: 60_000 });
    const cold = async (): Promise<PhaseMix> => {
      const fresh = new PhaseMixService({
        dataRoot: root,
        logger: silentLogger(),
        sample: 'all',
        publish: () => {},
        now,
      });
      return fresh.refresh();
    };
    const refreshed = checkedRefresh(svc, cold);
    await refreshed({ full_scan: true, files_read: 24, files_removed: 0 });

    // Added: episodes with a phase nobody had yet, an unreadable file, and a new host folder.
    addFile(
      root,
      `episodes/${h1}/new-1.tar.zst`,
      episodeTarball(
        [
          { phase: 'novel', t_mono_ns: 1 * S },
          { phase: 'boot', t_mono_ns: 1.3 * S },
        ],
        { t_mono_end_ns: 2.7 * S },
      ),
    );
    addFile(root, `episodes/${h1}/bad.tar.zst`, 'garbage');
    addFile(
      root,
      'episodes/h-new/a.tar.zst',
      episodeTarball([{ phase: 'boot', t_mono_ns: 0 }], { t_mono_end_ns: 0.1 * S }),
    );
    addFile(
      root,
      'episodes/h-new/b.tar.zst',
      episodeTarball([{ phase: 'run', t_mono_ns: 0 }], { t_mono_end_ns: 7 * S }),
    );
    settle(path.join(episodes, h1));
    let mix = await refreshed({ full_scan: false, files_read: 4, files_removed: 0 });
    expect(mix.counts.novel).toBe(1);
    expect(mix.skipped).toEqual({ not_zstd: 1 });
    expect(mix.per_host['h-new']).toMatchObject({ population_episodes: 2, sampled_episodes: 2 });

    // Removed: the only episode with that phase and the bad file (their keys go), and one of h2's.
    fs.rmSync(path.join(episodes, h1, 'new-1.tar.zst'));
    fs.rmSync(path.join(episodes, h1, 'bad.tar.zst'));
    const [firstOfH2] = fs.readdirSync(path.join(episodes, h2)).sort();
    fs.rmSync(path.join(episodes, h2, firstOfH2 as string));
    settle(path.join(episodes, h1));
    mix = await refreshed({ full_scan: false, files_read: 0, files_removed: 3 });
    expect(mix.counts).not.toHaveProperty('novel');
    expect(mix.weighted_seconds).not.toHaveProperty('novel');
    expect(mix.skipped).toEqual({});

    // A whole host folder removed: its host goes from the mix.
    fs.rmSync(path.join(episodes, h3), { recursive: true });
    mix = await refreshed({ full_scan: false, files_read: 0, files_removed: 8 });
    expect(Object.keys(mix.per_host).sort()).toEqual([h1, h2, 'h-new'].sort());

    // Changed in place (same path, new size and mtime): a quick refresh trusts known names; the next
    // full scan reads it again and the totals, rebuilt, still equal a cold computation.
    addFile(
      root,
      'episodes/h-new/b.tar.zst',
      episodeTarball(
        [
          { phase: 'run', t_mono_ns: 0 },
          { phase: 'changed', t_mono_ns: 2 * S },
        ],
        { t_mono_end_ns: 9 * S },
      ),
    );
    const before = await svc.refresh();
    expect(before.counts).not.toHaveProperty('changed');
    clock += 60_000;
    mix = await refreshed({ full_scan: true, files_read: 1, files_removed: 0 });
    expect(mix.counts.changed).toBe(1);

    // And incremental again on top of the rebuilt totals.
    addFile(
      root,
      `episodes/${h2}/late.tar.zst`,
      episodeTarball([{ phase: 'changed', t_mono_ns: 0 }], { t_mono_end_ns: 3 * S }),
    );
    mix = await refreshed({ full_scan: false, files_read: 1, files_removed: 0 });
    expect(mix.counts.changed).toBe(2);
  });

  it('follows the host-folder feeder’s changes instead of listing the folders itself', async () => {
    const root = path.join(tempDir(), 'root');
    await generateDataRoot({ out: root, hosts: 3, episodes: 24, alerts: 0, telemetryKb: 2, seed: 11 });
    const episodes = path.join(root, 'episodes');
    const [h1, h2, h3] = fs.readdirSync(episodes).sort() as [string, string, string];
    const inH3 = fs.readdirSync(path.join(episodes, h3)).length;
    const feeder = new EpisodesDirFeeder({
      dataRoot: root,
      logger: silentLogger(),
      rescanIntervalMs: 3_600_000,
      onHostChange: () => {},
    });
    onTestFinished(() => feeder.stop());
    await feeder.start();
    const now = () => new Date('2026-11-01T12:00:00Z');
    const { svc } = service({ dataRoot: root, now, files: feeder });
    const cold = () => service({ dataRoot: root, now }).svc.refresh();
    /** The feeder takes in the changes (a full rescan), then the mix takes the feeder's. */
    const refreshed = checkedRefresh(svc, cold, () => feeder.scan());
    await refreshed({ full_scan: true, files_read: 24, files_removed: 0 });

    addFile(
      root,
      `episodes/${h1}/new.tar.zst`,
      episodeTarball([{ phase: 'novel', t_mono_ns: 0 }], { t_mono_end_ns: S }),
    );
    addFile(root, 'episodes/h-new/a.tar.zst', episodeTarball([{ phase: 'boot', t_mono_ns: 0 }]));
    let mix = await refreshed({ full_scan: false, files_read: 2, files_removed: 0 });
    expect(mix.counts.novel).toBe(1);

    // Gone, a whole host folder gone, and one rewritten in place (a new size and mtime).
    fs.rmSync(path.join(episodes, h1, 'new.tar.zst'));
    fs.rmSync(path.join(episodes, h3), { recursive: true });
    const [firstOfH2] = fs.readdirSync(path.join(episodes, h2)).sort();
    addFile(root, `episodes/${h2}/${firstOfH2}`, episodeTarball([{ phase: 'changed', t_mono_ns: 0 }]));
    mix = await refreshed({ full_scan: false, files_read: 1, files_removed: 1 + inH3 });
    expect(mix.counts).not.toHaveProperty('novel');
    expect(mix.counts.changed).toBe(1);
  });

  it('starts over from a full scan after a refresh that was stopped half-way', async () => {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 30; i++)
      files[`episodes/h${i % 3}/e${i}.tar.zst`] = episodeTarball([{ phase: `p${i % 4}`, t_mono_ns: 0 }], {
        t_mono_end_ns: (i + 1) * S,
      });
    const root = craftedRoot(files);
    const now = () => new Date('2026-11-01T12:00:00Z');
    const { svc } = service({ dataRoot: root, now, sliceMs: 0 });
    const cut = svc.refresh();
    await svc.stop();
    await cut;
    for (let i = 30; i < 33; i++)
      addFile(root, `episodes/h0/e${i}.tar.zst`, episodeTarball([{ phase: 'late', t_mono_ns: 0 }]));
    svc.start();
    await vi.waitFor(() => expect(svc.stats().refreshes_total).toBe(1));
    expect(svc.stats().last_refresh).toMatchObject({ full_scan: true, population: 33 });
    const cold = service({ dataRoot: root, now }).svc;
    expect(svc.current()).toEqual(await cold.refresh());
  });
});
