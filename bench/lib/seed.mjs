/**
 * The Python dashboard's feeder as a baseline: found at ../shared/seed/feeder.py beside the
 * repository (as in CI) or /work/shared/seed; needs python3 and the `zstd` command.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot, timed } from './proc.mjs';

const script = path.join(repoRoot, 'bench', 'seed-snapshot.py');

/** `{ dir }` when the seed can run here, else `{ missing }` saying what is absent. */
export function locateSeed() {
  const candidates = [
    process.env.CIS490_SEED_DIR,
    path.join(repoRoot, '..', 'shared', 'seed'),
    '/work/shared/seed',
  ].filter(Boolean);
  const dir = candidates.find((d) => fs.existsSync(path.join(d, 'feeder.py')));
  if (!dir) return { missing: `seed feeder.py not found (looked in ${candidates.join(', ')})` };
  for (const [cmd, arg] of [
    ['python3', '--version'],
    ['zstd', '--version'],
  ]) {
    const r = spawnSync(cmd, [arg], { encoding: 'utf8' });
    if (r.error || r.status !== 0) return { missing: `\`${cmd}\` is not installed` };
  }
  return { dir };
}

/**
 * One seed `_snapshot_state` in a fresh python3 process. `seconds`/`cpu_seconds` are the
 * function's own; `process` is the whole process (interpreter start included) as bash timed it.
 */
export async function seedSnapshot(seedDir, root, { phaseMixSample = 0 } = {}) {
  const argv = ['python3', script, root, seedDir];
  if (phaseMixSample) argv.push('--phase-mix', String(phaseMixSample));
  const r = await timed(argv);
  return { ...JSON.parse(r.stdout.trim().split('\n').pop()), process: { wall: r.wall, cpu: r.cpu } };
}
