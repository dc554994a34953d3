import { describe, expect, it } from 'vitest';
import { FilterError, matchesEpisodeFilter, parseEpisodeFilter } from './episode-filter.js';

const params = (q: Record<string, string | string[]>) => ({
  all: (k: string) =>
    [q[k] ?? []]
      .flat()
      .flatMap((v) => v.split(','))
      .filter(Boolean),
  one: (k: string) => {
    const v = q[k];
    return typeof v === 'string' && v !== '' ? v : undefined;
  },
});
const ep = {
  episode_id: 'Ep-ABC',
  host_id: 'h1',
  sha256: 'ABCDEF0123',
  size_bytes: 100,
  received_at: '2026-05-08T13:00:00.000Z',
};

describe('the explorer filter shared by server and web app', () => {
  it('to is inclusive, like from', () => {
    expect(matchesEpisodeFilter(ep, parseEpisodeFilter(params({ to: '2026-05-08T13:00:00Z' })))).toBe(true);
    expect(matchesEpisodeFilter(ep, parseEpisodeFilter(params({ from: '2026-05-08T13:00:00Z' })))).toBe(true);
    expect(matchesEpisodeFilter(ep, parseEpisodeFilter(params({ to: '2026-05-08T12:59:59Z' })))).toBe(false);
  });

  it("a replica's live row matches host=<receiver>/<host> and a bare host, as its catalog does", () => {
    const live = { ...ep, receiver: 'rack-1' };
    const hosts = (h: string[]) => matchesEpisodeFilter(live, parseEpisodeFilter(params({ host: h })));
    expect(hosts(['rack-1/h1'])).toBe(true);
    expect(hosts(['h1'])).toBe(true);
    expect(hosts(['rack-2/h1'])).toBe(false);
    expect(hosts(['rack-1/h2', 'rack-2/h1'])).toBe(false);
    expect(hosts(['rack-2/h1', 'rack-1/h1'])).toBe(true);
    // A single box's record (no receiver) matches its host id only.
    expect(matchesEpisodeFilter(ep, parseEpisodeFilter(params({ host: 'rack-1/h1' })))).toBe(false);
  });

  it('an id prefix is case-sensitive, a sha256 prefix is not (lowercased, against the sha256 lowercased)', () => {
    expect(matchesEpisodeFilter(ep, parseEpisodeFilter(params({ q: 'Ep-A' })))).toBe(true);
    expect(matchesEpisodeFilter(ep, parseEpisodeFilter(params({ q: 'ep-a' })))).toBe(false);
    const hex = { ...ep, sha256: 'abcdef0123' };
    expect(matchesEpisodeFilter(hex, parseEpisodeFilter(params({ q: 'abcdef' })))).toBe(true);
    expect(matchesEpisodeFilter(hex, parseEpisodeFilter(params({ q: 'ABCDEF' })))).toBe(true);
    // As the catalog stores it (lowercased: `catalogSha256`), a sha256 the index wrote in capitals
    // is found by a sha prefix in either case; a value that is not hex is matched as written.
    expect(matchesEpisodeFilter(ep, parseEpisodeFilter(params({ q: 'abcdef' })))).toBe(true);
    expect(matchesEpisodeFilter(ep, parseEpisodeFilter(params({ q: 'ABCDEF' })))).toBe(true);
    const notHex = { ...ep, sha256: 'ABCDEFG' };
    expect(matchesEpisodeFilter(notHex, parseEpisodeFilter(params({ q: 'abcdef' })))).toBe(false);
  });

  it('several hosts and statuses; a live row without a status matches no status filter', () => {
    expect(matchesEpisodeFilter(ep, parseEpisodeFilter(params({ host: ['h2', 'h1'] })))).toBe(true);
    expect(matchesEpisodeFilter(ep, parseEpisodeFilter(params({ status: 'ok' })))).toBe(false);
    expect(
      matchesEpisodeFilter(
        { ...ep, status: 'corrupt' },
        parseEpisodeFilter(params({ status: 'ok,corrupt' })),
      ),
    ).toBe(true);
  });

  it('hosts and statuses each once: a repeat would list and count its rows twice', () => {
    const f = parseEpisodeFilter(params({ host: ['h2', 'h1,h2'], status: ['missing', 'ok,missing'] }));
    expect(f.hosts).toEqual(['h2', 'h1']);
    expect(f.statuses).toEqual(['missing', 'ok']);
  });

  it('phases: several, deduplicated; a live record (phases unknown) matches no phase filter', () => {
    const f = parseEpisodeFilter(params({ phase: ['baseline', 'failed,baseline'] }));
    expect(f.phases).toEqual(['baseline', 'failed']);
    expect(matchesEpisodeFilter({ ...ep, status: 'ok' }, f)).toBe(false);
    expect(matchesEpisodeFilter(ep, parseEpisodeFilter(params({})))).toBe(true);
    expect(() => parseEpisodeFilter(params({ phase: 'x'.repeat(129) }))).toThrow(FilterError);
  });

  it('says what is wrong with a bad filter', () => {
    expect(() => parseEpisodeFilter(params({ min_size: '5', max_size: '1' }))).toThrow(FilterError);
    expect(() => parseEpisodeFilter(params({ status: 'fine' }))).toThrow(/must be one of/);
    expect(() => parseEpisodeFilter(params({ from: 'yesterday' }))).toThrow(/ISO-8601/);
  });
});
