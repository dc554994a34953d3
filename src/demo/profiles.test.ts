import { describe, expect, it } from 'vitest';
import { Rng } from '../generate/rng.js';
import { demoTiming, hostProfiles, livePhaseOffsets, MIN_ROTATION_GAP_MS } from './profiles.js';

describe('hostProfiles', () => {
  it('splits the overall rate unevenly over the hosts, with one stale and one corrupt host', () => {
    const hosts = ['host-01', 'host-02', 'host-03', 'host-04'];
    const profiles = hostProfiles(hosts, 30, new Rng(3));
    const perMinute = profiles.map((p) => 60_000 / p.meanEpisodeMs);
    expect(perMinute.reduce((a, b) => a + b, 0)).toBeCloseTo(30, 6);
    expect(new Set(perMinute.map((r) => r.toFixed(3))).size).toBe(4);
    expect(profiles.map((p) => p.role)).toEqual(['corrupt', 'steady', 'steady', 'stale']);
  });

  it('gives a lone host no stale role (the demo would show nothing)', () => {
    expect(hostProfiles(['host-01'], 30, new Rng(1)).map((p) => p.role)).toEqual(['corrupt']);
  });
});

describe('demoTiming', () => {
  it('scales with the rate but never rotates faster than a tailer can follow', () => {
    expect(demoTiming(60).heartbeatMs).toBe(demoTiming(30).heartbeatMs / 2);
    expect(demoTiming(600).rotateEveryMs).toBeGreaterThanOrEqual(2 * MIN_ROTATION_GAP_MS);
  });
});

describe('livePhaseOffsets', () => {
  it('squeezes the recorded phase starts into the live duration, keeping proportions', () => {
    const s = 1e9;
    expect(livePhaseOffsets([100 * s, 110 * s, 150 * s], 200 * s, 1_000)).toEqual([0, 100, 500]);
    expect(livePhaseOffsets([], 1, 1_000)).toEqual([]);
  });
});
