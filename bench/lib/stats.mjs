/** Small statistics and formatting helpers for the benchmark runner. */

export function median(xs) {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Nearest-rank percentile (p in 0..100) of an unsorted list. */
export function percentile(xs, p) {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[rank];
}

/** "median (min..max)" with a fixed number of decimals; one value prints alone. */
export function spread(xs, digits = 3) {
  if (xs.length === 0) return '-';
  const m = median(xs).toFixed(digits);
  if (xs.length === 1) return m;
  return `${m} (${Math.min(...xs).toFixed(digits)}..${Math.max(...xs).toFixed(digits)})`;
}

export function ratio(a, b, digits = 1) {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '-';
  return `${(a / b).toFixed(digits)}×`;
}

export function mib(bytes) {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function ms(seconds, digits = 1) {
  return `${(seconds * 1000).toFixed(digits)} ms`;
}
