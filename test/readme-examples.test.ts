import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateDataRoot } from '../src/generate/generate.js';
import { testServer } from './support/server.js';
import { tempDir } from './support/tmp.js';

const readme = fs.readFileSync(new URL('../README.md', import.meta.url), 'utf8');

/** The fenced block after `<!-- example:NAME -->`, pointed at `url` instead of the default port. */
function example(name: string, url: string): string {
  const m = new RegExp(`<!-- example:${name} -->\\n\`\`\`\\w+\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (!m?.[1]) throw new Error(`README has no example:${name}`);
  return m[1].replaceAll('http://127.0.0.1:8490', url);
}

describe('README API examples', () => {
  it('page through /api/episodes with the cursor and download one tarball (Python and curl)', async () => {
    const root = path.join(tempDir('cis490-ex-'), 'root');
    // 230 episodes: three pages of 100.
    await generateDataRoot({ out: root, hosts: 3, episodes: 230, alerts: 1, telemetryKb: 1, seed: 4 });
    const server = await testServer({ dataRoot: root });
    await server.pipeline.whenReady();
    await server.pipeline.whenCatalogCaughtUp();
    for (const [name, cmd] of [
      ['python', 'python3'],
      ['sh', 'bash'],
    ] as const) {
      const dir = tempDir(`cis490-ex-${name}-`);
      const script = path.join(dir, `episodes.${name}`);
      fs.writeFileSync(script, example(name, server.url));
      // Asynchronously: the server under test answers from this process's event loop.
      const run = await new Promise<{ code: number; stderr: string }>((resolve) => {
        execFile(cmd, [script], { cwd: dir, encoding: 'utf8' }, (err, _out, stderr) =>
          resolve({ code: err ? Number(err.code ?? 1) : 0, stderr }),
        );
      });
      expect(run.stderr, name).toBe('');
      expect(run.code, name).toBe(0);
      const tarballs = fs.readdirSync(dir).filter((f) => f.endsWith('.tar.zst'));
      expect(tarballs, name).toHaveLength(1);
      const zstd = spawnSync('zstd', ['-tq', path.join(dir, tarballs[0] ?? '')], { encoding: 'utf8' });
      expect(zstd.status, `${name}: ${zstd.stderr}`).toBe(0);
      if (name === 'sh') {
        expect(fs.readFileSync(path.join(dir, 'episodes.tsv'), 'utf8').trim().split('\n')).toHaveLength(230);
      }
    }
  });
});
