/**
 * Fault case: the state dir's storage fails (issue 14, item 6). The real CLI as child processes:
 * a state dir that is a file, read-only or on a full file system stops the start with one line
 * naming the path and the cause (exit 2, no stack); a truncated or overwritten catalog is set
 * aside, named in the log, and rebuilt from the data root; a disk that fills while serving makes
 * /readyz and the explorer answer 503 with the reason, until space is freed. Full and read-only
 * disks are real small tmpfs mounts (root only; skipped elsewhere, with a note).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { generateDataRoot } from '../../src/generate/generate.js';
import type { EpisodesPage } from '../../src/protocol/api.js';
import type { DashboardState } from '../../src/protocol/index.js';
import { expectUsageError, runCli } from '../support/cli.js';
import { getJson } from '../support/server.js';
import { tempDir } from '../support/tmp.js';
import { fillUntil, mountTmpfs } from '../support/tmpfs.js';
import { type ChildServer, startChildServer } from './child-server.js';
import { report } from './support.js';

const WAIT = { timeout: 60_000, interval: 50 };
const serve = (dataRoot: string, stateDir: string) =>
  runCli(['serve', '--data-root', dataRoot, '--state-dir', stateDir, '--port', '0']);

async function smallRoot(out: string, indexLines = 300) {
  return (
    await generateDataRoot({
      out,
      hosts: 3,
      episodes: 3,
      indexLines,
      alerts: 10,
      telemetryKb: 1,
      seed: 14_006,
    })
  ).expected;
}

/** Waits until the live state and the explorer both show `episodes`. */
async function settled(url: string, episodes: number): Promise<void> {
  await vi.waitFor(async () => {
    expect((await getJson<DashboardState>({ url }, '/api/state')).body.total_episodes).toBe(episodes);
    expect((await getJson<EpisodesPage>({ url }, '/api/episodes?limit=1')).body.total).toBe(episodes);
  }, WAIT);
}

/** SIGTERM and wait: a clean stop folds the write-ahead log into the catalog file. */
async function stop(server: ChildServer): Promise<void> {
  server.child.kill('SIGTERM');
  expect(await server.exited).toBe('0');
}

