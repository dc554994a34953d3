/**
 * `pending`'s answer, or `timedOut()` thrown once `ms` passed without one. `pending` itself goes
 * on (a command waiting in a Redis client's queue cannot be taken back): a late failure of it is
 * nobody's, and is not reported as unhandled.
 */
export async function within<T>(pending: Promise<T>, ms: number, timedOut: () => Error): Promise<T> {
  pending.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut()), ms);
  });
  try {
    return await Promise.race([pending, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
