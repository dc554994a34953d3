/**
 * Benchmarks other issues own (bench/phase-mix.mjs, bench/explorer.*), run as child processes
 * with `--json`; their last stdout line is the result.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../lib/proc.mjs';

export function runScript(script, args, { timeoutMs = 600_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    child.stderr.on('data', (c) => {
      err = (err + c).slice(-4000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      let json = null;
      try {
        json = JSON.parse(last);
      } catch {
        // Not a JSON line: the caller reports the text.
      }
      if (code !== 0 && !json)
        reject(new Error(`${path.basename(script)} exited ${code ?? signal}: ${err || out}`));
      else resolve({ json, text: out, code });
    });
  });
}

export function runPhaseMix({ episodes, reps, seedDir, cacheDir }) {
  const keep = path.join(cacheDir, `phasemix-e${episodes}-h8-t64-s490`);
  fs.mkdirSync(keep, { recursive: true });
  const args = ['--episodes', String(episodes), '--reps', String(reps), '--keep', keep, '--json'];
  if (seedDir) args.push('--seed-dir', seedDir);
  return runScript(path.join(repoRoot, 'bench', 'phase-mix.mjs'), args);
}

/** bench/explorer.mjs (or .js) when it exists, else null. */
export function findExplorer() {
  for (const name of ['explorer.mjs', 'explorer.js']) {
    const p = path.join(repoRoot, 'bench', name);
    if (fs.existsSync(p)) return p;
  }
  return null;
}
