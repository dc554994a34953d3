import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { BIN, runCli as cli, expectUsageError } from '../../test/support/cli.js';
import { itAsNobody, NOBODY, rootForNobody } from '../../test/support/nobody.js';
import { tempDir } from '../../test/support/tmp.js';
import { generateDataRoot } from '../generate/generate.js';

// Each test spawns the CLI a dozen times or more: a loaded CI box took 1.7 s a start (help: 10 in 16.8 s).
describe('cis490-dashboard CLI', { timeout: 120_000 }, () => {
  it('prints --version and --help for every command', async () => {
    const version = await cli(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    for (const command of ['serve', 'generate', 'snapshot', 'phase-mix']) {
      const help = await cli([command, '--help']);
      expect(help.code, command).toBe(0);
      expect(help.stdout).toContain(`Usage: cis490-dashboard ${command}`);
      const v = await cli([command, '--version']);
      expect(v.stdout.trim(), command).toBe(version.stdout.trim());
    }
    const top = await cli(['--help']);
    expect(top.stdout).toMatch(/serve[\s\S]*generate[\s\S]*snapshot/);
  });

  it('rejects unknown flags, bad numbers, unknown commands and a data root that is a file with exit 2', async () => {
    expectUsageError(await cli(['serve', '--bogus']), /unknown flag --bogus/);
    expectUsageError(await cli(['serve', '--port', 'eighty']), /--port must be a whole number/);
    expectUsageError(await cli(['serve', '--port', '-1']), /--port must be between/);
    expectUsageError(await cli(['serve'], { CIS490_SNAPSHOT_INTERVAL: 'often' }), /CIS490_SNAPSHOT_INTERVAL/);
    expectUsageError(await cli(['frobnicate']), /unknown command 'frobnicate'/);
    expectUsageError(await cli([]), /no command given \(commands: serve, /);
    // A value of the wrong shape, said with its flag and in words.
    expectUsageError(
      await cli(['serve', '--redis', 'notaurl']),
      /^cis490-dashboard: --redis must be a redis:\/\/ or rediss:\/\/ URL, got 'notaurl'/,
    );
    expectUsageError(
      await cli(['agent', '--advertise-url', 'notaurl']),
      /--advertise-url must be an http:\/\/ or https:\/\/ URL/,
    );
    expectUsageError(
      await cli(['serve', '--host-thresholds', 'disk_warn=200%']),
      /--host-thresholds: 'disk_warn=200%': a disk share is at most 100%/,
    );
    const file = path.join(tempDir(), 'not-a-dir');
    fs.writeFileSync(file, 'x');
    expectUsageError(
      await cli(['serve', '--data-root', file, '--port', '0']),
      /--data-root .* is not a directory/,
    );
    expectUsageError(await cli(['snapshot', '--data-root', file]), /is not a directory/);
    // A web folder named on purpose that is not one (it once served "not built: run npm run build").
    expectUsageError(
      await cli(['serve', '--web-dir', path.join(file, 'nope'), '--port', '0']),
      /--web-dir .* does not exist/,
    );
    expectUsageError(await cli(['serve', '--web-dir', file, '--port', '0']), /--web-dir .* is not a folder/);
    expectUsageError(await cli(['generate', '--hosts', '3']), /--out/);
  });

  it('answers what the system refuses with one line and exit 2, not a stack or a hang', async () => {
    const small = ['--hosts', '1', '--episodes', '1', '--index-lines', '2'];
    // A name longer than the file system allows; under /proc a recursive mkdir never returned.
    expectUsageError(
      await cli(['generate', '--out', path.join(tempDir(), 'x'.repeat(300)), ...small]),
      /ENAMETOOLONG/,
    );
    expectUsageError(await cli(['generate', '--out', '/proc/cis490-nope', ...small]), /ENOENT|EACCES|EPERM/);
    const file = path.join(tempDir(), 'a-file');
    fs.writeFileSync(file, 'x');
    expectUsageError(
      await cli(['generate', '--out', path.join(file, 'sub'), ...small]),
      /a folder above it, is a file/,
    );
    // An address that is not this machine's, a host name that does not resolve.
    const serve = ['serve', '--data-root', tempDir(), '--state-dir', tempDir(), '--port', '0'];
    expectUsageError(await cli([...serve, '--host', '192.0.2.1']), /EADDRNOTAVAIL/);
    expectUsageError(await cli([...serve, '--host', 'no-such-host.invalid']), /ENOTFOUND|EAI_AGAIN/);
  });

  itAsNobody(
    'snapshot and phase-mix refuse a data root they cannot read (exit 2), not wait or print an empty lab',
    async () => {
      const { root } = await rootForNobody(2);
      fs.chmodSync(root, 0o700); // root's own: nobody cannot list it
      for (const command of ['snapshot', 'phase-mix']) {
        expectUsageError(await cli([command, '--data-root', root], {}, NOBODY), /cannot read .*root/);
      }
      fs.chmodSync(root, 0o755);
      fs.chmodSync(path.join(root, 'index.jsonl'), 0o600);
      expectUsageError(
        await cli(['snapshot', '--data-root', root], {}, NOBODY),
        /cannot read .*index\.jsonl/,
      );
      // phase-mix reads only the tarballs: an index it may not read is none of its business.
      const mix = await cli(['phase-mix', '--data-root', root], {}, NOBODY);
      expect(mix.code, mix.stderr).toBe(0);
      fs.chmodSync(path.join(root, 'index.jsonl'), 0o644);
      const ok = await cli(['snapshot', '--data-root', root], {}, NOBODY);
      expect(ok.code, ok.stderr).toBe(0);
    },
  );

  itAsNobody(
    'phase-mix reads a tarball again once it can (a permission is not cached as a broken file)',
    async () => {
      const { root, stateDir, tarball } = await rootForNobody(3);
      const mix = async () => {
        const r = await cli(['phase-mix', '--data-root', root, '--state-dir', stateDir], {}, NOBODY);
        expect(r.code, r.stderr).toBe(0);
        return JSON.parse(r.stdout) as { sampled_episodes: number; skipped: Record<string, number> };
      };
      fs.chmodSync(tarball, 0o600); // root's own: nobody cannot open it
      expect(await mix()).toMatchObject({ sampled_episodes: 2, skipped: { unreadable: 1 } });
      fs.chmodSync(tarball, 0o644); // mtime unchanged: only a cached failure would keep it out
      const after = await mix();
      expect(after.sampled_episodes).toBe(3);
      expect(after.skipped).toEqual({});
    },
  );

  it('generates a root and snapshots it with the totals the generator promised', async () => {
    const out = path.join(tempDir(), 'root');
    const gen = await cli([
      'generate',
      '--out',
      out,
      '--hosts',
      '2',
      '--episodes',
      '6',
      '--alerts',
      '3',
      '--telemetry-kb',
      '2',
    ]);
    expect(gen.code).toBe(0);
    const summary = JSON.parse(gen.stdout) as {
      expected: { total_episodes: number; total_bytes: number; host_counts: Record<string, number> };
    };
    const again = await cli(['generate', '--out', out]);
    expectUsageError(again, /not empty|out_not_empty/);
    const snap = await cli(['snapshot', '--data-root', out]);
    expect(snap.code).toBe(0);
    const state = JSON.parse(snap.stdout) as {
      total_episodes: number;
      total_bytes: number;
      host_counts: Record<string, number>;
      total_alerts: number;
    };
    expect(state.total_episodes).toBe(summary.expected.total_episodes);
    expect(state.total_bytes).toBe(summary.expected.total_bytes);
    expect(state.host_counts).toEqual(summary.expected.host_counts);
    expect(state.total_alerts).toBe(3);

    const stateDir = path.join(tempDir(), 'state');
    const mix = await cli(['phase-mix', '--data-root', out, '--state-dir', stateDir]);
    expect(mix.code).toBe(0);
    const parsed = JSON.parse(mix.stdout) as {
      population_episodes: number;
      sampled_episodes: number;
      counts: Record<string, number>;
    };
    expect(parsed.population_episodes).toBe(6);
    expect(parsed.sampled_episodes).toBe(6);
    expect(Object.keys(parsed.counts)).toContain('baseline');
    expectUsageError(
      await cli(['phase-mix', '--data-root', out, '--sample', 'some']),
      /--sample must be a whole number or 'all'/,
    );
  });

  it('serve stops cleanly on SIGTERM with exit code 0', async () => {
    const root = tempDir();
    const child: ChildProcess = spawn(
      process.execPath,
      [BIN, 'serve', '--data-root', root, '--state-dir', path.join(root, '.state'), '--port', '0'],
      { env: { ...process.env, CIS490_LOG_LEVEL: 'silent' } },
    );
    onTestFinished(() => {
      child.kill('SIGKILL');
    });
    const url = await new Promise<string>((resolve) => {
      let err = '';
      child.stderr?.on('data', (d) => {
        err += d;
        const m = /serving (http:\/\/\S+)/.exec(err);
        if (m?.[1]) resolve(m[1]);
      });
    });
    expect((await fetch(`${url}/livez`)).status).toBe(200);
    // A second server on the same port fails with one line and exit 2, leaving nothing running.
    const busy = await cli([
      'serve',
      '--data-root',
      root,
      '--state-dir',
      path.join(root, '.state2'),
      '--port',
      new URL(url).port,
    ]);
    expectUsageError(busy, /already in use/);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('serve stops cleanly on a SIGTERM that comes while it starts (exit 0, not death by the signal)', async () => {
    // The stop signals are caught before the start: a supervisor (or a test) that stops the server
    // the moment it appears must get its clean exit. The state dir's owner.json is written early in
    // the start, long before the server listens on a root with a first pass to read.
    const tmp = tempDir();
    const root = path.join(tmp, 'root');
    await generateDataRoot({
      out: root,
      hosts: 2,
      episodes: 1,
      indexLines: 20_000,
      alerts: 10,
      telemetryKb: 1,
      seed: 14_004,
    });
    const stateDir = path.join(tmp, 'state');
    const child: ChildProcess = spawn(
      process.execPath,
      [BIN, 'serve', '--data-root', root, '--state-dir', stateDir, '--port', '0'],
      { env: { ...process.env, CIS490_LOG_LEVEL: 'silent' } },
    );
    onTestFinished(() => {
      child.kill('SIGKILL');
    });
    let err = '';
    child.stderr?.on('data', (d) => (err += d));
    const exited = new Promise<string>((resolve) =>
      child.once('exit', (code, signal) => resolve(signal ?? String(code))),
    );
    await vi.waitFor(() => expect(fs.existsSync(path.join(stateDir, 'owner.json'))).toBe(true), {
      timeout: 30_000,
      interval: 2,
    });
    child.kill('SIGTERM');
    expect(await exited, err).toBe('0');
  });
});
