import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { testServer } from '../../test/support/server.js';
import { tempDir } from '../../test/support/tmp.js';
import { generateDataRoot } from '../generate/generate.js';

/** Issue 14 item 9: the HTTP edges, each of which failed on the code before this test. */

async function server(extra: { readToken?: boolean; phaseToken?: boolean } = {}) {
  const base = tempDir('cis490-harden-');
  const dataRoot = path.join(base, 'root');
  await generateDataRoot({ out: dataRoot, hosts: 2, episodes: 3, alerts: 1, telemetryKb: 2, seed: 5 });
  const readTokenFile = path.join(base, 'read-token');
  fs.writeFileSync(readTokenFile, 'read-token-0123456789\n');
  const phaseTokenFile = path.join(base, 'phase-token');
  fs.writeFileSync(phaseTokenFile, 'phase-token-0123456789\n');
  const s = await testServer({
    dataRoot,
    ...(extra.readToken ? { readTokenFile } : {}),
    ...(extra.phaseToken ? { phaseTokenFile } : {}),
  });
  await s.pipeline.whenReady();
  await s.pipeline.whenCatalogCaughtUp();
  return s;
}

function rawGet(
  url: string,
  pathname: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: pathname }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTP edges (issue 14 item 9)', () => {
  it('answers a query string over 16 KiB with 431 in the app error shape and headers', async () => {
    const s = await server();
    const res = await rawGet(s.url, `/api/episodes?q=${'a'.repeat(17 * 1024)}`);
    expect(res.status).toBe(431);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    const body = JSON.parse(res.body) as { error: { code: string; message: string } };
    expect(body).toEqual({ error: { code: 'headers_too_large', message: expect.stringMatching(/16 KiB/) } });
  });

  it('answers a query escape that does not decode with 400 bad_url, as in the path', async () => {
    const s = await server();
    for (const query of ['q=%ff', 'q=%zz', 'host=%C3', 'x%ff=1']) {
      const res = await rawGet(s.url, `/api/episodes?${query}`);
      expect(res.status, query).toBe(400);
      expect(JSON.parse(res.body), query).toEqual({
        error: { code: 'bad_url', message: expect.any(String) },
      });
    }
    // Good escapes and repeats read as before.
    expect((await rawGet(s.url, '/api/episodes?q=%E2%82%AC')).status).toBe(200);
    const both = await rawGet(s.url, '/api/episodes?host=host-01&host=host%2D02&limit=1');
    expect(both.status).toBe(200);
  });

  it('says a bad value in words, not as the regular expression or constant it failed', async () => {
    const s = await server({ phaseToken: true });
    const said = async (pathname: string) =>
      (JSON.parse((await rawGet(s.url, pathname)).body) as { error: { message: string } }).error.message;
    expect(await said('/api/episodes?limit=-1')).toBe(
      "query parameter 'limit' must be a whole number (digits only)",
    );
    expect(await said('/api/episodes/facets?with_phases=2')).toBe(
      "query parameter 'with_phases' must be 0 or 1",
    );
    expect(await said('/api/alerts?dedup=2')).toBe(
      "query parameter 'dedup' must be 1, 0, true, false, yes or no",
    );
    const res = await fetch(`${s.url}/api/alerts/actions`, {
      method: 'POST',
      headers: { authorization: 'Bearer phase-token-0123456789', 'content-type': 'application/json' },
      body: JSON.stringify({ dedup_key: 'x', kind: 'nuke', by: 'me' }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(
      `field 'kind' must be one of "acknowledge", "silence"`,
    );
  });

  it('answers a plain GET of /ws with 426 JSON saying it is the WebSocket endpoint', async () => {
    const s = await server();
    const res = await rawGet(s.url, '/ws');
    expect(res.status).toBe(426);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(res.body)).toEqual({
      error: { code: 'upgrade_required', message: expect.stringMatching(/WebSocket/) },
    });
  });

  it('accepts a phase post whose valid JSON has a __proto__ key (the key is dropped)', async () => {
    const s = await server({ phaseToken: true });
    const res = await fetch(`${s.url}/api/phase`, {
      method: 'POST',
      headers: { authorization: 'Bearer phase-token-0123456789', 'content-type': 'application/json' },
      body: '{"host_id":"host-01","phase":"boot","__proto__":{"polluted":true}}',
    });
    expect(res.status).toBe(202);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const state = (await (await fetch(`${s.url}/api/state`)).json()) as {
      live_phases: Record<string, { phase: string }>;
    };
    expect(state.live_phases['host-01']?.phase).toBe('boot');
  });

  it('treats a q of U+2028 (or other non-ASCII space) as a prefix that matches nothing', async () => {
    const s = await server();
    const all = (await (await fetch(`${s.url}/api/episodes`)).json()) as { total: number };
    expect(all.total).toBe(3);
    for (const q of ['\u2028', '\u00a0', '\ufeff']) {
      const res = await fetch(`${s.url}/api/episodes?q=${encodeURIComponent(q)}`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { total: number }).total, JSON.stringify(q)).toBe(0);
    }
    const spaced = await fetch(`${s.url}/api/episodes?q=${encodeURIComponent(' ')}`);
    expect(((await spaced.json()) as { total: number }).total).toBe(3);
  });

  it('answers 429 past 5 wrong read tokens a second, as the README says', async () => {
    const s = await server({ readToken: true });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${s.url}/api/state`, { headers: { authorization: `Bearer guess-${i}` } });
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses[5]).toBe(429);
    // The right token is never limited.
    const ok = await fetch(`${s.url}/api/state`, {
      headers: { authorization: 'Bearer read-token-0123456789' },
    });
    expect(ok.status).toBe(200);
  });
});
