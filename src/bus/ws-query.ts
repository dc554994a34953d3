/**
 * What a `/ws` connection asks for, read from its URL query: nothing (a fresh hello) or a resume
 * from `?since=SEQ&epoch=E`.
 *
 * A malformed `since` is answered with a fresh hello marked `reset`, not an HTTP 400: a browser's
 * WebSocket cannot see the status of a refused upgrade, so a client with a corrupt cursor would
 * only see a failed connection and retry forever; a reset hello repairs it in one round trip.
 */
export type WsRequest =
  | { kind: 'fresh' }
  | { kind: 'resume'; since: number; epoch: string | undefined }
  | { kind: 'malformed'; reason: string };

/** Longest epoch we accept; ours are ~21 characters. */
const MAX_EPOCH_LENGTH = 128;

export function parseWsRequest(url: string | undefined): WsRequest {
  const parsed = parseUrl(url);
  if (parsed === null) return { kind: 'malformed', reason: 'unparseable URL' };
  const query = parsed.searchParams;
  const since = query.get('since');
  if (since === null) return { kind: 'fresh' };
  // Digits only: Number() would accept '', ' 1', '1e3', '0x10'.
  if (!/^\d{1,15}$/.test(since)) return { kind: 'malformed', reason: 'since must be a non-negative integer' };
  const epoch = query.get('epoch') ?? undefined;
  if (epoch !== undefined && epoch.length > MAX_EPOCH_LENGTH) {
    return { kind: 'malformed', reason: 'epoch too long' };
  }
  return { kind: 'resume', since: Number(since), epoch };
}

/** The path of a request URL without its query; null when the URL does not parse. */
export function requestPath(url: string | undefined): string | null {
  return parseUrl(url)?.pathname ?? null;
}

function parseUrl(url: string | undefined): URL | null {
  try {
    return new URL(url ?? '/', 'http://localhost');
  } catch {
    return null;
  }
}
