/**
 * The Wilson score interval of a binomial proportion (Wilson, "Probable inference, the law of
 * succession, and statistical inference", JASA 22:209-212, 1927; METRICS.md 4).
 */

/** z for a two-sided 95% interval: Phi^-1(0.975), the 0.975 quantile of the standard normal. */
export const Z95 = 1.959963984540054;

/** A closed interval [lower, upper]. */
export type Interval = [number, number];

/**
 * The Wilson score interval of x / n (x successes of n trials); null when n = 0.
 * With p = x / n: centre (p + z^2 / 2n) / (1 + z^2 / n), half-width
 * z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / 4n^2). At x = 0 the lower bound is exactly 0, at
 * x = n the upper bound is exactly 1.
 * @example wilson(3, 10) // [0.1078, 0.6032]
 */
export function wilson(x: number, n: number, z = Z95): Interval | null {
  if (n <= 0) return null;
  const p = x / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // At p = 0 or 1 the bound is exactly 0 or 1; rounding must not push it past.
  return [x === 0 ? 0 : Math.max(0, center - half), x === n ? 1 : Math.min(1, center + half)];
}
