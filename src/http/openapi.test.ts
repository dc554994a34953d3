import fs from 'node:fs';
import path from 'node:path';
import { compileErrors, validate } from '@readme/openapi-parser';
import type { Static, TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { describe, expect, expectTypeOf, it, vi } from 'vitest';
import { testServer } from '../../test/support/server.js';
import { tempDir } from '../../test/support/tmp.js';
import { generateDataRoot } from '../generate/generate.js';
import type {
  AlertsPage,
  EpisodeDetail,
  EpisodeFacets,
  EpisodesPage,
  HostsResponse,
} from '../protocol/api.js';
import type { DashboardState, PhaseMix } from '../protocol/index.js';
import {
  AlertsPageSchema,
  ApiErrorSchema,
  DashboardStateSchema,
  EpisodeDetailSchema,
  EpisodeFacetsSchema,
  EpisodesPageSchema,
  HostsResponseSchema,
  PhaseMixSchema,
} from './schemas.js';

async function server() {
  const base = tempDir('cis490-openapi-');
  const dataRoot = path.join(base, 'root');
  await generateDataRoot({ out: dataRoot, hosts: 2, episodes: 4, alerts: 4, telemetryKb: 2, seed: 9 });
  const phaseTokenFile = path.join(base, 'phase-token');
  fs.writeFileSync(phaseTokenFile, 'phase-token-0123456789\n');
  const s = await testServer({ dataRoot, phaseTokenFile });
  await s.pipeline.whenReady();
  await s.pipeline.whenCatalogCaughtUp();
  return s;
}

/** Asserts a real answer fits its route's reply schema, naming the first mismatch. */
function fits(schema: TSchema, value: unknown, what: string): void {
  const first = Value.Errors(schema, value)[0];
  expect(first === undefined ? null : `${first.instancePath} ${first.message}`, what).toBeNull();
}

describe('GET /api/openapi.json', () => {
  it('is a valid OpenAPI document (@readme/openapi-parser) with every route', async () => {
    const s = await server();
    const res = await fetch(`${s.url}/api/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid ? '' : compileErrors(result)).toBe('');
    expect(doc.openapi).toMatch(/^3\./);
    const routes = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
    for (const r of [
      'get /api/state',
      'get /api/hosts',
      'get /api/episodes',
      'get /api/episodes/facets',
      'get /api/episodes/{id}',
      'get /api/episodes/{id}/download',
      'get /api/alerts',
      'get /api/phase-mix',
      'post /api/phase',
      'get /livez',
      'get /readyz',
      'get /metrics',
      'get /api/openapi.json',
      'get /api/alerts/lifecycle',
      'post /api/alerts/actions',
      'delete /api/alerts/actions',
    ]) {
      expect(routes, r).toContain(r);
    }
    const episodes = doc.paths['/api/episodes']?.get as { parameters: Array<{ name: string; in: string }> };
    expect(episodes.parameters.map((p) => p.name).sort()).toEqual(
      [
        'cursor',
        'from',
        'host',
        'limit',
        'max_size',
        'min_size',
        'order',
        'phase',
        'q',
        'sort',
        'status',
        'to',
      ].sort(),
    );
    // The /api/hosts reply schema documents the host status too.
    type Obj = { [k: string]: Obj | undefined };
    const hostItem = (doc.paths['/api/hosts']?.get as Obj | undefined)?.responses?.['200']?.content?.[
      'application/json'
    ]?.schema?.properties?.hosts?.items?.properties;
    expect(Object.keys(hostItem ?? {})).toEqual(
      expect.arrayContaining(['host_id', 'status', 'status_reasons']),
    );
  });

  it('describes what the routes really answer (each reply checked against its schema)', async () => {
    const s = await server();
    const get = async (p: string) => {
      const res = await fetch(`${s.url}${p}`);
      expect(res.status, p).toBe(200);
      return res.json() as Promise<unknown>;
    };
    await fetch(`${s.url}/api/phase`, {
      method: 'POST',
      headers: { authorization: 'Bearer phase-token-0123456789', 'content-type': 'application/json' },
      body: JSON.stringify({ host_id: 'host-01', phase: 'boot' }),
    });
    fits(DashboardStateSchema, await get('/api/state'), '/api/state');
    const hosts = (await get('/api/hosts')) as HostsResponse;
    fits(HostsResponseSchema, hosts, '/api/hosts');
    // The reply schema serializes the host status too (a field it leaves out is dropped).
    expect(hosts.hosts.length).toBeGreaterThan(0);
    for (const h of hosts.hosts) {
      expect(['ok', 'warning', 'critical'], h.host_id).toContain(h.status);
      expect(Array.isArray(h.status_reasons), h.host_id).toBe(true);
    }
    const page = (await get('/api/episodes?limit=2')) as EpisodesPage;
    fits(EpisodesPageSchema, page, '/api/episodes');
    fits(EpisodeFacetsSchema, await get('/api/episodes/facets'), '/api/episodes/facets');
    const id = page.items[0]?.episode_id ?? '';
    fits(EpisodeDetailSchema, await get(`/api/episodes/${encodeURIComponent(id)}`), '/api/episodes/:id');
    fits(AlertsPageSchema, await get('/api/alerts'), '/api/alerts');
    fits(AlertsPageSchema, await get('/api/alerts?dedup=1'), '/api/alerts?dedup=1');
    await vi.waitFor(async () => expect((await fetch(`${s.url}/api/phase-mix`)).status).toBe(200), {
      timeout: 20_000,
    });
    fits(PhaseMixSchema, await get('/api/phase-mix'), '/api/phase-mix');
    const bad = await fetch(`${s.url}/api/episodes?bogus=1&limit=2`);
    expect(bad.status).toBe(400);
    const body = await bad.json();
    fits(ApiErrorSchema, body, 'a 400');
    expect(body).toEqual({ error: { code: 'bad_query', message: "unknown query parameter 'bogus'" } });
    // receiver= is a replica's (serve --redis): a single box has one receiver and says so.
    const byReceiver = await fetch(`${s.url}/api/alerts/lifecycle?receiver=rack-a`);
    expect(byReceiver.status).toBe(400);
    expect(((await byReceiver.json()) as { error: { code: string } }).error.code).toBe('bad_query');
  });

  it('keeps the reply schemas and the protocol types the web app uses in step (type-checked)', () => {
    // tsc (npm run lint) fails here when a schema and its protocol type drift apart.
    expectTypeOf<Static<typeof EpisodesPageSchema>>().toExtend<EpisodesPage>();
    expectTypeOf<EpisodesPage>().toExtend<Static<typeof EpisodesPageSchema>>();
    expectTypeOf<Static<typeof EpisodeFacetsSchema>>().toExtend<EpisodeFacets>();
    expectTypeOf<Static<typeof EpisodeDetailSchema>>().toExtend<EpisodeDetail>();
    expectTypeOf<EpisodeDetail>().toExtend<Static<typeof EpisodeDetailSchema>>();
    expectTypeOf<Static<typeof HostsResponseSchema>>().toExtend<HostsResponse>();
    expectTypeOf<HostsResponse>().toExtend<Static<typeof HostsResponseSchema>>();
    expectTypeOf<Static<typeof AlertsPageSchema>>().toExtend<AlertsPage>();
    expectTypeOf<AlertsPage>().toExtend<Static<typeof AlertsPageSchema>>();
    expectTypeOf<Static<typeof PhaseMixSchema>>().toExtend<PhaseMix>();
    expectTypeOf<PhaseMix>().toExtend<Static<typeof PhaseMixSchema>>();
    expectTypeOf<Static<typeof DashboardStateSchema>>().toExtend<DashboardState>();
    expectTypeOf<DashboardState>().toExtend<Static<typeof DashboardStateSchema>>();
  });
});
