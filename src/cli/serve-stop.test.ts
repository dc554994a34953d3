import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import net from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BIN } from '../../test/support/cli.js';
import { bigEpisodeDownload, bigEpisodeRoot, pausedDownload } from '../../test/support/download.js';

/**
 * `serve` stopped by SIGTERM while peers hold it: every wait shares one budget, so the stop ends
 * with exit 0 (within the 5 s deadline), not "shutdown took longer than 5 s" and exit 1.
 */

interface Serving {
  child: ChildProcess;
  url: string;
  /** How the process ended: its exit code, or the signal that killed it. */
  exited: Promise<string>;
  stderr: () => string;
}

function serve(root: string): Promise<Serving> {
  const child = spawn(process.execPath, [BIN, 'serve', '--data-root', root, '--port', '0'], {
    env: { ...process.env, CIS490_LOG_LEVEL: 'error', CIS490_STATE_DIR: `${root}/.state` },
  });
  onTestFinished(() => {
    child.kill('SIGKILL');
  });
  let err = '';
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? String(code))),
  );
  return new Promise((resolve, reject) => {
    child.stderr?.on('data', (d) => {
      err += d;
      const m = /serving (http:\/\/\S+)/.exec(err);
      if (m?.[1]) resolve({ child, url: m[1], exited, stderr: () => err });
    });
    void exited.then((how) => reject(new Error(`serve ended (${how}) before serving: ${err}`)));
  });
}

/** A WebSocket client that takes the upgrade and then never answers anything (not the close frame either). */
async function silentWebSocket(url: string): Promise<net.Socket> {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  onTestFinished(() => {
    socket.destroy();
  });
  const upgraded = new Promise<void>((resolve, reject) => {
    let head = '';
    const onData = (d: Buffer) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      if (head.startsWith('HTTP/1.1 101')) resolve();
      else reject(new Error(`no upgrade: ${head.split('\r\n')[0]}`));
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
  socket.write(
    `GET /ws HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await upgraded;
  // Reads what comes (so the server's sends do not back up) and never writes a byte back.
  socket.on('data', () => {});
  return socket;
}

describe('serve stopped by SIGTERM', () => {
  it('ends with exit 0 while a WebSocket client never answers and a download is not read', async () => {
    const server = await serve(bigEpisodeRoot('cis490-stop-'));
    const download = await bigEpisodeDownload(server.url);
    await silentWebSocket(server.url);
    const res = await pausedDownload(download);
    const cut = new Promise<void>((resolve) => res.once('close', resolve));
    server.child.kill('SIGTERM');
    // One after another, the client's 5 s and then the download's 5 s each ran into the 5 s deadline.
    const how = await server.exited;
    expect(how, server.stderr()).toBe('0');
    expect(server.stderr()).not.toMatch(/took longer/);
    // The download was cut (read on now, it ends short of its length).
    res.resume();
    await cut;
    expect(res.complete).toBe(false);
  }, 60_000);
});
