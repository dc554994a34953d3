import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Vitest global setup: compile the server to dist/ once per run, bundle TypeBox and then
 * the server into dist/bundle/, as `npm run build:server` does. Worker threads and the CLI run
 * compiled code (a worker_thread cannot load .ts), so tests must see the current sources there.
 * Type errors do not stop the emit (`npm run lint` reports them); tests then fail on behaviour.
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const result = spawnSync(
    process.execPath,
    ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  if (result.status !== 0) {
    process.stderr.write(
      `build-server: tsc reported errors (emitted anyway):\n${result.stdout.slice(0, 4000)}\n`,
    );
  }
  // As `npm run build:server` does: no output of a deleted source is left to run (a worker's
  // compiled twin is found by path), and the compiled server loads TypeBox from one bundle.
  const prune = spawnSync(process.execPath, ['scripts/prune-dist.mjs'], { cwd: root, encoding: 'utf8' });
  if (prune.status !== 0) throw new Error(`build-server: prune-dist failed:\n${prune.stderr}`);
  const vendor = spawnSync(process.execPath, ['scripts/vendor-typebox.mjs'], { cwd: root, encoding: 'utf8' });
  if (vendor.status !== 0) throw new Error(`build-server: vendor-typebox failed:\n${vendor.stderr}`);
  // The bin runs dist/bundle/ when it is there: left from an earlier build it would be stale, and
  // every test that spawns the CLI would run old code. Rebuilt from the dist/ just compiled.
  const bundle = spawnSync(process.execPath, ['scripts/bundle-server.mjs'], { cwd: root, encoding: 'utf8' });
  if (bundle.status !== 0) throw new Error(`build-server: bundle-server failed:\n${bundle.stderr}`);
}
