import type { ApiError } from '../protocol/index.js';

/** An HTTP error with a stable code; 4xx messages go to the client, 5xx ones only to the log. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badQuery = (message: string) => new HttpError(400, 'bad_query', message);
export const notFound = (message = 'not found') => new HttpError(404, 'not_found', message);

export function errorBody(code: string, message: string): ApiError {
  return { error: { code, message } };
}

const FAULT_WORDS: Record<string, string> = {
  disk_full: "the state dir's file system is full: the catalog cannot be written",
  read_only: "the state dir's file system is read-only: the catalog cannot be written",
  no_permission: 'the state dir is not writable: the catalog cannot be written',
  io_error: "the state dir's disk reports I/O errors: the catalog cannot be written",
  corrupt: 'the catalog is corrupt: a restart sets it aside and rebuilds it from the data root',
  gone: 'the catalog file was removed or replaced while the server ran: a restart rebuilds it from the data root',
};

/**
 * The catalog's fault in words for clients (no paths: /readyz is open without a token), or null.
 * The log line has the path and the system's message.
 */
export function catalogFaultReason(
  fault: { fault: string; since: string } | null,
): { code: string; message: string } | null {
  if (!fault) return null;
  const what = FAULT_WORDS[fault.fault] ?? fault.fault;
  return {
    code: `catalog_${fault.fault}`,
    message: `${what} (since ${fault.since}); it is behind the live state`,
  };
}

/** 503 for the catalog's readers while it cannot be written: better than rows silently missing. */
export function assertCatalogWritable(fault: { fault: string; since: string } | null): void {
  const reason = catalogFaultReason(fault);
  if (reason) throw new HttpError(503, reason.code, reason.message);
}
