import type { AlertActionPost } from '../../../protocol/alerts.js';
import type { AlertAction, ApiError } from '../../../protocol/index.js';

const NAME_KEY = 'cis490.operatorName';
const TOKEN_KEY = 'cis490.operatorToken';

/** Who the operator said they are and their token, remembered for this tab only. */
export function rememberedOperator(): { by: string; token: string } {
  return {
    by: globalThis.sessionStorage?.getItem(NAME_KEY) ?? '',
    token: globalThis.sessionStorage?.getItem(TOKEN_KEY) ?? '',
  };
}

function remember(by: string, token: string): void {
  globalThis.sessionStorage?.setItem(NAME_KEY, by);
  globalThis.sessionStorage?.setItem(TOKEN_KEY, token);
}

async function failure(res: Response): Promise<Error> {
  try {
    const body = (await res.json()) as Partial<ApiError>;
    if (body.error) return new Error(body.error.message);
  } catch {
    // not JSON
  }
  return new Error(`${res.status} ${res.statusText}`);
}

/** Acknowledges or silences a group with the operator token (`POST /api/alerts/actions`). */
export async function postAlertAction(post: AlertActionPost, token: string): Promise<AlertAction> {
  const res = await fetch('/api/alerts/actions', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(post),
  });
  if (!res.ok) throw await failure(res);
  remember(post.by, token);
  return (await res.json()) as AlertAction;
}

/** Takes an acknowledgement or silence back (a replica's group names its receiver). */
export async function clearAlertAction(
  dedupKey: string,
  receiver: string | undefined,
  token: string,
): Promise<void> {
  const query = new URLSearchParams({ dedup_key: dedupKey, ...(receiver === undefined ? {} : { receiver }) });
  const res = await fetch(`/api/alerts/actions?${query}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${token}` },
  });
  if (!res.ok) throw await failure(res);
}
