/**
 * The shipped bundle (dist/bundle/, scripts/bundle-server.mjs), run the way a user runs it: the
 * bin, from a copy of the package that holds only what the bin needs of dist/ — the bundle — so
 * anything still reaching for tsc's dist/ layout (a worker not bundled, a path counted in `../`)
 * fails here instead of passing on the dist/ beside it. The test setup (test/build-server.ts)
 * builds the bundle from the current sources, so a build step that drops a piece fails here too.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { WebSocket } from 'ws';
import { tempDir } from '../support/tmp.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const RECORDER = new URL('./record-workers.mjs', import.meta.url).href;
/** The worker threads a `serve` of a data root starts (each by `workerFile('./NAME.js', …)`). */
const WORKERS = ['first-pass-worker.js', 'persist-worker.js', 'verifier-worker.js'];

/** A package folder with package.json, bin/ and `parts` copied; node_modules linked. */
function packageCopy(dir: string, parts = ['web-dist', path.join('dist', 'bundle')]): string {
  const pkg = path.join(dir, 'pkg');
  for (const rel of ['package.json', 'bin', ...parts]) {
    fs.cpSync(path.join(REPO, rel), path.join(pkg, rel), { recursive: true });
  }
  // Linked, not copied: the externals (better-sqlite3, zstd-napi) and their .node files load from it.
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(pkg, 'node_modules'), 'dir');
  return pkg;
}

/** Lines of a child's stream, and promises for the first line that passes a test. */
class Lines {
  readonly all: string[] = [];
  private waiters: Array<{ test: (line: string) => boolean; resolve: (line: string) => void }> = [];
  private partial = '';
  private gone: Error | null = null;
  private rejects = new Set<(err: Error) => void>();

  constructor(stream: NodeJS.ReadableStream, child: ChildProcess) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (this.partial + chunk).split('\n');
      this.partial = parts.pop() ?? '';
      for (const line of parts) this.add(line);
    });
    child.once('exit', (code, signal) => {
      this.gone = new Error(
        `server exited (${signal ?? code}); its output:\n${this.all.join('\n').slice(-3000)}`,
      );
      for (const reject of this.rejects) reject(this.gone);
    });
  }

  private add(line: string): void {
    this.all.push(line);
    this.waiters = this.waiters.filter((w) => {
      if (!w.test(line)) return true;
      w.resolve(line);
      return false;
    });
  }

  first(test: (line: string) => boolean): Promise<string> {
    const seen = this.all.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    if (this.gone) return Promise.reject(this.gone);
    return new Promise((resolve, reject) => {
      this.rejects.add(reject);
      this.waiters.push({
        test,
        resolve: (line) => {
          this.rejects.delete(reject);
          resolve(line);
        },
      });
    });
  }
}

/** A pino JSON line's record, or null for anything else. */
function record(line: string): Record<string, unknown> | null {
  try {
    const rec: unknown = JSON.parse(line);
    return typeof rec === 'object' && rec !== null ? (rec as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The first message the server's WebSocket sends a new client. */
function firstWsMessage(url: string): Promise<{ type?: unknown }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('message', (data) => {
      ws.close();
      resolve(JSON.parse(String(data)) as { type?: unknown });
    });
    ws.once('error', reject);
  });
}

describe('what bin/cis490-dashboard.js runs: the bundle (dist/bundle/), else dist/', () => {
  it('serves a generated root from a package holding only the bundle, every worker thread from the bundle folder', async () => {
    const dir = tempDir('cis490-bundle-');
    const pkg = packageCopy(dir);
    const bin = path.join(pkg, 'bin', 'cis490-dashboard.js');
    const run = promisify(execFile);

    const { version } = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect((await run(process.execPath, [bin, '--version'])).stdout.trim()).toBe(version);

    // Enough index lines for a ranged first pass (four or more ranges): the scanner thread is used.
    const root = path.join(dir, 'root');
    await run(process.execPath, [
      bin,
      'generate',
      '--out',
      root,
      '--hosts',
      '2',
      '--episodes',
      '6',
      '--index-lines',
      '100000',
      '--telemetry-kb',
      '4',
      '--log-level',
      'silent',
    ]);

    const child = spawn(
      process.execPath,
      [
        '--import',
        RECORDER,
        bin,
        'serve',
        '--data-root',
        root,
        '--state-dir',
        path.join(dir, 'state'),
        '--port',
        '0',
        '--log-level',
        'info',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const out = new Lines(child.stdout, child);
    const err = new Lines(child.stderr, child);

    const serving = await err.first((l) => /serving http:\/\/\S+/.test(l));
    const url = /serving (http:\/\/\S+)/.exec(serving)?.[1] as string;
    await out.first((l) => record(l)?.msg === 'ready');
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    // Every worker thread came up from the bundle folder (the copy has no dist/catalog etc.).
    const online = await Promise.all(
      WORKERS.map((name) => err.first((l) => l.startsWith('worker online: ') && l.endsWith(`/${name}`))),
    );
    const bundleDir = fs.realpathSync(path.join(pkg, 'dist', 'bundle'));
    for (const line of err.all.filter((l) => l.startsWith('worker online: '))) {
      expect(path.dirname(fs.realpathSync(line.slice('worker online: '.length))), line).toBe(bundleDir);
    }
    expect(online).toHaveLength(WORKERS.length);

    // The phase mix read the episodes' tarballs (zstd-napi, a native addon left out of the bundle).
    const mix = record(await out.first((l) => record(l)?.msg === 'phase mix refreshed'));
    expect(mix?.read).toBe(6);

    // The web app from the package's web-dist/, and the live stream.
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toBe(fs.readFileSync(path.join(pkg, 'web-dist', 'index.html'), 'utf8'));
    expect((await firstWsMessage(`${url.replace(/^http/, 'ws')}/ws`)).type).toEqual(expect.any(String));

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const errors = out.all.filter((l) => Number(record(l)?.level) >= 50);
    expect(errors).toEqual([]);
  }, 120_000);

  it('falls back to dist/cli/main.js without a bundle, and says it is not built (exit 2) without either', async () => {
    const dir = tempDir('cis490-bundle-');
    // tsc's dist/ only: the bundle's folder left out.
    const pkg = packageCopy(dir, ['dist']);
    fs.rmSync(path.join(pkg, 'dist', 'bundle'), { recursive: true, force: true });
    const bin = path.join(pkg, 'bin', 'cis490-dashboard.js');
    const run = promisify(execFile);
    const { version } = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect((await run(process.execPath, [bin, '--version'])).stdout.trim()).toBe(version);

    fs.rmSync(path.join(pkg, 'dist'), { recursive: true });
    const unbuilt = await run(process.execPath, [bin, '--version']).then(
      () => null,
      (err: { code?: unknown; stderr?: unknown }) => err,
    );
    expect(unbuilt?.code).toBe(2);
    expect(String(unbuilt?.stderr).trim()).toBe(
      'cis490-dashboard: not built yet; run `npm ci` or `npm run build:server` first',
    );
  });
});
