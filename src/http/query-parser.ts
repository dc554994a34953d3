import querystring from 'node:querystring';

/** Set on a parsed query whose text held an escape that is not UTF-8 percent-encoding (`%zz`, `%ff`). */
export const MALFORMED_QUERY = Symbol('malformed query');

/**
 * The query string parser of every app: `a=1&a=2` as arrays, `+` as a space, as before — and an
 * escape that does not decode (`%zz`, a lone `%ff`) marks the query (`MALFORMED_QUERY`, answered
 * 400 `bad_url` as the same bytes in the path are) instead of being taken literally, which made
 * `q=%ff` a filter that silently matched nothing.
 */
export function parseQueryString(text: string): Record<string | symbol, unknown> {
  let malformed = false;
  const parsed = querystring.parse(text, '&', '=', {
    maxKeys: 0,
    decodeURIComponent(s: string) {
      try {
        return decodeURIComponent(s);
      } catch {
        malformed = true;
        return s;
      }
    },
  });
  const query = parsed as Record<string | symbol, unknown>;
  if (malformed) query[MALFORMED_QUERY] = true;
  return query;
}
