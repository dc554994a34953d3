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

  describe('NUL padding (what a receiver that crashed mid-write leaves)', () => {
    const nuls = (n: number) => Buffer.alloc(n);

    it('strips a NUL run glued before a valid record, delivers the record and reports the padding once', () => {
      const text = Buffer.concat([
        Buffer.from('{"a":1}\n'),
        nuls(4),
        Buffer.from('{"episode_id":"e-2"}\n{"c":3}\n'),
      ]);
      const out = split(text, 1024, 500);
      expect(out.lines).toEqual(['{"a":1}', '{"episode_id":"e-2"}', '{"c":3}']);
      expect(out.skipped).toEqual([
        { reason: 'nul_padding', offset: 508, excerpt: '<4 NUL bytes>{"episode_id":"e-2"}' },
      ]);
    });

    it('drops a line of NULs only (with or without a CR) and reports it once', () => {
      const text = Buffer.concat([nuls(64 * 1024), Buffer.from('\n'), nuls(3), Buffer.from('\r\n{"b":2}\n')]);
      const out = split(text, 128 * 1024);
      expect(out.lines).toEqual(['{"b":2}']);
      expect(out.skipped).toEqual([
        { reason: 'nul_padding', offset: 0, excerpt: '<65536 NUL bytes>' },
        { reason: 'nul_padding', offset: 64 * 1024 + 1, excerpt: '<3 NUL bytes>\r' },
      ]);
    });

    it('keeps NULs inside or at the end of a line in the line (its JSON parse rejects it)', () => {
      const inside = Buffer.from('{"a":"x\0y"}\n{"b":1}\0\0\n');
      const out = split(inside);
      expect(out.lines).toEqual(['{"a":"x\0y"}', '{"b":1}\0\0']);
      expect(out.skipped).toEqual([]);
      // Only the leading run goes: a NUL after the first other byte stays.
      expect(split(Buffer.from('\0\0 \0{"c":1}\n')).lines).toEqual([' \0{"c":1}']);
    });

    it('still reports invalid UTF-8 behind the padding, at the offset of the record itself', () => {
      const text = Buffer.concat([nuls(2), Buffer.from('{"h":"'), Buffer.from([0xff]), Buffer.from('"}\n')]);
      const out = split(text, 1024, 10);
      expect(out.lines).toEqual(['{"h":"\ufffd"}']);
      expect(out.skipped.map((s) => [s.reason, s.offset])).toEqual([
        ['nul_padding', 10],
        ['invalid_utf8', 12],
      ]);
    });

    it('judges the length limit on the line as written, padding included', () => {
      const text = Buffer.concat([nuls(40), Buffer.from('{"a":1}\n')]);
      expect(split(text, 30).skipped.map((s) => s.reason)).toEqual(['line_too_long']);
      expect(split(text, 47).lines).toEqual(['{"a":1}']);
    });
  });
});
