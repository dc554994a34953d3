import { describe, expect, it } from 'vitest';
import { type LineSink, splitLines } from './lines.js';

/** Splits a whole run of complete lines (the text must end with '\n'). */
function split(text: string | Buffer, maxLineBytes = 1024, fileOffset = 0): LineSink {
  const buf = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const sink: LineSink = { lines: [], skipped: [] };
  splitLines(buf, 0, buf.lastIndexOf(10), fileOffset, maxLineBytes, sink);
  return sink;
}

describe('splitLines', () => {
  it("splits on '\\n' only: U+2028, U+2029 and U+0085 stay inside the record", () => {
    const record = JSON.stringify({ detail: 'a\u2028b\u2029c\u0085d\re' });
    expect(split(`${record}\n{"x":1}\n`).lines).toEqual([record, '{"x":1}']);
  });

  it('removes one trailing CR and drops empty and whitespace-only lines', () => {
    expect(split('{"a":1}\r\n\n   \n\t\r\n{"b":2}\r\r\n\u00a0\n').lines).toEqual(['{"a":1}', '{"b":2}\r']);
  });

  it('keeps the spaces around a record (only blank lines are dropped)', () => {
    expect(split('  {"a":1}  \n').lines).toEqual(['  {"a":1}  ']);
  });

  it('removes a UTF-8 BOM at the start of the file, not elsewhere', () => {
    expect(split('\ufeff{"a":1}\n').lines).toEqual(['{"a":1}']);
    expect(split('\ufeff{"a":1}\n', 1024, 10).lines).toEqual(['\ufeff{"a":1}']);
  });

  it('decodes invalid UTF-8 with U+FFFD, keeps the line and reports where it is', () => {
    const bad = Buffer.concat([
      Buffer.from('{"a":1}\n{"b":"'),
      Buffer.from([0xff, 0xc3]),
      Buffer.from('"}\n'),
    ]);
    const out = split(bad, 1024, 100);
    expect(out.lines).toEqual(['{"a":1}', '{"b":"\ufffd\ufffd"}']);
    expect(out.skipped).toEqual([{ reason: 'invalid_utf8', offset: 108, excerpt: '{"b":"\ufffd\ufffd"}' }]);
  });

  it('skips lines longer than the limit, counting bytes not characters, with an excerpt', () => {
    const long = `{"x":"${'é'.repeat(200)}"}`; // 208 characters, 408 bytes
    const out = split(`{"a":1}\n${long}\n{"b":2}\n`, 300, 1000);
    expect(out.lines).toEqual(['{"a":1}', '{"b":2}']);
    expect(out.skipped).toEqual([{ reason: 'line_too_long', offset: 1008, excerpt: long.slice(0, 120) }]);
  });

  it('keeps a line of exactly the limit', () => {
    const line = 'x'.repeat(50);
    expect(split(`${line}\n`, 50).lines).toEqual([line]);
  });
});
