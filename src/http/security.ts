import type { Duplex } from 'node:stream';
import type { FastifyHelmetOptions } from '@fastify/helmet';
import helmet from 'helmet';
import { errorBody } from './errors.js';

/**
 * Security headers and CSP, one declaration for @fastify/helmet: a strict policy (no inline
 * script, no third-party origin, no framing). No HSTS here: the server speaks plain HTTP and the
 * TLS proxy in front sets it (deploy/nginx.conf).
 */
export const HELMET_OPTIONS = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      scriptSrcAttr: ["'none'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      frameAncestors: ["'none'"],
      formAction: ["'self'"],
    },
  },
  xFrameOptions: { action: 'deny' },
  referrerPolicy: { policy: 'no-referrer' },
  crossOriginOpenerPolicy: { policy: 'same-origin' },
  crossOriginResourcePolicy: { policy: 'same-origin' },
  strictTransportSecurity: false,
} satisfies FastifyHelmetOptions;

/**
 * The same headers as a plain record, computed once by helmet itself, for the answers written
 * before Fastify has a reply (malformed URLs, and request heads Node's parser refuses).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = (() => {
  const headers: Record<string, string> = {};
  const collector = {
    setHeader: (k: string, v: string | number) => {
      headers[k.toLowerCase()] = String(v);
    },
    removeHeader: (k: string) => {
      delete headers[k.toLowerCase()];
    },
  };
  // helmet's middleware only sets and removes headers on the response it is given.
  helmet(HELMET_OPTIONS)(
    {} as Parameters<ReturnType<typeof helmet>>[0],
    collector as unknown as Parameters<ReturnType<typeof helmet>>[1],
    () => {},
  );
  return headers;
})();

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser refuses before any route runs (a head
 * over 16 KiB — a long query string — is 431; garbage is 400) gets the app's error shape and
 * headers instead of Fastify's `{error, message, statusCode}`.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, text, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [
          431,
          'Request Header Fields Too Large',
          'headers_too_large',
          'request line and headers exceed 16 KiB (a query string that long is refused)',
        ]
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'timeout', 'request not received in time']
        : [400, 'Bad Request', 'bad_request', 'malformed HTTP request'];
  const body = JSON.stringify(errorBody(code, message));
  const head = Object.entries({
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
  })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  if (socket.writable) socket.write(`HTTP/1.1 ${status} ${text}\r\n${head}\r\n${body}`);
  socket.destroy();
}

/** A `createRateLimit` verdict: true when this request is past the limit. */
export function exceeded(verdict: { isAllowed: true } | { isAllowed: false; isExceeded: boolean }): boolean {
  return !verdict.isAllowed && verdict.isExceeded;
}
