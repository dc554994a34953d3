import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { markdownTable } from '../src/config/parse.js';
import { COMMAND_OPTIONS } from '../src/config/schema.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

/** The README's generated block for a command (between `<!-- flags:NAME -->` markers). */
function block(name: string): string | undefined {
  const m = new RegExp(`<!-- flags:${name} -->\\n([\\s\\S]*?)\\n<!-- /flags:${name} -->`).exec(readme);
  return m?.[1];
}

describe('README', () => {
  it.each(Object.entries(COMMAND_OPTIONS))(
    'has the flag table of %s exactly as the config schema makes it',
    (name, schema) => {
      // On a mismatch: npm run build:server && node scripts/readme-flags.mjs
      expect(block(name)).toBe(markdownTable(schema));
    },
  );

  it('keeps the two-command quick start', () => {
    expect(readme).toContain('npm ci && npm run demo');
    expect(readme).toContain('npm test');
  });
});
