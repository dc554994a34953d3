/**
 * Fault case: the state dir under two servers and two data roots (issue 14, items 2 and 3). The
 * real CLI as child processes: a second `serve` or `phase-mix` on an owned state dir exits 2 with
 * one line naming the dir and the owner's pid; a SIGKILLed owner does not block the next start;
 * a state dir holding another root's catalog is refused, or set aside with --reset-state; the
 * default state dir is one per data root, so serving A then B shows B's totals alone.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { generateDataRoot } from '../../src/generate/generate.js';
import type { EpisodeFacets, EpisodesPage } from '../../src/protocol/api.js';
import type { DashboardState } from '../../src/protocol/index.js';
import { expectUsageError, runCli } from '../support/cli.js';
import { getJson } from '../support/server.js';
import { tempDir } from '../support/tmp.js';
import { startChildServer } from './child-server.js';
import { indexLine, report, scale } from './support.js';

/** The figures: 200 lines appended beside two servers; a root of 3,324 then one of 40. */
const LIVE_LINES = scale(200, 2_000);
const ROOT_A_LINES = scale(3_324, 33_240);
const ROOT_B_LINES = scale(40, 400);
const WAIT = { timeout: 60_000, interval: 50 };

async function rootOf(out: string, hosts: number, lines: number, seed: number) {
  const summary = await generateDataRoot({
    out,
    hosts,
    episodes: 4,
    indexLines: lines,
    alerts: 30,
    telemetryKb: 1,
    seed,
  });
  return summary.expected;
}

async function state(url: string): Promise<DashboardState> {
  return (await getJson<DashboardState>({ url }, '/api/state')).body;
}

/** Waits until the live state and the catalog (the explorer) both show `episodes`. */
async function settled(url: string, episodes: number, alerts: number): Promise<void> {
  await vi.waitFor(async () => {
    const s = await state(url);
    expect(s.ready).toBe(true);
    expect(s.total_episodes).toBe(episodes);
    expect(s.total_alerts).toBe(alerts);
    const page = await getJson<EpisodesPage>({ url }, '/api/episodes?limit=1');
    expect(page.body.total).toBe(episodes);
  }, WAIT);
}

