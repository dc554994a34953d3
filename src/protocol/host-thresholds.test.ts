import { describe, expect, it } from 'vitest';
import { DEFAULT_HOST_THRESHOLDS, parseHostThresholds } from './host-status.js';

describe('--host-thresholds', () => {
  it('reads times in m or h, disk shares in %, queue depths as numbers, over the defaults', () => {
    expect(parseHostThresholds('')).toEqual(DEFAULT_HOST_THRESHOLDS);
    expect(parseHostThresholds('stale_warn=30m, stale_crit=2h,disk_warn=15%,queue_crit=100')).toEqual({
      ...DEFAULT_HOST_THRESHOLDS,
      stale_warn_min: 30,
      stale_crit_min: 120,
      disk_warn: 0.15,
      queue_crit: 100,
    });
  });

  it('refuses what cannot be meant, naming the part', () => {
    for (const [spec, said] of [
      ['disk_warn=200%', /at most 100%/],
      ['stale_warn=0m', /longer than 0/],
      ['heartbeat_warn=0h', /longer than 0/],
      ['stale_warn=60m,stale_warn=2h', /'stale_warn' is given more than once/],
      ['disk_warn=10', /takes %/],
      ['queue_warn=5%', /plain number/],
      ['nope=1', /is not one of/],
      ['stale_warn=4h', /shorter than its warning/],
      ['disk_crit=20%', /past its warning/],
    ] as const) {
      expect(() => parseHostThresholds(spec), spec).toThrow(said);
    }
  });
});
