import net from 'node:net';
import { expect, test } from 'vitest';
import { redisServer } from './redis-server.js';

/** One command in inline form on a fresh connection; the first reply line. */
function command(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(`${line}\r\n`));
    let buffered = '';
    socket.once('error', reject);
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\r\n');
      // A bulk reply is `$len` then the value: wait for both lines.
      if (lines.length < 2 || (lines[0]?.startsWith('$') && lines[0] !== '$-1' && lines.length < 3)) return;
      socket.destroy();
      resolve(lines[0]?.startsWith('$') && lines[0] !== '$-1' ? (lines[1] ?? '') : (lines[0] ?? ''));
    });
  });
}

test('a SIGKILLed redis-server restarted on its dir still holds every acknowledged write (AOF always)', async () => {
  const redis = await redisServer();
  expect(await command(redis.port, 'SET k v1')).toBe('+OK');
  expect(await command(redis.port, 'CONFIG GET appendfsync')).toBe('*2');
  await redis.kill();
  expect(redis.running).toBe(false);
  await expect(command(redis.port, 'PING')).rejects.toThrow(/ECONNREFUSED/);
  await redis.restart();
  expect(await command(redis.port, 'GET k')).toBe('v1');
});
