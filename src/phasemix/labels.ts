/**
 * Parsing `labels.jsonl` and `meta.json` bodies.
 *
 * As the seed: lines are trimmed of ASCII whitespace, blank lines ignored, lines that are not JSON
 * skipped. Deliberate differences from the seed:
 * - lines split on `\n` only (the seed's `bytes.splitlines()` also splits on a lone `\r`);
 * - a line that is JSON but not an object (`null`, `[1]`, `"x"`, `3`) is skipped; the seed kept it
 *   and then crashed the whole computation on `.get`;
 * - invalid UTF-8 decodes to U+FFFD (the seed raised `UnicodeDecodeError` and crashed);
 * - `NaN` / `Infinity` literals are not JSON here, so such a line is skipped (Python accepts them).
 */

export type LabelRecord = Record<string, unknown>;

export interface ParsedLabels {
  records: LabelRecord[];
  /** Non-blank lines that were not JSON objects. */
  skippedLines: number;
}

const DECODER = new TextDecoder('utf-8');
const ASCII_SPACE = /^[ \t\n\r\v\f]+|[ \t\n\r\v\f]+$/g;

export function parseLabels(body: Uint8Array): ParsedLabels {
  const text = DECODER.decode(body);
  const records: LabelRecord[] = [];
  let skippedLines = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end).replace(ASCII_SPACE, '');
    start = end + 1;
    if (line === '') continue;
    const value = parseJson(line);
    if (isObject(value)) records.push(value);
    else skippedLines++;
  }
  return { records, skippedLines };
}

/** `meta.json` as an object, or null when it is not a JSON object. */
export function parseMeta(body: Uint8Array): Record<string, unknown> | null {
  const value = parseJson(DECODER.decode(body));
  return isObject(value) ? value : null;
}

const NOT_JSON = Symbol('not json');

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return NOT_JSON;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
