import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { jsonl, tarZst } from '../../test/support/phasemix.js';
import { getJson, testServer, waitReady } from '../../test/support/server.js';
import { tempDir } from '../../test/support/tmp.js';
import type { EpisodeFacets } from '../protocol/api.js';

describe('the integrity verifier', () => {
  it('lists episodes/ every --rescan-interval: a removed tarball (which announces nothing) turns missing', async () => {
    const root = tempDir('cis490-verifier-rescan-');
    const data = tarZst([{ name: 'ep/labels.jsonl', data: jsonl([{ phase: 'run', t_mono_ns: 0 }]) }]);
    fs.mkdirSync(path.join(root, 'episodes', 'h1'), { recursive: true });
    fs.writeFileSync(path.join(root, 'episodes', 'h1', 'e1.tar.zst'), data);
    const line = {
      episode_id: 'e1',
      host_id: 'h1',
      sha256: createHash('sha256').update(data).digest('hex'),
      size_bytes: data.length,
      received_at_wall: '2026-11-01T12:00:00Z',
    };
    fs.writeFileSync(path.join(root, 'index.jsonl'), `${JSON.stringify(line)}\n`);
    const server = await testServer({ dataRoot: root, rescanInterval: 0.5 });
    await waitReady(server);
    const status = async () => (await getJson<EpisodeFacets>(server, '/api/episodes/facets')).body.status;
    await vi.waitFor(async () => expect(await status()).toEqual({ ok: 1 }), {
      timeout: 20_000,
      interval: 50,
    });
    fs.rmSync(path.join(root, 'episodes', 'h1', 'e1.tar.zst'));
    // The default interval is 60 s: well past this wait, so only a verifier honouring the flag passes.
    await vi.waitFor(async () => expect(await status()).toEqual({ missing: 1 }), {
      timeout: 20_000,
      interval: 50,
    });
  });
  it('follows the host-folder feeder between full listings: new files unindexed, a removed one missing', async () => {
    const root = tempDir('cis490-verifier-fed-');
    const data = tarZst([{ name: 'ep/labels.jsonl', data: jsonl([{ phase: 'run', t_mono_ns: 0 }]) }]);
    const dir = path.join(root, 'episodes', 'h1');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'e1.tar.zst'), data);
    const line = {
      episode_id: 'e1',
      host_id: 'h1',
      sha256: createHash('sha256').update(data).digest('hex'),
      size_bytes: data.length,
      received_at_wall: '2026-11-01T12:00:00Z',
    };
    fs.writeFileSync(path.join(root, 'index.jsonl'), `${JSON.stringify(line)}\n`);
    // No full listing within the test: what the thread learns comes from the feeder's changes.
    const server = await testServer({ dataRoot: root, rescanInterval: 3600 });
    await waitReady(server);
    const status = async () => (await getJson<EpisodeFacets>(server, '/api/episodes/facets')).body.status;
    await vi.waitFor(async () => expect(await status()).toEqual({ ok: 1 }), {
      timeout: 20_000,
      interval: 50,
    });
    for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(dir, `late-${i}.tar.zst`), data);
    await vi.waitFor(async () => expect(await status()).toEqual({ ok: 1, unindexed: 3 }), {
      timeout: 20_000,
      interval: 50,
    });
    fs.rmSync(path.join(dir, 'e1.tar.zst'));
    fs.rmSync(path.join(dir, 'late-0.tar.zst'));
    await vi.waitFor(async () => expect(await status()).toEqual({ missing: 1, unindexed: 2 }), {
      timeout: 20_000,
      interval: 50,
    });
  });
});
