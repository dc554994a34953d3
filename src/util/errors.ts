/**
 * Errors with a stable `code` and the context that explains them. A `UsageError` is a mistake by
 * the person at the keyboard (bad flag, bad path): the CLI prints its one-line message and exits 2.
 * Anything else is a bug or an environment failure and prints its stack.
 */
export class DashboardError extends Error {
  readonly code: string;
  readonly context: Record<string, unknown>;

  constructor(code: string, message: string, context: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DashboardError';
    this.code = code;
    this.context = context;
  }
}

/** A user mistake: one line on stderr, exit code 2. */
export class UsageError extends DashboardError {
  constructor(code: string, message: string, context: Record<string, unknown> = {}) {
    super(code, message, context);
    this.name = 'UsageError';
  }
}

/** Exit code for usage errors (bad flags, bad paths). */
export const EXIT_USAGE = 2;

/** Message of any thrown value, for logs. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The `code` of a Node system error (`ENOENT`, `EACCES`, ...), if it has one. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
