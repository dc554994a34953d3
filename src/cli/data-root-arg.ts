import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../util/errors.js';

/** What of a data root a one-shot command reads (the root itself is always listed). */
export type OneShotInput = 'index.jsonl' | 'alerts.jsonl' | 'episodes';

/**
 * The `--data-root` of a one-shot command (`snapshot`, `phase-mix`), resolved: it must exist, be a
 * folder, and be readable with what the command reads of it (`reads`). A server waits for a root it
 * cannot read yet; a one-shot command that did would wait forever (an unreadable `index.jsonl`
 * never finishes its first pass) or print an empty answer as if the lab were empty.
 */
export function oneShotDataRoot(arg: string, reads: readonly OneShotInput[]): string {
  const dataRoot = path.resolve(arg);
  if (!fs.existsSync(dataRoot))
    throw new UsageError('data_root_missing', `--data-root ${dataRoot} does not exist`);
  if (!fs.statSync(dataRoot).isDirectory()) {
    throw new UsageError('data_root_not_dir', `--data-root ${dataRoot} is not a directory`);
  }
  for (const name of ['', ...reads]) {
    const mode = name.endsWith('.jsonl') ? fs.constants.R_OK : fs.constants.R_OK | fs.constants.X_OK;
    const p = path.join(dataRoot, name);
    if (name !== '' && !fs.existsSync(p)) continue;
    try {
      fs.accessSync(p, mode);
    } catch (err) {
      throw new UsageError(
        'data_root_unreadable',
        `--data-root: cannot read ${p} (${(err as Error).message})`,
      );
    }
  }
  return dataRoot;
}
