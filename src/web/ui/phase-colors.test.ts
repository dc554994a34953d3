import { describe, expect, it } from 'vitest';
import { FAILED_COLOR, phaseColors } from './phase-colors.js';

describe('phaseColors', () => {
  const phases = ['idle', 'benign_running', 'infecting', 'infected_running', 'teardown', 'setup', 'exfil'];

  it('gives every phase of the set its own colour', () => {
    const color = phaseColors(phases);
    expect(new Set(phases.map(color)).size).toBe(phases.length);
  });

  it('depends on the set only, not on the order it was seen in', () => {
    const a = phaseColors(phases);
    const b = phaseColors([...phases].reverse());
    for (const p of phases) expect(b(p)).toBe(a(p));
  });

  it('keeps failed red and still colours a phase outside the set', () => {
    const color = phaseColors(phases);
    expect(color('failed')).toBe(FAILED_COLOR);
    expect(color('brand_new')).toMatch(/^#[0-9a-f]{6}$/);
  });
});
