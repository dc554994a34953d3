import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ESM script (scripts/ is not type-checked); its exports are used as called here.
import { check } from '../../scripts/check-imports.mjs';
import { tempDir } from '../support/tmp.js';

function tree(files: Record<string, string>): string {
  const root = tempDir('cis490-imports-');
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  }
  return root;
}

describe('scripts/check-imports.mjs (npm run lint)', () => {
  it('passes this repository', () => {
    expect(check().problems).toEqual([]);
  });

  it('fails on shipped code importing tests, an import up a layer, and a cycle', () => {
    const root = tree({
      'src/feeders/reader.ts':
        "import { tempDir } from '../../test/support/tmp.js';\nimport { vi } from 'vitest';\n",
      'src/feeders/up.ts': "import type { AppContext } from '../http/context.js';\n",
      'src/http/context.ts': 'export interface AppContext {}\n',
      'src/bus/a.ts': "import type { B } from './b.js';\nexport interface A { b?: B }\n",
      'src/bus/b.ts': "import type { A } from './a.js';\nexport interface B { a?: A }\n",
      'test/support/tmp.ts': 'export const tempDir = 1;\n',
      // Tests may import anything.
      'src/feeders/reader.test.ts': "import '../http/context.js';\nimport '../../test/support/tmp.js';\n",
    });
    expect((check(root).problems as string[]).sort()).toEqual([
      'import cycle: src/bus/a.ts -> src/bus/b.ts',
      'src/feeders/reader.ts: shipped code imports test code test/support/tmp.ts',
      'src/feeders/reader.ts: shipped code imports the test package vitest',
      'src/feeders/up.ts: src/feeders may not import src/http (src/http/context.ts)',
    ]);
  });
});