describe('fault: one state dir, two servers or two data roots', { timeout: 300_000 }, () => {
  it('lets one process own a state dir; a SIGKILLed owner does not block the next', async () => {
    const tmp = tempDir('cis490-fault-state-');
    // The demo's layout, so `demo --dir tmp` reaches for the same state dir.
    const dataRoot = path.join(tmp, 'data');
    const stateDir = path.join(tmp, 'state');
    const expected = await rootOf(dataRoot, 4, ROOT_A_LINES, 14_002);
    const first = await startChildServer({ dataRoot, stateDir });
    await settled(first.url, expected.total_episodes, expected.total_alerts);

    const pid = String(first.child.pid);
    const second = await runCli(['serve', '--data-root', dataRoot, '--state-dir', stateDir, '--port', '0']);
    expectUsageError(second, new RegExp(`state dir ${stateDir} is in use by pid ${pid}\\b`));
    const mix = await runCli(['phase-mix', '--data-root', dataRoot, '--state-dir', stateDir]);
    expectUsageError(mix, new RegExp(`state dir ${stateDir} is in use by pid ${pid}\\b`));
    const demo = await runCli(['demo', '--dir', tmp, '--port', '0']);
    expectUsageError(demo, new RegExp(`state dir ${stateDir} is in use by pid ${pid}\\b`));

    // The owner keeps counting alone: every appended line once, alerts once.
    let live = '';
    for (let i = 0; i < LIVE_LINES; i++) live += indexLine(`live-${i}`, 'host-02');
    fs.appendFileSync(path.join(dataRoot, 'index.jsonl'), live);
    const total = expected.total_episodes + LIVE_LINES;
    await settled(first.url, total, expected.total_alerts);

    // SIGKILL leaves no stale lock: the next start owns the dir and agrees with the data root.
    await first.kill();
    const next = await startChildServer({ dataRoot, stateDir });
    await settled(next.url, total, expected.total_alerts);
    const s = await state(next.url);
    expect(s.total_bytes).toBe(expected.total_bytes + LIVE_LINES * 1000);
    await next.kill();
    report('state-dir lock', { index_lines: ROOT_A_LINES, live_lines: LIVE_LINES, total });
  });

  it('refuses an explicit state dir holding another root’s catalog, or sets it aside on --reset-state', async () => {
    const tmp = tempDir('cis490-fault-state-');
    const rootA = path.join(tmp, 'a');
    const rootB = path.join(tmp, 'b');
    const stateDir = path.join(tmp, 'state');
    const a = await rootOf(rootA, 6, ROOT_A_LINES, 14_003);
    const b = await rootOf(rootB, 2, ROOT_B_LINES, 14_004);
    const onA = await startChildServer({ dataRoot: rootA, stateDir });
    await settled(onA.url, a.total_episodes, a.total_alerts);
    await onA.kill();

    const refused = await runCli(['serve', '--data-root', rootB, '--state-dir', stateDir, '--port', '0']);
    expectUsageError(
      refused,
      new RegExp(
        `state dir ${stateDir} holds the catalog of data root ${rootA}, not of ${rootB}: pass --reset-state`,
      ),
    );

    const onB = await startChildServer({ dataRoot: rootB, stateDir, extra: ['--reset-state'] });
    await settled(onB.url, b.total_episodes, b.total_alerts);
    const facets = (await getJson<EpisodeFacets>({ url: onB.url }, '/api/episodes/facets')).body;
    expect(Object.keys(facets.host).sort()).toEqual(['host-01', 'host-02']);
    // No foreign rows: every status counted is one of B's episodes.
    expect(Object.values(facets.status).reduce((x, y) => x + y, 0)).toBe(b.total_episodes);
    const movedTo = /catalog set aside to (\S+\.sqlite)/.exec(onB.stderr())?.[1];
    expect(movedTo, onB.stderr()).toMatch(/catalog\.other-root-\d{8}T\d{6}Z\.sqlite$/);
    expect(fs.existsSync(movedTo as string)).toBe(true);
    await onB.kill();
  });

  it('keeps the default state dir apart per data root, and refuses a root made again at the same path', async () => {
    const tmp = tempDir('cis490-fault-state-');
    const env = { XDG_STATE_HOME: path.join(tmp, 'xdg') };
    const rootA = path.join(tmp, 'a');
    const rootB = path.join(tmp, 'b');
    const a = await rootOf(rootA, 6, ROOT_A_LINES, 14_005);
    const b = await rootOf(rootB, 2, ROOT_B_LINES, 14_006);

    const onA = await startChildServer({ dataRoot: rootA, stateDir: null, env });
    await settled(onA.url, a.total_episodes, a.total_alerts);
    await onA.kill();
    const onB = await startChildServer({ dataRoot: rootB, stateDir: null, env });
    await settled(onB.url, b.total_episodes, b.total_alerts);
    const hosts = (await state(onB.url)).hosts_indexed;
    expect(Object.keys(hosts).sort()).toEqual(['host-01', 'host-02']);
    await onB.kill();
    const dirs = fs.readdirSync(path.join(tmp, 'xdg', 'cis490-dashboard')).sort();
    expect(dirs).toEqual([
      expect.stringMatching(/^a-[0-9a-f]{12}$/),
      expect.stringMatching(/^b-[0-9a-f]{12}$/),
    ]);

    // The same path, another directory: its catalog would mix two roots' totals.
    fs.rmSync(rootA, { recursive: true });
    await rootOf(rootA, 1, 10, 14_007);
    const again = await runCli(['serve', '--data-root', rootA, '--port', '0'], env);
    expectUsageError(
      again,
      /holds the catalog of an earlier directory at .* \(removed and made again since\)/,
    );
  });
});
