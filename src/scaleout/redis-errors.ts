import {
  ConnectionTimeoutError,
  ErrorReply,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
  TimeoutReadError,
} from '@redis/client';
import { errnoCode } from '../util/errors.js';

const TRANSIENT_REPLIES = ['LOADING', 'BUSY', 'TRYAGAIN', 'MASTERDOWN'];
const TRANSIENT_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);

/**
 * True when a command failed because Redis was away (connection lost, still loading its AOF):
 * the same command may be sent again once the client has reconnected. A keyed append is safe to
 * re-send (the script skips what already landed); an append without a mark is not.
 */
export function isTransientRedisError(err: unknown): boolean {
  if (err instanceof SocketClosedUnexpectedlyError) return true;
  if (err instanceof ConnectionTimeoutError || err instanceof SocketTimeoutError) return true;
  // The client's command timeout (5 s by default) while Redis is away: a command still queued for a
  // connection that is not back (`TimeoutError`: never sent), or one sent before the connection
  // went and never answered (`TimeoutReadError`: as a lost connection's, it may have run). A Redis
  // away for longer than that failed a replica's stream read with these, which then stopped for good.
  if (err instanceof TimeoutError || err instanceof TimeoutReadError) return true;
  if (err instanceof ErrorReply) return TRANSIENT_REPLIES.some((word) => err.message.startsWith(word));
  const code = errnoCode(err);
  return code !== undefined && TRANSIENT_ERRNO.has(code);
}

const REFUSALS = [
  'WRONGPASS',
  'NOAUTH',
  'NOPERM',
  'ERR invalid password',
  'ERR AUTH',
  'ERR DB index',
  'ERR Protocol error: unauthenticated',
];

/**
 * True when Redis refused the connection itself: a wrong or missing password, a user without the
 * rights, a database number it does not have. No retry mends those; the client would try forever.
 */
export function isRefusedConnection(err: unknown): boolean {
  return err instanceof ErrorReply && REFUSALS.some((word) => err.message.startsWith(word));
}
