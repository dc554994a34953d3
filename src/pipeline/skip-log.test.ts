/**
 * The cold first pass logs a few excerpts of each skip reason per range and counts the rest: the
 * rest must still be said, in the summary line ("N more like this held back"), as the live tail
 * does — a line counted in /metrics is never one the log is silent about.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { capturedLogger } from '../../test/support/log.js';
import { testServer } from '../../test/support/server.js';
import { tempDir } from '../../test/support/tmp.js';

describe('the first pass’s skip log', () => {
  it('excerpts a few lines per reason and says how many more it held back', async () => {
    const root = tempDir();
    const lines: string[] = [];
    for (let i = 0; i < 40; i++) lines.push(`{"episode_id": "ep-${i}", "host_id": "host-01"}`);
    for (let i = 0; i < 6; i++) lines.push(`{"episode_id": "bad-${i}", "host_id": `);
    for (let i = 0; i < 5; i++) lines.push(`{"host_id": "host-01", "n": ${i}}`);
    for (let i = 0; i < 4; i++)
      lines.push(
        `{"episode_id": "cut-${i}", "host_id": "ho{"episode_id": "kept-${i}", "host_id": "host-02"}`,
      );
    fs.writeFileSync(path.join(root, 'index.jsonl'), `${lines.join('\n')}\n`);
    const { logger, lines: log } = capturedLogger();
    const server = await testServer({ dataRoot: root }, { logger });
    await server.pipeline.whenReady();
    await server.close(); // the pending summaries are logged at the stop
    const said = (reason: string) => {
      const excerpts = log.filter((l) => l.reason === reason && typeof l.excerpt === 'string').length;
      const summary = log.find((l) => l.key === `index:${reason}`);
      return excerpts + Number(summary?.suppressed ?? 0);
    };
    expect(said('malformed_json')).toBe(6);
    expect(said('missing_fields')).toBe(5);
    expect(said('torn_line')).toBe(4);
    expect(
      log.some((l) => l.key === 'index:malformed_json' && /more like this held back/.test(String(l.msg))),
    ).toBe(true);
  });
});
