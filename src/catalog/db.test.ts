import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, trimMalloc } from './db.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** glibc's C library (the trim's target); elsewhere the trim reports it did not run. */
const glibc =
  process.platform === 'linux' &&
  Boolean(
    (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime,
  );

describe('trimMalloc', () => {
  it('gives free memory back without disturbing the connection, as often as asked', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cis490-db-'));
    dirs.push(dir);
    const db = openDatabase(dir);
    db.exec('CREATE TABLE t (v TEXT)');
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < 20_000; i++) insert.run(`row ${i} ${'x'.repeat(200)}`);
    })();
    db.pragma('shrink_memory');
    expect(trimMalloc(db)).toBe(glibc);
    expect(trimMalloc(db)).toBe(glibc);
    // The connection reads and writes on.
    insert.run('after');
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 20_001 });
    db.close();
    expect(trimMalloc(db)).toBe(false);
  });
});
