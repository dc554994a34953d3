import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/tmp.js';
import { parseAlertLine, parseIndexLine } from '../feeders/records.js';
import type { EpisodeRecord } from '../protocol/index.js';
import { generateDataRoot } from './generate.js';
import { LINE_STYLES, pyDumps } from './line-style.js';

const lines = (file: string) => fs.readFileSync(file, 'utf8').split('\n').slice(0, -1);

describe('pyDumps', () => {
  it('writes what json.dumps writes (ensure_ascii, Python separators, NaN)', () => {
    expect(pyDumps({ a: 'é😀\n"\\\u007f', b: [1, 2.5, null, true], c: Number.NaN, d: -Infinity })).toBe(
      '{"a": "\\u00e9\\ud83d\\ude00\\n\\"\\\\\\u007f", "b": [1, 2.5, null, true], "c": NaN, "d": -Infinity}',
    );
    expect(pyDumps({ a: 1, b: {} }, true)).toBe('{"a":1,"b":{}}');
  });
});

describe('generate --index-style', () => {
  it('writes the same episodes in every style, each in its shape, and the parser reads them all', async () => {
    const seen: Record<string, { records: EpisodeRecord[]; expected: unknown; index: string[] }> = {};
    for (const style of LINE_STYLES) {
      const out = path.join(tempDir(), 'root');
      const summary = await generateDataRoot({
        out,
        hosts: 3,
        episodes: 4,
        indexLines: 600,
        alerts: 40,
        telemetryKb: 1,
        seed: 5,
        indexStyle: style,
      });
      const index = lines(path.join(out, 'index.jsonl'));
      const records = index.map((l) => {
        const r = parseIndexLine(l);
        if (!r.ok) throw new Error(`${style}: ${r.reason}: ${l}`);
        return r.record;
      });
      for (const l of lines(path.join(out, 'alerts.jsonl'))) expect(parseAlertLine(l).ok, l).toBe(true);
      const { hosts_indexed, total_episodes, total_bytes } = summary.expected;
      seen[style] = { records, expected: { hosts_indexed, total_episodes, total_bytes }, index };
    }
    const { compact, python, mixed } = seen as Record<(typeof LINE_STYLES)[number], (typeof seen)[string]>;
    expect(compact.index.every((l) => l.startsWith('{"episode_id":"') && !l.includes('", "'))).toBe(true);
    expect(python.index.every((l) => l.startsWith('{"episode_id": "') && l.includes('", "host_id": "'))).toBe(
      true,
    );
    expect(python.index.some((l) => /"received_at_wall": "[^"]+\.\d{6}\+00:00"/.test(l))).toBe(true);
    expect(mixed.index.some((l) => !l.startsWith('{"episode_id"'))).toBe(true);
    expect(mixed.index.some((l) => l.includes('NaN'))).toBe(true);
    expect(mixed.records.some((r) => r.extra !== undefined)).toBe(true);
    // Same ids, hosts, sizes; the same instants whatever form the time took.
    const strip = (r: EpisodeRecord) => ({ ...r, extra: undefined });
    expect(python.records.map(strip)).toEqual(compact.records.map(strip));
    expect(mixed.records.map(strip)).toEqual(compact.records.map(strip));
    expect(python.expected).toEqual(compact.expected);
    expect(mixed.expected).toEqual(compact.expected);
  });
});
