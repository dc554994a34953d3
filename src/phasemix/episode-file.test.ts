import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/tmp.js';
import { readEpisode } from './episode-file.js';

describe('readEpisode on something that is not a regular file', () => {
  it('reports a FIFO under an episode name as unreadable instead of blocking on open', async () => {
    const fifo = path.join(tempDir(), 'ep-1.tar.zst');
    execFileSync('mkfifo', [fifo]);
    const result = await readEpisode(fifo);
    expect(result.error).toBe('unreadable');
  });

  it('reports a directory under an episode name as unreadable', async () => {
    const dir = path.join(tempDir(), 'ep-2.tar.zst');
    fs.mkdirSync(dir);
    const result = await readEpisode(dir);
    expect(result.error).toBe('unreadable');
  });
});