describe('fault: the state dir’s storage fails', { timeout: 300_000 }, () => {
  it('stops a start on a state dir that is a file or lies under one: one line, exit 2', async () => {
    const tmp = tempDir('cis490-fault-storage-');
    const file = path.join(tmp, 'file');
    fs.writeFileSync(file, 'not a folder');
    expectUsageError(
      await serve(tmp, file),
      new RegExp(`^cis490-dashboard: state dir ${file} is not a directory`),
    );
    expectUsageError(
      await serve(tmp, path.join(file, 'state')),
      new RegExp(`state dir ${file}/state .*ENOTDIR`),
    );
  });

  it('stops a start on a read-only or full file system: one line naming the path and the cause, exit 2', async (t) => {
    const tmp = tempDir('cis490-fault-storage-');
    const ro = path.join(tmp, 'ro');
    const full = path.join(tmp, 'full');
    if (!mountTmpfs(ro, 1024, true) || !mountTmpfs(full, 1024)) {
      t.skip('mounting a tmpfs is not permitted here (run as root)');
      return;
    }
    expectUsageError(
      await serve(tmp, path.join(ro, 'state')),
      new RegExp(`state dir ${ro}/state .*read-only file system`),
    );
    fillUntil(full, 4096);
    expectUsageError(
      await serve(tmp, path.join(full, 'state')),
      new RegExp(`state dir ${full}/state .*no space left on device`),
    );
    // Not root: a folder without write permission says so the same way.
    if (process.getuid?.() !== 0) {
      const locked = path.join(tmp, 'locked');
      fs.mkdirSync(locked, { mode: 0o500 });
      expectUsageError(await serve(tmp, locked), /permission denied/);
    }
  });

  it('sets a truncated or overwritten catalog aside, names it in the log and rebuilds it', async () => {
    const tmp = tempDir('cis490-fault-storage-');
    const dataRoot = path.join(tmp, 'root');
    const stateDir = path.join(tmp, 'state');
    const catalog = path.join(stateDir, 'catalog.sqlite');
    const expected = await smallRoot(dataRoot, 3_000);
    const damages: Array<[string, () => void, RegExp]> = [
      [
        'truncated',
        () => fs.truncateSync(catalog, Math.floor(fs.statSync(catalog).size / 2)),
        /truncated to \d+ bytes/,
      ],
      [
        'overwritten',
        () => fs.writeFileSync(catalog, Buffer.alloc(fs.statSync(catalog).size, 0xa5)),
        /overwritten: it has no SQLite header/,
      ],
    ];
    for (const [what, damage, detail] of damages) {
      const before = await startChildServer({ dataRoot, stateDir });
      await settled(before.url, expected.total_episodes);
      await stop(before);
      damage();
      const after = await startChildServer({ dataRoot, stateDir });
      await settled(after.url, expected.total_episodes);
      const line = after
        .stderr()
        .split('\n')
        .find((l) => l.includes('catalog set aside to'));
      expect(line, `${what}: ${after.stderr().slice(-2000)}`).toMatch(detail);
      const movedTo = /catalog set aside to (\S+\.sqlite)/.exec(line ?? '')?.[1] as string;
      expect(movedTo).toMatch(/catalog\.corrupt-\d{8}T\d{6}Z(-\d+)?\.sqlite$/);
      expect(fs.existsSync(movedTo), what).toBe(true);
      expect(after.stderr()).not.toMatch(/unexpected error|\n\s+at /);
      await stop(after);
    }
  });

  it('says so when a page inside the catalog is corrupt, and the next start rebuilds it', async () => {
    const tmp = tempDir('cis490-fault-storage-');
    const dataRoot = path.join(tmp, 'root');
    const stateDir = path.join(tmp, 'state');
    const catalog = path.join(stateDir, 'catalog.sqlite');
    const expected = await smallRoot(dataRoot, 3_000);
    const before = await startChildServer({ dataRoot, stateDir });
    await settled(before.url, expected.total_episodes);
    await stop(before);
    // The header and the schema stay; the middle third of the pages is noise.
    const third = Math.floor(fs.statSync(catalog).size / 3);
    const fd = fs.openSync(catalog, 'r+');
    fs.writeSync(fd, Buffer.alloc(third, 0x5a), 0, third, third);
    fs.closeSync(fd);

    const during = await startChildServer({ dataRoot, stateDir });
    const setAsideAtStart = () => /catalog set aside to/.test(during.stderr());
    await vi.waitFor(async () => {
      if (setAsideAtStart()) return;
      const res = await getJson<{ reason?: { code: string } }>(during, '/readyz');
      expect(res.status).toBe(503);
      expect(res.body.reason?.code).toBe('catalog_corrupt');
      const page = await getJson<{ error: { code: string } }>(during, '/api/episodes?limit=1');
      expect(page.status).toBe(503);
      expect(page.body.error.code).toBe('catalog_corrupt');
    }, WAIT);
    expect(during.stderr()).not.toMatch(/unexpected error|"code":"internal"/);
    // Stopped the moment it is up when it set the catalog aside at start: its signal handlers are
    // in place before it says where it serves, so this is a clean exit 0, never death by SIGTERM.
    await stop(during);

    const after = await startChildServer({ dataRoot, stateDir });
    await settled(after.url, expected.total_episodes);
    // The catalog fills beside the first pass (one reader feeds both): it may be complete first.
    await vi.waitFor(async () => expect((await getJson(after, '/readyz')).status).toBe(200), WAIT);
    if (!setAsideAtStart()) {
      expect(after.stderr()).toMatch(/catalog set aside to \S+ \(a running server found a corrupt page/);
    }
    report('corrupt page', { set_aside_at: setAsideAtStart() ? 'the start that met it' : 'the next start' });
    await stop(after);
  });

  it('answers 503 with the reason on /readyz and the explorer while the disk is full, and recovers', async (t) => {
    const tmp = tempDir('cis490-fault-storage-');
    const disk = path.join(tmp, 'disk');
    if (!mountTmpfs(disk, 16 * 1024)) {
      t.skip('mounting a tmpfs is not permitted here (run as root)');
      return;
    }
    const dataRoot = path.join(tmp, 'root');
    const lines = 10_000;
    const expected = await smallRoot(dataRoot, lines);
    // Room to start (the write probe, an empty catalog: ≈ 540 KiB of 16 KiB pages, with its WAL),
    // not for the catalog of 10,000 lines (≈ 6 MiB).
    const filler = fillUntil(disk, 1536 * 1024);
    const server = await startChildServer({ dataRoot, stateDir: path.join(disk, 'state') });

    const readyz = await vi.waitFor(async () => {
      const res = await getJson<{ ready: boolean; reason?: { code: string; message: string } }>(
        server,
        '/readyz',
      );
      expect(res.status).toBe(503);
      expect(res.body.reason?.code).toBe('catalog_disk_full');
      return res.body;
    }, WAIT);
    expect(readyz.reason?.message).toMatch(/file system is full: the catalog cannot be written/);
    const explorer = await getJson<{ error: { code: string; message: string } }>(server, '/api/episodes');
    expect(explorer.status).toBe(503);
    expect(explorer.body.error.code).toBe('catalog_disk_full');
    expect(explorer.body.error.message).toMatch(/file system is full/);
    expect((await getJson(server, '/api/alerts')).status).toBe(503);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain('cis490_dashboard_catalog_fault{reason="disk_full"} 1');
    // The live state never depended on the catalog.
    expect((await getJson<DashboardState>(server, '/api/state')).body.total_episodes).toBe(
      expected.total_episodes,
    );

    fs.rmSync(filler);
    await vi.waitFor(async () => expect((await getJson(server, '/readyz')).status).toBe(200), WAIT);
    await settled(server.url, expected.total_episodes);
    expect(await (await fetch(`${server.url}/metrics`)).text()).toContain(
      'cis490_dashboard_catalog_fault{reason="disk_full"} 0',
    );
    report('disk full', { index_lines: lines, tmpfs_kib: 16 * 1024 });
    await stop(server);
  });
});
