import path from 'node:path';
import { GENERATE_OPTIONS } from '../../config/schema.js';
import { generateDataRoot } from '../../generate/generate.js';
import { UsageError } from '../../util/errors.js';
import { defineCommand } from '../command.js';

export const generateCommand = defineCommand({
  name: 'generate',
  summary:
    'Write a synthetic data root (episodes/*.tar.zst, index.jsonl, alerts.jsonl, health/) for tests, benchmarks and demos. Deterministic for a seed.',
  options: GENERATE_OPTIONS,
  async run(o) {
    if (o.out === undefined) throw new UsageError('missing_flag', 'generate needs --out DIR');
    const out = path.resolve(o.out);
    const summary = await generateDataRoot({
      out,
      hosts: o.hosts,
      episodes: o.episodes,
      ...(o.indexLines !== undefined ? { indexLines: o.indexLines } : {}),
      alerts: o.alerts,
      telemetryKb: o.telemetryKb,
      seed: o.seed,
      indexStyle: o.indexStyle,
    });
    const { episodes: _list, ...rest } = summary;
    process.stdout.write(`${JSON.stringify(rest, null, 2)}\n`);
    return 0;
  },
});
