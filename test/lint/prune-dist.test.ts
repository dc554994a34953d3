import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ESM script (scripts/ is not type-checked); its exports are used as called here.
import { pruneDist } from '../../scripts/prune-dist.mjs';
import { tempDir } from '../support/tmp.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));

function files(root: string, list: readonly string[]): void {
  for (const f of list) {
    fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    fs.writeFileSync(path.join(root, f), '');
  }
}

describe('scripts/prune-dist.mjs (npm run build, the test setup)', () => {
  it('removes the output of deleted sources, tests and the web app; keeps current output, vendor/ and bundle/', () => {
    const root = tempDir('cis490-prune-');
    files(root, ['src/server.ts', 'src/bus/bus.ts', 'src/bus/bus.test.ts', 'src/web/main.tsx']);
    files(root, [
      'dist/server.js',
      'dist/server.js.map',
      'dist/bus/bus.js',
      'dist/dashboard.js',
      'dist/dashboard.js.map',
      'dist/bus/bus.test.js',
      'dist/gone/worker.js',
      'dist/web/main.js',
      'dist/vendor/typebox/index.js',
      'dist/bundle/main.js',
      'dist/bundle/chunk-abc.js',
    ]);
    const removed = (pruneDist(path.join(root, 'dist'), path.join(root, 'src')) as string[]).sort();
    expect(removed).toEqual(
      [
        path.join('bus', 'bus.test.js'),
        'dashboard.js',
        'dashboard.js.map',
        path.join('gone', 'worker.js'),
        path.join('web', 'main.js'),
      ].sort(),
    );
    expect(fs.existsSync(path.join(root, 'dist/gone'))).toBe(false);
    for (const kept of [
      'server.js',
      'server.js.map',
      'bus/bus.js',
      'vendor/typebox/index.js',
      'bundle/main.js',
      'bundle/chunk-abc.js',
    ])
      expect(fs.existsSync(path.join(root, 'dist', kept)), kept).toBe(true);
  });

  it("leaves this repository's dist/ with no file that lacks a source (the test setup pruned it)", () => {
    expect(pruneDist(path.join(repo, 'dist'))).toEqual([]);
    expect(fs.existsSync(path.join(repo, 'dist/dashboard.js'))).toBe(false);
  });
});
