import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/tmp.js';
import { checkHead, identify } from './fingerprint.js';
import { nodeTailFs } from './fs.js';

describe('checkHead', () => {
  it('tells a file that still starts with the fingerprinted bytes from one rewritten, however its identity was made', async () => {
    const file = path.join(tempDir('cis490-head-'), 'index.jsonl');
    fs.writeFileSync(file, '{"a":1}\n');
    const handle = await nodeTailFs.open(file);
    try {
      const young = await identify(handle);
      // The same identity as a checkpoint brings it back after a restart (no bytes read here).
      const resumed = { ...young };
      fs.appendFileSync(file, `{"b":"${'x'.repeat(2000)}"}\n`);
      const size = fs.statSync(file).size;
      for (const id of [young, resumed]) {
        const grown = await checkHead(handle, id, size);
        expect(grown.matches).toBe(true);
        expect(grown.grown.fingerprintLen).toBe(1024);
        // Grown to its full length: the next looks compare the same 1 KiB.
        const again = await checkHead(handle, grown.grown, size);
        expect(again).toEqual({ matches: true, grown: grown.grown });
      }
      const full = (await checkHead(handle, young, size)).grown;
      // Rewritten in place with other bytes at the start (a copytruncate refilled past our offset).
      const fd = fs.openSync(file, 'r+');
      fs.writeSync(fd, '{"c":1}', 0);
      fs.closeSync(fd);
      for (const id of [young, resumed, full, { ...full }])
        expect((await checkHead(handle, id, size)).matches).toBe(false);
    } finally {
      await handle.close();
    }
  });
});
