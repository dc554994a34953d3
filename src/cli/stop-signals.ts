/**
 * The stop signals (SIGINT, SIGTERM) of a command that serves, caught from the process's first
 * moments. Kept free of imports: `prestart.ts` catches them before the server's modules load.
 */

/** SIGINT/SIGTERM caught from the moment `catchStopSignals` ran; `first` resolves with the first. */
export interface StopSignals {
  readonly first: Promise<NodeJS.Signals>;
  /** Gives the signals back to their default action (after the shutdown, or a failed start). */
  dispose(): void;
}

/** The catcher in place (from `prestart.ts` or a command), until it is disposed. */
let current: StopSignals | null = null;

/**
 * Catches SIGINT and SIGTERM from now on (or returns the catcher already in place, with any
 * signal it caught). Called before the server starts: a signal that comes while it starts (a
 * supervisor stopping it, a test that stops it the moment it says where it serves) is a clean
 * stop once it is up, never the default action, death by the signal. `prestart.ts` calls it for
 * `serve` and `demo` before the server's modules load: when the commands first called it, ≈ 0.5 s
 * after the process began (once those modules were read), a SIGTERM before then killed the process
 * (exit 143; a review).
 */
export function catchStopSignals(): StopSignals {
  if (current) return current;
  let resolveFirst: (signal: NodeJS.Signals) => void = () => {};
  const first = new Promise<NodeJS.Signals>((resolve) => {
    resolveFirst = resolve;
  });
  // Kept until dispose(): a second signal during the shutdown is ignored (the deadline bounds it).
  const onSignal = (signal: NodeJS.Signals) => resolveFirst(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const signals: StopSignals = {
    first,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (current === signals) current = null;
    },
  };
  current = signals;
  return signals;
}
