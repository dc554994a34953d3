export interface BackoffOptions {
  base: number;
  cap: number;
  random: () => number;
}

/**
 * Delay before reconnect attempt `attempt` (0-based): exponential, capped, with "equal jitter"
 * (half fixed, half random) so a room of wall displays does not reconnect in lockstep after a
 * server restart, yet never waits less than half the nominal delay.
 */
export function nextDelayMs(attempt: number, { base, cap, random }: BackoffOptions): number {
  const nominal = Math.min(cap, base * 2 ** Math.min(attempt, 30));
  return Math.round(nominal / 2 + random() * (nominal / 2));
}
