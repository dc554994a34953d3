/**
 * Synchronous reads of a file's bytes by descriptor, for the threads that read so: the catalog
 * writer (a first-pass range, read again) and a start's checks of the catalog against the index.
 */
import fs from 'node:fs';
import { sha1Hex } from '../feeders/tail/fingerprint.js';
import type { FileIdentity } from '../feeders/tail/types.js';

/** Reads [position, position + length) of `fd` into `into`; returns the bytes read (short at EOF). */
export function readAt(fd: number, into: Buffer, position: number, length: number): number {
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, into, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** Do the open file's first `id.fingerprintLen` bytes hash to `id.fingerprint` (the tailer's identity rule)? */
export function startsAs(fd: number, id: Pick<FileIdentity, 'fingerprint' | 'fingerprintLen'>): boolean {
  const head = Buffer.alloc(id.fingerprintLen);
  return readAt(fd, head, 0, id.fingerprintLen) === id.fingerprintLen && sha1Hex(head) === id.fingerprint;
}
