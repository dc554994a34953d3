import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/tmp.js';
import { DashboardError } from '../util/errors.js';
import { normalizeTimestamp } from '../util/time.js';
import { type GenerateOptions, generateDataRoot } from './generate.js';

const SMALL: Omit<GenerateOptions, 'out'> = { hosts: 4, episodes: 30, alerts: 25, telemetryKb: 8, seed: 7 };

/** Every file under `dir` (relative path → bytes), sorted by path. */
function tree(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = path.join(rel, entry.name);
      if (entry.isDirectory()) walk(child);
      else files.set(child, fs.readFileSync(path.join(dir, child)));
    }
  };
  walk('');
  return new Map([...files.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
}

function jsonLines(file: string): Record<string, unknown>[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('generateDataRoot', () => {
  it('writes the same bytes for the same seed, and different ones for another seed', async () => {
    const a = path.join(tempDir(), 'root');
    const b = path.join(tempDir(), 'root');
    const c = path.join(tempDir(), 'root');
    await generateDataRoot({ ...SMALL, out: a, indexLines: 50 });
    await generateDataRoot({ ...SMALL, out: b, indexLines: 50 });
    await generateDataRoot({ ...SMALL, out: c, indexLines: 50, seed: 8 });
    const ta = tree(a);
    const tb = tree(b);
    expect([...ta.keys()]).toEqual([...tb.keys()]);
    for (const [rel, bytes] of ta) expect(bytes.equals(tb.get(rel) as Buffer), rel).toBe(true);
    expect(
      fs.readFileSync(path.join(c, 'index.jsonl')).equals(fs.readFileSync(path.join(a, 'index.jsonl'))),
    ).toBe(false);
  });

  it('lays out episodes, index, alerts and health as DESIGN §1 describes', async () => {
    const out = path.join(tempDir(), 'root');
    const summary = await generateDataRoot({ ...SMALL, out });
    const files = [...tree(out).keys()];

    const tarballs = files.filter((f) => f.endsWith('.tar.zst'));
    expect(tarballs).toHaveLength(30);
    for (const f of tarballs)
      expect(f).toMatch(/^episodes\/host-0[1-4]\/ep-\d{8}T\d{6}-[0-9a-f]{8}\.tar\.zst$/);
    // One temp upload and one checksum file, neither an episode.
    expect(files.filter((f) => f.endsWith('.tar.zst.tmp'))).toHaveLength(1);
    expect(files.filter((f) => f.endsWith('.sha256'))).toHaveLength(1);
    expect(summary.nonEpisodeFiles.sort()).toEqual(
      files.filter((f) => f.startsWith('episodes/') && !f.endsWith('.tar.zst')).sort(),
    );
    expect(files.filter((f) => f.startsWith('health/')).sort()).toEqual(
      ['host-01', 'host-02', 'host-03', 'host-04'].map((h) => `health/${h}.json`),
    );

    // Uneven spread: not every host got the same share.
    const perHost = Object.values(summary.expected.host_counts);
    expect(Math.max(...perHost)).toBeGreaterThan(Math.min(...perHost));
    expect(Object.values(summary.expected.host_counts).reduce((a, b) => a + b, 0)).toBe(30);

    const alerts = jsonLines(path.join(out, 'alerts.jsonl'));
    expect(alerts).toHaveLength(25);
    for (const a of alerts) {
      expect(Object.keys(a).sort()).toEqual(
        ['dedup_key', 'detail', 'detected_at_wall', 'host', 'suggested_fix', 'symptom'].sort(),
      );
      expect(normalizeTimestamp(a.detected_at_wall)).not.toBeNull();
    }
    // Dedup keys repeat (the Alerts scene folds them).
    expect(new Set(alerts.map((a) => a.dedup_key)).size).toBeLessThan(alerts.length);

    const health = JSON.parse(fs.readFileSync(path.join(out, 'health/host-02.json'), 'utf8'));
    expect(health).toMatchObject({ host_id: 'host-02', queue_depth: expect.any(Number) });
    expect(health.disk_free_bytes).toBeLessThan(health.disk_total_bytes);
  });

  it('indexes every tarball in received order with its true sha256 and size', async () => {
    const out = path.join(tempDir(), 'root');
    const summary = await generateDataRoot({ ...SMALL, out, episodes: 60 });
    const lines = jsonLines(path.join(out, 'index.jsonl'));
    expect(lines).toHaveLength(60);
    const received: number[] = [];
    for (const line of lines) {
      expect(Object.keys(line).sort()).toEqual(
        ['episode_id', 'host_id', 'path', 'received_at_wall', 'sha256', 'size_bytes'].sort(),
      );
      const bytes = fs.readFileSync(path.join(out, line.path as string));
      expect(line.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(line.size_bytes).toBe(bytes.length);
      expect(line.path).toBe(`episodes/${line.host_id}/${line.episode_id}.tar.zst`);
      received.push(Date.parse(normalizeTimestamp(line.received_at_wall) as string));
    }
    expect(received).toEqual([...received].sort((a, b) => a - b));
    // Both timestamp formats occur.
    expect(lines.some((l) => typeof l.received_at_wall === 'number')).toBe(true);
    expect(lines.some((l) => typeof l.received_at_wall === 'string')).toBe(true);
    expect(summary.expected.total_bytes).toBe(lines.reduce((s, l) => s + (l.size_bytes as number), 0));
    expect(summary.expected.total_episodes).toBe(new Set(lines.map((l) => l.episode_id)).size);
    for (const [host, indexed] of Object.entries(summary.expected.hosts_indexed)) {
      const own = lines.filter((l) => l.host_id === host);
      expect(indexed.episodes).toBe(own.length);
      const newest = own
        .map((l) => normalizeTimestamp(l.received_at_wall) as string)
        .sort()
        .at(-1);
      expect(indexed.last_received_at).toBe(newest);
    }
  });

  it('reports the phase mix the tarballs really hold', async () => {
    const out = path.join(tempDir(), 'root');
    const summary = await generateDataRoot({ ...SMALL, out, episodes: 12 });
    const counts: Record<string, number> = {};
    let labels = 0;
    for (const e of summary.episodes) {
      const text = execFileSync(
        'sh',
        [
          '-c',
          'zstd -dc "$1" | tar -xOf - "$2"',
          'sh',
          path.join(out, e.path),
          `${e.episode_id}/labels.jsonl`,
        ],
        { encoding: 'utf8' },
      );
      for (const line of text.split('\n').filter(Boolean)) {
        const phase = (JSON.parse(line) as { phase: string }).phase;
        counts[phase] = (counts[phase] ?? 0) + 1;
        labels++;
      }
    }
    expect(summary.expected.phase_mix).toMatchObject({
      counts,
      total_labels: labels,
      sampled_episodes: 12,
      population_episodes: 12,
    });
  });

  it('adds index-only episodes before the tarballs when asked for more index lines', async () => {
    const out = path.join(tempDir(), 'root');
    const summary = await generateDataRoot({ ...SMALL, out, episodes: 5, indexLines: 2000 });
    const lines = jsonLines(path.join(out, 'index.jsonl'));
    expect(lines).toHaveLength(2000);
    expect(new Set(lines.map((l) => l.episode_id)).size).toBe(2000);
    expect(lines.slice(0, 1995).every((l) => l.path === undefined)).toBe(true);
    expect(lines.slice(1995).every((l) => typeof l.path === 'string')).toBe(true);
    expect(summary.indexOnlyEpisodes).toBe(1995);
    expect(summary.expected.total_episodes).toBe(2000);

    const perHost: Record<string, number> = {};
    for (const l of lines) perHost[l.host_id as string] = (perHost[l.host_id as string] ?? 0) + 1;
    expect(
      Object.fromEntries(Object.entries(summary.expected.hosts_indexed).map(([h, v]) => [h, v.episodes])),
    ).toEqual(perHost);
  });

  it('writes tarballs whose tar lists the members in order under the episode folder', async () => {
    const out = path.join(tempDir(), 'root');
    const summary = await generateDataRoot({ ...SMALL, out, episodes: 3 });
    const first = summary.episodes[0];
    if (!first) throw new Error('no episode');
    const listing = execFileSync(
      'sh',
      ['-c', 'zstd -dc "$1" | tar -tf -', 'sh', path.join(out, first.path)],
      {
        encoding: 'utf8',
      },
    );
    const id = first.episode_id;
    expect(listing.split('\n').filter((l) => l !== '')).toEqual([
      `${id}/`,
      `${id}/meta.json`,
      `${id}/labels.jsonl`,
      `${id}/telemetry.csv`,
    ]);
  });

  it('refuses a non-empty output directory and creates a missing one', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'keep.txt'), 'mine');
    const err = await generateDataRoot({ ...SMALL, out: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DashboardError);
    expect((err as DashboardError).code).toBe('out_not_empty');
    expect(fs.readdirSync(dir)).toEqual(['keep.txt']);

    const fresh = path.join(dir, 'a', 'b');
    await generateDataRoot({ ...SMALL, out: fresh, episodes: 0, alerts: 0 });
    expect(fs.readdirSync(fresh).sort()).toEqual(['alerts.jsonl', 'health', 'index.jsonl']);
    expect(fs.readFileSync(path.join(fresh, 'index.jsonl'), 'utf8')).toBe('');
  });
});
