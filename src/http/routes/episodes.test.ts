import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { getJson, testServer, waitReady } from '../../../test/support/server.js';
import { tempDir } from '../../../test/support/tmp.js';
import { type GenerateSummary, generateDataRoot } from '../../generate/generate.js';
import type { EpisodeDetail, EpisodeFacets, EpisodesPage } from '../../protocol/api.js';
import type { RunningServer } from '../../server.js';

/** The catalog writer and the verifier run in threads: give them time on a loaded machine. */
const WAIT = { timeout: 20_000, interval: 50 };

async function lab(extra?: (root: string, summary: GenerateSummary) => void): Promise<{
  server: RunningServer;
  summary: GenerateSummary;
  root: string;
}> {
  const root = path.join(tempDir('cis490-explorer-'), 'data');
  const summary = await generateDataRoot({
    out: root,
    hosts: 3,
    episodes: 9,
    indexLines: 30,
    alerts: 12,
    telemetryKb: 2,
    seed: 7,
  });
  extra?.(root, summary);
  const server = await testServer({ dataRoot: root });
  await waitReady(server);
  return { server, summary, root };
}

/** Waits until the catalog writer has committed `n` index rows. */
async function indexed(server: RunningServer, n: number): Promise<void> {
  await vi.waitFor(async () => {
    const { body } = await getJson<EpisodesPage>(server, '/api/episodes?limit=1');
    expect(body.total).toBe(n);
  }, WAIT);
}

/** Waits until the verifier has hashed every tarball (all on-disk episodes ok). */
async function settled(server: RunningServer, expectOk: number): Promise<void> {
  await vi.waitFor(async () => {
    const { body } = await getJson<EpisodeFacets>(server, '/api/episodes/facets');
    expect(body.status.ok ?? 0).toBe(expectOk);
    expect(body.status.unverified ?? 0).toBe(0);
  }, WAIT);
}

