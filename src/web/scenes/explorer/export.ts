import type { EpisodeListItem } from '../../../protocol/api.js';

const COLUMNS = ['episode_id', 'host_id', 'sha256', 'size_bytes', 'received_at', 'status', 'path'] as const;

/**
 * One CSV field: quoted when needed; a text cell starting with = + - @ gets a leading quote mark so
 * a spreadsheet opening an export never runs a formula written into the data root.
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let s = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function toCsv(items: readonly EpisodeListItem[]): string {
  const lines = [COLUMNS.join(',')];
  for (const item of items) lines.push(COLUMNS.map((c) => csvField(item[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

export function toNdjson(items: readonly EpisodeListItem[]): string {
  return items.map((item) => `${JSON.stringify(item)}\n`).join('');
}

/** Saves text as a file through a temporary object URL (no server round trip, no inline script). */
export function saveText(text: string, filename: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
