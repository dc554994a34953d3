import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DEMO_OPTIONS,
  GENERATE_OPTIONS,
  PHASE_MIX_OPTIONS,
  SERVER_OPTIONS,
  SNAPSHOT_OPTIONS,
} from '../src/config/schema.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('documents every flag and its environment variable', () => {
    for (const spec of [
      ...SERVER_OPTIONS,
      ...DEMO_OPTIONS,
      ...GENERATE_OPTIONS,
      ...SNAPSHOT_OPTIONS,
      ...PHASE_MIX_OPTIONS,
    ]) {
      expect(readme, `--${spec.flag}`).toContain(`--${spec.flag}`);
      if (spec.env) expect(readme, spec.env).toContain(spec.env);
    }
  });

  it('keeps the two-command quick start', () => {
    expect(readme).toContain('npm ci && npm run demo');
    expect(readme).toContain('npm test');
  });
});