async function allPages(server: RunningServer, query: string, limit: number): Promise<EpisodesPage['items']> {
  const items: EpisodesPage['items'] = [];
  let cursor: string | null = null;
  do {
    const sep = query ? '&' : '';
    const url: string = `/api/episodes?${query}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
    const { status, body } = await getJson<EpisodesPage>(server, url);
    expect(status, `${url} ${JSON.stringify(body)}`).toBe(200);
    items.push(...body.items);
    cursor = body.next_cursor;
  } while (cursor !== null);
  return items;
}

describe('GET /api/episodes against a generated lab', () => {
  it('lists every indexed episode newest first with integrity statuses, filters and facets', async () => {
    const { server, summary } = await lab();
    await settled(server, summary.episodesWritten);

    const all = await allPages(server, '', 7);
    expect(all).toHaveLength(summary.indexLines);
    expect(new Set(all.map((e) => e.episode_id)).size).toBe(summary.indexLines);
    const times = all.map((e) => Date.parse(e.received_at ?? ''));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    const onDisk = new Set(summary.episodes.map((e) => e.episode_id));
    for (const e of all) expect(e.status).toBe(onDisk.has(e.episode_id) ? 'ok' : 'missing');

    const host = summary.episodes[0]?.host_id as string;
    const hostItems = await allPages(server, `host=${host}`, 4);
    expect(hostItems.length).toBe(summary.expected.hosts_indexed[host]?.episodes);
    expect(hostItems.every((e) => e.host_id === host)).toBe(true);

    const { body: missing } = await getJson<EpisodesPage>(server, '/api/episodes?status=missing&limit=500');
    expect(missing.total).toBe(summary.indexOnlyEpisodes);
    expect(missing.items.every((e) => e.status === 'missing')).toBe(true);

    const target = summary.episodes[3] as GenerateSummary['episodes'][number];
    const { body: bySha } = await getJson<EpisodesPage>(
      server,
      `/api/episodes?q=${target.sha256.slice(0, 10)}`,
    );
    expect(bySha.items.map((e) => e.episode_id)).toEqual([target.episode_id]);
    const { body: byId } = await getJson<EpisodesPage>(server, `/api/episodes?q=${target.episode_id}`);
    expect(byId.items.map((e) => e.episode_id)).toEqual([target.episode_id]);

    const sizes = summary.episodes.map((e) => e.size_bytes).sort((a, b) => a - b);
    const mid = sizes[4] as number;
    const bySize = await allPages(server, `min_size=${mid}&status=ok`, 100);
    expect(bySize.length).toBe(sizes.filter((s) => s >= mid).length);

    const newest = Date.parse(all[0]?.received_at ?? '');
    const { body: recent } = await getJson<EpisodesPage>(
      server,
      `/api/episodes?from=${(newest - 1000) / 1000}&to=${new Date(newest).toISOString()}`,
    );
    expect(recent.items[0]?.episode_id).toBe(all[0]?.episode_id);
    expect(recent.total).toBe(all.filter((e) => Date.parse(e.received_at ?? '') >= newest - 1000).length);

    const { body: facets } = await getJson<EpisodeFacets>(server, '/api/episodes/facets');
    expect(facets.status).toEqual({ ok: summary.episodesWritten, missing: summary.indexOnlyEpisodes });
    expect(facets.host[host]).toBe(hostItems.length);
    const { body: hostFacets } = await getJson<EpisodeFacets>(server, `/api/episodes/facets?host=${host}&q=`);
    expect(Object.keys(hostFacets.host)).toEqual([host]);
  });

  it('finds corrupt tarballs (same size, other bytes; truncated) and unindexed files', async () => {
    let flipped = '';
    let truncated = '';
    let stray = '';
    const { server, summary } = await lab((root, s) => {
      const [a, b] = s.episodes as [GenerateSummary['episodes'][number], GenerateSummary['episodes'][number]];
      const bytes = fs.readFileSync(path.join(root, a.path));
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff;
      fs.writeFileSync(path.join(root, a.path), bytes);
      fs.truncateSync(path.join(root, b.path), 10);
      fs.copyFileSync(path.join(root, a.path), path.join(root, path.dirname(a.path), 'stray-upload.tar.zst'));
      flipped = a.episode_id;
      truncated = b.episode_id;
      stray = 'stray-upload';
    });
    await settled(server, summary.episodesWritten - 2);
    const { body: facets } = await getJson<EpisodeFacets>(server, '/api/episodes/facets');
    expect(facets.status).toMatchObject({ corrupt: 2, unindexed: 1 });
    const corrupt = await allPages(server, 'status=corrupt', 10);
    expect(corrupt.map((e) => e.episode_id).sort()).toEqual([flipped, truncated].sort());
    const unindexed = await allPages(server, 'status=unindexed', 10);
    expect(unindexed).toMatchObject([{ episode_id: stray, status: 'unindexed', sha256: null }]);
    const all = await allPages(server, '', 50);
    expect(all).toHaveLength(summary.indexLines + 1);
    const { body: detail } = await getJson<EpisodeDetail>(server, `/api/episodes/${stray}`);
    expect(detail.episode.status).toBe('unindexed');
    expect(detail.download_url).not.toBeNull();
  });

  it('sorts by received time, size, host and status either way, keyset pages without gaps or repeats', async () => {
    const { server, summary } = await lab((root, s) => {
      const a = s.episodes[0] as GenerateSummary['episodes'][number];
      fs.copyFileSync(path.join(root, a.path), path.join(root, path.dirname(a.path), 'stray-upload.tar.zst'));
      fs.truncateSync(path.join(root, (s.episodes[1] as GenerateSummary['episodes'][number]).path), 10);
    });
    await settled(server, summary.episodesWritten - 1);
    const all = await allPages(server, '', 100);
    expect(all).toHaveLength(summary.indexLines + 1);
    const rank: Record<string, number> = { corrupt: 0, missing: 1, unindexed: 2, unverified: 3, ok: 4 };
    const keys: Record<string, (e: EpisodesPage['items'][number]) => number | string | null> = {
      received: (e) => (e.received_at === null ? null : Date.parse(e.received_at)),
      size: (e) => e.size_bytes,
      host: (e) => e.host_id,
      status: (e) => rank[e.status] ?? null,
    };
    for (const [sort, key] of Object.entries(keys)) {
      for (const order of ['asc', 'desc']) {
        const what = `sort=${sort}&order=${order}`;
        const items = await allPages(server, what, 4);
        expect(items.map((e) => e.episode_id).sort(), what).toEqual(all.map((e) => e.episode_id).sort());
        // An unindexed file sorts by its modification time, which the list item does not carry.
        const values = items.filter((e) => sort !== 'received' || e.status !== 'unindexed').map(key);
        const present = values.filter((v) => v !== null);
        // Missing values last, the rest monotone in the asked direction.
        expect(values.slice(0, present.length), what).toEqual(present);
        for (let i = 1; i < present.length; i++) {
          const [a, b] = [present[i - 1] as number | string, present[i] as number | string];
          expect(order === 'asc' ? a <= b : a >= b, `${what} at ${i}: ${a} then ${b}`).toBe(true);
        }
      }
    }
    // Filters apply under a sort; the first column click's order is the default for `order`.
    const { body: worst } = await getJson<EpisodesPage>(server, '/api/episodes?sort=status&limit=2');
    expect(worst.items.map((e) => e.status)).toEqual(['corrupt', 'missing']);
    const host = summary.episodes[0]?.host_id as string;
    const big = await allPages(server, `sort=size&host=${host}`, 3);
    expect(big.every((e) => e.host_id === host)).toBe(true);
    expect(big.length).toBe(all.filter((e) => e.host_id === host).length);
    // A cursor of one order is refused under another.
    const { body: first } = await getJson<EpisodesPage>(server, '/api/episodes?sort=size&limit=2');
    const { status } = await getJson(server, `/api/episodes?sort=host&cursor=${first.next_cursor}`);
    expect(status).toBe(400);
    const { status: defaultStatus } = await getJson(server, `/api/episodes?cursor=${first.next_cursor}`);
    expect(defaultStatus).toBe(400);
  });

  it('pages without gaps or repeats while new index lines arrive', async () => {
    const { server, summary, root } = await lab();
    await indexed(server, summary.indexLines);
    const seen: string[] = [];
    let cursor: string | null = null;
    let appended = 0;
    do {
      const url: string = `/api/episodes?limit=4${cursor ? `&cursor=${cursor}` : ''}`;
      const { body } = await getJson<EpisodesPage>(server, url);
      seen.push(...body.items.map((e) => e.episode_id));
      cursor = body.next_cursor;
      // Newer episodes arrive between pages; they belong before the first page, not in the rest.
      const at = new Date(Date.now() + appended * 1000).toISOString();
      const line = {
        episode_id: `late-${appended}`,
        host_id: 'host-01',
        sha256: null,
        size_bytes: 1,
        received_at_wall: at,
      };
      fs.appendFileSync(path.join(root, 'index.jsonl'), `${JSON.stringify(line)}\n`);
      appended++;
    } while (cursor !== null);
    expect(seen).toHaveLength(summary.indexLines);
    expect(new Set(seen).size).toBe(summary.indexLines);
    expect(seen.some((id) => id.startsWith('late-'))).toBe(false);
    await vi.waitFor(async () => {
      const { body } = await getJson<EpisodesPage>(server, '/api/episodes?limit=1');
      expect(body.total).toBe(summary.indexLines + appended);
    }, WAIT);
  });

  it('rejects bad parameters with 400 naming the parameter', async () => {
    const { server } = await lab();
    const cases: Array<[string, string]> = [
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['limit=abc', 'limit'],
      ['status=fine', 'status'],
      ['from=yesterday', 'from'],
      ['to=2026-13-45T99:00:00Z', 'to'],
      ['min_size=-1', 'min_size'],
      ['max_size=1.5', 'max_size'],
      ['cursor=not-a-cursor', 'cursor'],
      [`cursor=${Buffer.from('["x",1,2]').toString('base64url')}`, 'cursor'],
      ['hots=host-01', 'hots'],
      ['q=a&q=b', 'q'],
      ['from=2026-01-02&to=2026-01-01', 'from'],
      ['sort=name', 'sort'],
      ['sort=size&order=up', 'order'],
      ['sort=size&sort=host', 'sort'],
    ];
    for (const [query, name] of cases) {
      const { status, body } = await getJson<{ error: { code: string; message: string } }>(
        server,
        `/api/episodes?${query}`,
      );
      expect(status, query).toBe(400);
      expect(body.error.message, query).toContain(`'${name}'`);
    }
    const { status } = await getJson(server, '/api/episodes/facets?limit=5');
    expect(status).toBe(400);
  });
});

describe('GET /api/episodes/:id and /download', () => {
  it('returns the record, meta, labels with durations and members; streams the tarball', async () => {
    const { server, summary, root } = await lab();
    await settled(server, summary.episodesWritten);
    const target = summary.episodes[0] as GenerateSummary['episodes'][number];
    const { status, body } = await getJson<EpisodeDetail>(server, `/api/episodes/${target.episode_id}`);
    expect(status).toBe(200);
    expect(body.episode).toMatchObject({
      episode_id: target.episode_id,
      sha256: target.sha256,
      status: 'ok',
    });
    expect(body.read_error).toBeNull();
    expect(body.meta).not.toBeNull();
    expect(body.labels.length).toBeGreaterThan(0);
    expect(body.labels.some((l) => l.duration_s !== null && l.duration_s > 0)).toBe(true);
    expect(body.members.map((m) => path.posix.basename(m.name))).toContain('labels.jsonl');

    const res = await fetch(`${server.url}${body.download_url}`);
    expect(res.status).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(res.headers.get('content-length')).toBe(String(target.size_bytes));
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="${target.episode_id}.tar.zst"`,
    );
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(target.sha256);
    expect(bytes.equals(fs.readFileSync(path.join(root, target.path)))).toBe(true);

    const missing = summary.indexLines > summary.episodesWritten;
    expect(missing).toBe(true);
    const { body: page } = await getJson<EpisodesPage>(server, '/api/episodes?status=missing&limit=1');
    const gone = page.items[0]?.episode_id as string;
    const { body: goneDetail } = await getJson<EpisodeDetail>(server, `/api/episodes/${gone}`);
    expect(goneDetail.download_url).toBeNull();
    expect(goneDetail.read_error).not.toBeNull();
    expect((await fetch(`${server.url}/api/episodes/${gone}/download`)).status).toBe(404);

    expect((await getJson(server, '/api/episodes/no-such-episode')).status).toBe(404);
    expect((await fetch(`${server.url}/api/episodes/no-such-episode/download`)).status).toBe(404);

    // A FIFO in place of the tarball answers 404 (the path check refuses it; open() is also
    // non-blocking for one swapped in between the check and the open).
    const fifoTarget = path.join(root, target.path);
    fs.rmSync(fifoTarget);
    execFileSync('mkfifo', [fifoTarget]);
    expect((await fetch(`${server.url}${body.download_url}`)).status).toBe(404);
  });

  it('serves one byte range (206), 416 past the end, and the whole file for what it ignores', async () => {
    const { server, summary, root } = await lab();
    await settled(server, summary.episodesWritten);
    const target = summary.episodes[0] as GenerateSummary['episodes'][number];
    const file = fs.readFileSync(path.join(root, target.path));
    const size = file.length;
    expect(size).toBeGreaterThan(100);
    const url = `${server.url}/api/episodes/${encodeURIComponent(target.episode_id)}/download`;
    const get = async (headers: Record<string, string>) => {
      const res = await fetch(url, { headers });
      return { res, bytes: Buffer.from(await res.arrayBuffer()) };
    };

    const parts: Array<[string, number, number]> = [
      ['bytes=10-49', 10, 49],
      ['bytes=10-', 10, size - 1],
      ['bytes=-30', size - 30, size - 1],
      [`bytes=5-${size + 1000}`, 5, size - 1], // an end past the file is cut to its last byte
      [`bytes=-${size + 1000}`, 0, size - 1], // a suffix longer than the file is all of it
      [`bytes=${size - 1}-${size - 1}`, size - 1, size - 1],
    ];
    for (const [range, start, end] of parts) {
      const { res, bytes } = await get({ range });
      expect(res.status, range).toBe(206);
      expect(res.headers.get('content-range'), range).toBe(`bytes ${start}-${end}/${size}`);
      expect(res.headers.get('content-length'), range).toBe(String(end - start + 1));
      expect(res.headers.get('accept-ranges'), range).toBe('bytes');
      expect(res.headers.get('content-type'), range).toBe('application/zstd');
      expect(res.headers.get('content-disposition'), range).toBe(
        `attachment; filename="${target.episode_id}.tar.zst"`,
      );
      expect(bytes.equals(file.subarray(start, end + 1)), range).toBe(true);
    }

    for (const range of [`bytes=${size}-`, `bytes=${size + 5}-${size + 9}`, 'bytes=-0']) {
      const res = await fetch(url, { headers: { range } });
      expect(res.status, range).toBe(416);
      expect(res.headers.get('content-range'), range).toBe(`bytes */${size}`);
      expect(res.headers.get('accept-ranges'), range).toBe('bytes');
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code, range).toBe('range_not_satisfiable');
    }

    // Malformed, several ranges, another unit, b < a, or an If-Range (no validator is issued to
    // compare): 200 with the whole file.
    const ignored: Array<Record<string, string>> = [
      { range: 'bytes=abc' },
      { range: 'bytes=0-1,5-9' },
      { range: 'items=0-1' },
      { range: 'bytes=50-10' },
      { range: 'bytes=-' },
      { range: 'bytes=0-9', 'if-range': 'Wed, 21 Oct 2015 07:28:00 GMT' },
    ];
    for (const headers of [{}, ...ignored]) {
      const { res, bytes } = await get(headers);
      const what = JSON.stringify(headers);
      expect(res.status, what).toBe(200);
      expect(res.headers.get('accept-ranges'), what).toBe('bytes');
      expect(res.headers.get('content-range'), what).toBeNull();
      expect(res.headers.get('content-length'), what).toBe(String(size));
      expect(bytes.equals(file), what).toBe(true);
    }
  });

  it('serves nothing outside episodes/: .., %2e%2e, absolute, symlink out, a directory', async () => {
    const outside = tempDir('cis490-outside-');
    fs.writeFileSync(path.join(outside, 'secret.tar.zst'), 'TOP-SECRET-CONTENT');
    const { server } = await lab((root, summary) => {
      fs.writeFileSync(path.join(root, 'outside.tar.zst'), 'not under episodes/');
      const h = summary.episodes[0]?.host_id as string;
      const hostDir = path.join(root, 'episodes', h);
      fs.symlinkSync(path.join(outside, 'secret.tar.zst'), path.join(hostDir, 'linked-out.tar.zst'));
      fs.mkdirSync(path.join(hostDir, 'a-dir.tar.zst'));
      fs.symlinkSync(outside, path.join(root, 'episodes', 'host-evil'));
      const hostile = [
        { episode_id: 'dotdot', host_id: h, path: 'episodes/../outside.tar.zst' },
        { episode_id: 'dotdot2', host_id: h, path: '../../../etc/passwd' },
        { episode_id: 'absolute', host_id: h, path: path.join(outside, 'secret.tar.zst') },
        { episode_id: 'abs-etc', host_id: h, path: '/etc/passwd' },
        { episode_id: '../../outside', host_id: h },
        { episode_id: 'x', host_id: '..' },
        { episode_id: 'linked-out', host_id: h },
        { episode_id: 'a-dir', host_id: h },
        { episode_id: 'secret', host_id: 'host-evil' },
        { episode_id: 'root-dir', host_id: h, path: `episodes/${h}` },
      ];
      const lines = hostile.map((h) =>
        JSON.stringify({ sha256: null, size_bytes: 6, received_at_wall: 1, ...h }),
      );
      fs.appendFileSync(path.join(root, 'index.jsonl'), `${lines.join('\n')}\n`);
    });
    await vi.waitFor(async () => {
      const { body } = await getJson<EpisodesPage>(server, '/api/episodes?q=dotdot');
      expect(body.total).toBe(2);
      const { body: facets } = await getJson<EpisodeFacets>(server, '/api/episodes/facets');
      expect(facets.status.unverified ?? 0).toBe(0);
    }, WAIT);
    const ids = [
      'dotdot',
      'dotdot2',
      'absolute',
      'abs-etc',
      'x',
      'linked-out',
      'a-dir',
      'secret',
      'root-dir',
    ];
    const urls = [
      ...ids.map((id) => `/api/episodes/${encodeURIComponent(id)}/download`),
      `/api/episodes/${encodeURIComponent('../../outside')}/download`,
      '/api/episodes/%2e%2e%2f%2e%2e%2foutside/download',
      '/api/episodes/%2e%2e/download',
      '/api/episodes/..%2F..%2Foutside/download',
      '/api/episodes/../../outside.tar.zst',
    ];
    for (const url of urls) {
      const res = await fetch(`${server.url}${url}`);
      const text = await res.text();
      expect(res.status, url).toBe(404);
      expect(text, url).not.toContain('TOP-SECRET');
      expect(text, url).not.toContain('not under episodes');
    }
    for (const id of ids) {
      const { status, body } = await getJson<EpisodeDetail>(
        server,
        `/api/episodes/${encodeURIComponent(id)}`,
      );
      expect(status, id).toBe(200);
      expect(body.download_url, id).toBeNull();
      expect(body.members, id).toEqual([]);
    }
  });
});
