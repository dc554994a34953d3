import { useEffect, useRef, useState } from 'react';
import type { ApiError } from '../../protocol/index.js';
import { withReceiver } from './receiver.js';

/** An HTTP error from `/api/*`, with the server's stable code when it sent one. */
export class ApiFailure extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiFailure';
    this.status = status;
    this.code = code;
  }
}

function authHeaders(): Record<string, string> {
  const token = new URLSearchParams(globalThis.location?.search ?? '').get('token');
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** A request the server has not answered by then is given up: a frozen server must not mean "Loading…" forever. */
export const API_TIMEOUT_MS = 10_000;

/** GET a JSON body from the API; a non-2xx answer becomes an ApiFailure with the server's message. */
export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const timeout = AbortSignal.timeout(API_TIMEOUT_MS);
  const init: RequestInit = {
    headers: { accept: 'application/json', ...authHeaders() },
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  };
  let res: Response;
  try {
    res = await fetch(withReceiver(path), init);
  } catch (err) {
    if (timeout.aborted && !signal?.aborted) {
      throw new ApiFailure(0, 'timeout', `The server did not answer within ${API_TIMEOUT_MS / 1000} s.`);
    }
    throw err;
  }
  if (!res.ok) {
    let code = `http_${res.status}`;
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = (await res.json()) as Partial<ApiError>;
      if (body.error) {
        code = body.error.code;
        message = body.error.message;
      }
    } catch {
      // Not JSON (a proxy page, say): keep the status line.
    }
    throw new ApiFailure(res.status, code, message);
  }
  return (await res.json()) as T;
}

export type ApiResult<T> =
  | { status: 'loading'; data: T | null; error: null }
  | { status: 'ok'; data: T; error: null }
  | { status: 'error'; data: T | null; error: ApiFailure | Error };

/**
 * Fetches `path` whenever it or `refreshKey` changes. While a refetch runs the previous data stays
 * on screen (no flashing on a wall display); a refetch that fails keeps the old data and reports
 * the error beside it. `path` null means "nothing to fetch yet".
 */
export function useApi<T>(path: string | null, refreshKey: unknown = 0, throttleMs = 0): ApiResult<T> {
  const [result, setResult] = useState<ApiResult<T>>({ status: 'loading', data: null, error: null });
  const lastData = useRef<T | null>(null);
  const lastPath = useRef<string | null>(null);
  const lastStart = useRef(0);

  // biome-ignore lint/correctness/useExhaustiveDependencies: refreshKey only triggers a refetch
  useEffect(() => {
    if (path === null) return;
    const newQuery = lastPath.current !== path;
    if (newQuery) {
      // A different query: old rows would lie about it.
      lastData.current = null;
      setResult({ status: 'loading', data: null, error: null });
    }
    lastPath.current = path;
    const controller = new AbortController();
    // The throttle is for live refreshes; a query a person just asked for goes out at once.
    const wait = newQuery ? 0 : Math.max(0, lastStart.current + throttleMs - Date.now());
    const timer = setTimeout(() => {
      lastStart.current = Date.now();
      getJson<T>(path, controller.signal).then(
        (data) => {
          lastData.current = data;
          setResult({ status: 'ok', data, error: null });
        },
        (err: unknown) => {
          if (controller.signal.aborted) return;
          const error = err instanceof Error ? err : new Error(String(err));
          setResult({ status: 'error', data: lastData.current, error });
        },
      );
    }, wait);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [path, refreshKey, throttleMs]);

  return result;
}
