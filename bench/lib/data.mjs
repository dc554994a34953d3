/**
 * Generated data roots for the benchmarks, cached under .bench-data/ keyed by their parameters
 * (generation is deterministic for a seed), plus throw-away working copies for cases that append.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './proc.mjs';

export const cacheDir = path.join(repoRoot, '.bench-data');

/** The data root for these parameters, generated on first use. */
export function ensureRoot(
  { hosts, episodes, indexLines, telemetryKb = 16, seed = 490, indexStyle = 'python' },
  log = () => {},
) {
  fs.mkdirSync(cacheDir, { recursive: true });
  // The cache ignores itself, so no repository-wide .gitignore entry is needed.
  const ignore = path.join(cacheDir, '.gitignore');
  if (!fs.existsSync(ignore)) fs.writeFileSync(ignore, '*\n');
  const dir = path.join(
    cacheDir,
    `root-h${hosts}-e${episodes}-l${indexLines}-t${telemetryKb}-s${seed}-${indexStyle}`,
  );
  if (fs.existsSync(dir)) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  log(`generating ${path.basename(dir)} ...`);
  const args = [
    path.join(repoRoot, 'bin', 'cis490-dashboard.js'),
    'generate',
    '--out',
    tmp,
    '--hosts',
    String(hosts),
    '--episodes',
    String(episodes),
    '--index-lines',
    String(indexLines),
    '--telemetry-kb',
    String(telemetryKb),
    '--seed',
    String(seed),
    '--index-style',
    indexStyle,
    '--log-level',
    'warn',
  ];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`generate failed: ${r.stderr || r.stdout}`);
  // Rename last: an interrupted run leaves a .tmp folder, never a half-written cache entry.
  fs.renameSync(tmp, dir);
  return dir;
}

/**
 * A root written by `bench/foreign-root.py` (a program that is not ours, in the shape a Python
 * receiver writes: odd host names, extra keys, six time forms, re-logged ids), made on first use.
 */
export function ensureForeignRoot({ indexLines, episodes = 2000, alerts = 20_000 }, log = () => {}) {
  fs.mkdirSync(cacheDir, { recursive: true });
  const suffix = `${episodes === 2000 ? '' : `-e${episodes}`}${alerts === 20_000 ? '' : `-a${alerts}`}`;
  const dir = path.join(cacheDir, `root-foreign-l${indexLines}${suffix}`);
  if (fs.existsSync(dir)) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  log(`writing ${path.basename(dir)} with bench/foreign-root.py ...`);
  const r = spawnSync(
    'python3',
    [
      path.join(repoRoot, 'bench', 'foreign-root.py'),
      tmp,
      ...['--lines', indexLines, '--episodes', episodes, '--alerts', alerts].map(String),
    ],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  if (r.status !== 0) throw new Error(`bench/foreign-root.py failed: ${r.stderr || r.stdout || r.error}`);
  fs.renameSync(tmp, dir);
  return dir;
}

/** A private working folder under the system temp dir, removed by `cleanup()`. */
export function workDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cis490-bench-${prefix}-`));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A full copy of a cached root, for cases that append to its index (the cache stays pristine). */
export function copyRoot(root, into) {
  const dest = path.join(into, 'root');
  fs.cpSync(root, dest, { recursive: true });
  return dest;
}

export function lineCount(file) {
  const buf = fs.readFileSync(file);
  let n = 0;
  for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) n++;
  return n;
}
