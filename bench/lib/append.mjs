/** Appends synthetic index lines the way the receiver does: whole lines, O_APPEND. */
import crypto from 'node:crypto';
import fs from 'node:fs';

/** An index line whose episode id carries a tag and a sequence number the clients look for. */
export function indexLine(tag, n) {
  const id = `bench-${tag}-${n}`;
  const sha = crypto.createHash('sha256').update(id).digest('hex');
  return `${JSON.stringify({
    episode_id: id,
    host_id: `host-${String((n % 24) + 1).padStart(2, '0')}`,
    sha256: sha,
    size_bytes: 6000 + (n % 4000),
    received_at_wall: new Date().toISOString(),
  })}\n`;
}

export function openAppender(file) {
  const fd = fs.openSync(file, 'a');
  return {
    write(text) {
      fs.writeSync(fd, text);
    },
    close() {
      fs.closeSync(fd);
    },
  };
}
