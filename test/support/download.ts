import crypto from 'node:crypto';
import http from 'node:http';
import { expect, onTestFinished, vi } from 'vitest';
import { addFile, indexLineFor } from './episode-root.js';
import { tempDir } from './tmp.js';

/**
 * Far more than loopback socket buffers hold: a download of it is still being sent when a test
 * closes or stops the server.
 */
export const BIG_EPISODE_BYTES = 32 * 1024 * 1024;

/** A data root holding one indexed episode `big` of host `h1`, BIG_EPISODE_BYTES of random bytes. */
export function bigEpisodeRoot(prefix: string): string {
  const root = tempDir(prefix);
  const data = crypto.randomBytes(BIG_EPISODE_BYTES);
  addFile(root, 'episodes/h1/big.tar.zst', data);
  addFile(root, 'index.jsonl', indexLineFor('big', data, '2026-11-01T12:00:00Z'));
  return root;
}

/** Waits until the server at `base` serves episode `big`'s download; returns its URL. */
export async function bigEpisodeDownload(base: string): Promise<string> {
  const url = `${base}/api/episodes/big/download`;
  await vi.waitFor(
    async () => {
      const res = await fetch(url, { headers: { range: 'bytes=0-0' } });
      await res.arrayBuffer();
      expect(res.status).toBe(206);
    },
    { timeout: 20_000, interval: 50 },
  );
  return url;
}

/** A GET whose response is paused once its head has arrived (on `agent`, if given). */
export async function pausedDownload(url: string, agent?: http.Agent): Promise<http.IncomingMessage> {
  const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
    http.get(url, agent ? { agent } : {}, resolve).on('error', reject),
  );
  res.pause();
  onTestFinished(() => {
    res.destroy();
  });
  expect(res.statusCode).toBe(200);
  return res;
}
