// Rewrites the README's flag tables from the config schema (run `npm run build:server` first).
// test/readme.test.ts fails when the README and the schema disagree; this script mends it.
import { readFileSync, writeFileSync } from 'node:fs';
import { markdownTable } from '../dist/config/parse.js';
import { COMMAND_OPTIONS } from '../dist/config/schema.js';

const file = new URL('../README.md', import.meta.url);
let readme = readFileSync(file, 'utf8');
for (const [name, schema] of Object.entries(COMMAND_OPTIONS)) {
  const begin = `<!-- flags:${name} -->`;
  const end = `<!-- /flags:${name} -->`;
  const a = readme.indexOf(begin);
  const b = readme.indexOf(end);
  if (a === -1 || b === -1) throw new Error(`README has no ${begin} … ${end} block`);
  readme = `${readme.slice(0, a + begin.length)}\n${markdownTable(schema)}\n${readme.slice(b)}`;
}
writeFileSync(file, readme);
