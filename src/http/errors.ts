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
