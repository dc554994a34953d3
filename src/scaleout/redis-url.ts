import { UsageError } from '../util/errors.js';

/**
 * `--redis` for `serve` and `agent` alike: a `redis://` or `rediss://` URL whose port (when given)
 * is 1–65535 and whose path (when given) is a database number. Checked before anything starts:
 * a port of 99999 or a path of `/abc` reached the Redis client, which threw a stack trace.
 */
export function checkRedisUrl(url: string | undefined): string {
  if (url === undefined)
    throw new UsageError('missing_redis', '--redis URL is required (e.g. redis://127.0.0.1:6379)');
  const shown = JSON.stringify(redactRedisUrl(url));
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(
      'bad_redis_url',
      `--redis is not a valid redis:// URL (host, port 1–65535, /db), got ${shown}`,
    );
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    throw new UsageError('bad_redis_url', `--redis must be a redis:// or rediss:// URL, got ${shown}`);
  if (parsed.hostname === '') throw new UsageError('bad_redis_url', `--redis names no host: ${shown}`);
  const port = parsed.port === '' ? null : Number(parsed.port);
  if (port !== null && !(port >= 1 && port <= 65_535))
    throw new UsageError('bad_redis_url', `--redis port must be 1–65535, got ${shown}`);
  if (parsed.pathname !== '' && parsed.pathname !== '/' && !/^\/\d{1,9}$/.test(parsed.pathname))
    throw new UsageError('bad_redis_url', `--redis path must be a database number (/0, /1, …), got ${shown}`);
  return url;
}

/** The URL with its password (if any) shown as `***`: for logs and messages. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    // Not a URL: whatever sits between `//` and `@` may be a password.
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}
