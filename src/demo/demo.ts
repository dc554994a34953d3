import { randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hostIds } from '../generate/generate.js';
import { Rng } from '../generate/rng.js';
import type { RunningServer, ServerConfig } from '../server.js';
import { startServer } from '../server.js';
import { UsageError } from '../util/errors.js';
import { makeFolder } from '../util/make-folder.js';
import { backfill } from './backfill.js';
import { phaseClient } from './phase-client.js';
import type { DemoTiming } from './profiles.js';
import { Receiver } from './receiver.js';
import { nodeReceiverFs } from './receiver-fs.js';
import { Simulator } from './simulator.js';

/**
 * `demo` as a programmatic API: a folder with a data root (the last hour's history, generated),
 * a phase token, and the dashboard's state; the server reading that root; and the live simulator
 * writing it. The CLI command and the tests both start the demo through `startDemo`.
 */

export interface DemoOptions {
  /** The demo's folder (`data/`, `state/`, `phase-token`); reused when it holds an earlier demo. @default a fresh folder under the OS temp dir */
  dir?: string;
  /** @default 4 */
  hosts?: number;
  /** Episodes per minute, all hosts together. @default 30 */
  ratePerMinute?: number;
  /** Seed of the history and of the simulator's draws. @default random */
  seed?: number;
  /** Server settings; the data root, state dir and phase token are the demo's own. */
  server?: Partial<Omit<ServerConfig, 'dataRoot' | 'stateDir' | 'resetState' | 'phaseTokenFile'>>;
  /** Overrides of the simulator's timings (derived from the rate). */
  timing?: Partial<DemoTiming>;
  /** Episodes and alerts of the hour before the demo starts (a fresh folder only). @default 6 per host, 12 */
  history?: { episodes: number; alerts: number };
  /** Telemetry member per episode, KiB before compression. @default 16 */
  telemetryKb?: number;
  /** The simulator's tarballs kept on disk; the oldest are deleted past this. @default 2000 */
  maxEpisodesOnDisk?: number;
}

export interface RunningDemo {
  dir: string;
  dataRoot: string;
  stateDir: string;
  url: string;
  server: RunningServer;
  simulator: Simulator;
  /** False when an earlier demo's data root was continued (no history was generated). */
  fresh: boolean;
  /** Stops the simulator (the write in progress finishes), then the server. Idempotent. */
  stop(): Promise<void>;
}

export const DEMO_DEFAULTS = { hosts: 4, ratePerMinute: 30, telemetryKb: 16 } as const;

/** A fresh demo's history covers the hour before it starts. */
const HISTORY_SPAN_MS = 3_600_000;

export async function startDemo(o: DemoOptions = {}): Promise<RunningDemo> {
  const hosts = o.hosts ?? DEMO_DEFAULTS.hosts;
  const ratePerMinute = o.ratePerMinute ?? DEMO_DEFAULTS.ratePerMinute;
  const telemetryKb = o.telemetryKb ?? DEMO_DEFAULTS.telemetryKb;
  const seed = o.seed ?? randomInt(2 ** 31 - 1);
  const dir = path.resolve(o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cis490-demo-')));
  // A folder the demo made for itself is removed again if the demo cannot start.
  const ownsDir = o.dir === undefined;
  const dataRoot = path.join(dir, 'data');
  const stateDir = path.join(dir, 'state');
  if (o.dir !== undefined) checkDemoDir(dir);
  makeFolder(dir);

  const receiver = new Receiver(dataRoot, nodeReceiverFs, {
    ...(o.maxEpisodesOnDisk !== undefined ? { maxEpisodesOnDisk: o.maxEpisodesOnDisk } : {}),
  });
  const fresh = !holdsData(dataRoot);
  if (fresh) {
    makeFolder(dataRoot);
    await backfill({
      receiver,
      hosts: hostIds(hosts),
      episodes: o.history?.episodes ?? hosts * 6,
      alerts: o.history?.alerts ?? 12,
      spanMs: HISTORY_SPAN_MS,
      nowMs: Date.now(),
      telemetryKb,
      rng: new Rng(seed).fork(0xbacf111),
    });
  }
  // The receiver's layout exists before the server starts: a folder that appears later is only
  // noticed at the dashboard's next full rescan (a minute by default), heartbeats would lag.
  fs.mkdirSync(path.join(dataRoot, 'health'), { recursive: true });
  const tokenFile = path.join(dir, 'phase-token');
  const token = phaseToken(tokenFile);

  let server: RunningServer;
  try {
    // A data root generated just now makes any catalog left in state/ another root's: set it aside.
    server = await startServer({
      ...o.server,
      dataRoot,
      stateDir,
      resetState: fresh,
      phaseTokenFile: tokenFile,
    });
  } catch (err) {
    if (ownsDir) fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const simulator = new Simulator({
    receiver,
    postPhase: phaseClient(server.url, token),
    hosts: hostIds(hosts),
    ratePerMinute,
    seed,
    telemetryKb,
    logger: server.logger.child({ component: 'demo' }),
    ...(o.timing ? { timing: o.timing } : {}),
  });
  // The lab comes alive once the dashboard has read what is there: its first pass then never
  // overlaps the first live writes (see the report on EpisodesDirFeeder's list-then-watch).
  await server.pipeline.whenReady();
  simulator.start();

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      await simulator.stop();
      await server.close();
    })();
    return stopping;
  };
  return { dir, dataRoot, stateDir, url: server.url, server, simulator, fresh, stop };
}

/** What a demo folder holds (an earlier run's): nothing else is written beside them. */
const DEMO_ENTRIES = new Set(['data', 'state', 'phase-token']);

/**
 * A `--dir` must be a demo's folder, or empty, or new: a demo writes `data/`, `state/` and a token
 * into it, so a folder holding anything else (someone's work, a real data root) is refused.
 */
function checkDemoDir(dir: string): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new UsageError('demo_dir_not_dir', `--dir ${dir} is a file, not a folder`);
    throw err;
  }
  const foreign = entries.filter((e) => !DEMO_ENTRIES.has(e));
  if (foreign.length > 0) {
    throw new UsageError(
      'demo_dir_not_demo',
      `--dir ${dir} holds other things than a demo's (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}): give an empty or new folder, or an earlier demo's`,
    );
  }
}

function holdsData(dataRoot: string): boolean {
  try {
    return fs.readdirSync(dataRoot).length > 0;
  } catch {
    return false;
  }
}

/** The demo's phase token: read back when an earlier run wrote it, else a new one (owner-only). */
function phaseToken(file: string): string {
  try {
    const existing = fs.readFileSync(file, 'utf8').trim();
    if (existing.length >= 8) return existing;
  } catch {
    // none yet
  }
  const token = randomBytes(24).toString('hex');
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}
