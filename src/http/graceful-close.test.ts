import crypto from 'node:crypto';
import http from 'node:http';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { addFile, indexLineFor } from '../../test/support/episode-root.js';
import { testServer } from '../../test/support/server.js';
import { tempDir } from '../../test/support/tmp.js';
import type { RunningServer } from '../server.js';

/**
 * A server stopping (SIGTERM, or a test's close) while a download is still being sent: the
 * download may finish, and the stop does not then wait out the keep-alive timeout (72 s).
 */

// Far more than loopback socket buffers hold, so the response is still being sent when close starts.
const SIZE = 32 * 1024 * 1024;
/** Well under the 72 s keep-alive wait the close used to take, well over the 5 s grace. */
const CLOSE_BOUND_MS = 25_000;

async function serverWithBigEpisode(): Promise<{ server: RunningServer; url: string }> {
  const root = tempDir('cis490-close-');
  const data = crypto.randomBytes(SIZE);
  addFile(root, 'episodes/h1/big.tar.zst', data);
  addFile(root, 'index.jsonl', indexLineFor('big', data, '2026-11-01T12:00:00Z'));
  const server = await testServer({ dataRoot: root });
  const url = `${server.url}/api/episodes/big/download`;
  await vi.waitFor(
    async () => {
      const res = await fetch(url, { headers: { range: 'bytes=0-0' } });
      await res.arrayBuffer();
      expect(res.status).toBe(206);
    },
    { timeout: 20_000, interval: 50 },
  );
  return { server, url };
}

/** A keep-alive GET whose response is paused once its head has arrived. */
async function pausedDownload(url: string): Promise<http.IncomingMessage> {
  const agent = new http.Agent({ keepAlive: true });
  onTestFinished(() => agent.destroy());
  const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
    http.get(url, { agent }, resolve).on('error', reject),
  );
  res.pause();
  expect(res.statusCode).toBe(200);
  return res;
}

function closedWithin(server: RunningServer, ms: number): Promise<'closed' | 'still open'> {
  return Promise.race([
    server.close().then(() => 'closed' as const),
    new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), ms).unref()),
  ]);
}

describe('closing the server while a download is being sent', () => {
  it('lets the download finish, then closes its keep-alive connection at once', async () => {
    const { server, url } = await serverWithBigEpisode();
    const res = await pausedDownload(url);
    const closing = closedWithin(server, CLOSE_BOUND_MS);
    let received = 0;
    res.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    const ended = new Promise<void>((resolve) => res.on('end', resolve));
    res.resume();
    await ended;
    expect(received).toBe(SIZE);
    expect(res.complete).toBe(true);
    expect(await closing).toBe('closed');
  }, 60_000);

  it('cuts a download nobody reads after the grace, and closes', async () => {
    const { server, url } = await serverWithBigEpisode();
    const res = await pausedDownload(url);
    const gone = new Promise<void>((resolve) => res.on('close', resolve));
    expect(await closedWithin(server, CLOSE_BOUND_MS)).toBe('closed');
    res.resume();
    await gone;
    expect(res.complete).toBe(false);
  }, 60_000);
});
