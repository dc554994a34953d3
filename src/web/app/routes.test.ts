import { describe, expect, it } from 'vitest';
import { hashFor, parseHash, parseKiosk } from './routes.js';

describe('routes', () => {
  it('opens Overview for / and unknown scenes, keeps scene params', () => {
    expect(parseHash('').scene).toBe('overview');
    expect(parseHash('#/nope').scene).toBe('overview');
    const r = parseHash('#/explorer?host=a&host=b&q=ab12');
    expect(r.scene).toBe('explorer');
    expect(r.params.getAll('host')).toEqual(['a', 'b']);
    expect(hashFor('explorer', r.params)).toBe('#/explorer?host=a&host=b&q=ab12');
  });

  it('reads kiosk rotation, ignoring unknown scenes and too-short dwell', () => {
    expect(parseKiosk('')).toBeNull();
    expect(parseKiosk('?kiosk&scenes=hosts,bogus,live&dwell=5')).toEqual({
      scenes: ['hosts', 'live'],
      dwellMs: 5000,
    });
    expect(parseKiosk('?kiosk&dwell=0')?.dwellMs).toBe(20_000);
    expect(parseKiosk('?kiosk')?.scenes).toContain('overview');
  });
});
