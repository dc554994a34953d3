import path from 'node:path';
import { GENERATE_OPTIONS } from '../../config/schema.js';
import { generateDataRoot } from '../../generate/generate.js';
import type { LineStyle } from '../../generate/line-style.js';
import { UsageError } from '../../util/errors.js';
import type { Command } from '../command.js';

export const generateCommand: Command = {
  name: 'generate',
  summary:
    'Write a synthetic data root (episodes/*.tar.zst, index.jsonl, alerts.jsonl, health/) for tests, benchmarks and demos. Deterministic for a seed.',
  options: GENERATE_OPTIONS,
  async run(o) {
    if (o.out === undefined) throw new UsageError('missing_flag', 'generate needs --out DIR');
    const out = path.resolve(o.out as string);
    const summary = await generateDataRoot({
      out,
      hosts: o.hosts as number,
      episodes: o.episodes as number,
      ...(o.indexLines !== undefined ? { indexLines: o.indexLines as number } : {}),
      alerts: o.alerts as number,
      telemetryKb: o.telemetryKb as number,
      seed: o.seed as number,
      indexStyle: o.indexStyle as LineStyle,
    });
    const { episodes: _list, ...rest } = summary;
    process.stdout.write(`${JSON.stringify(rest, null, 2)}\n`);
    return 0;
  },
};
