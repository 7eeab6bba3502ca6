/**
 * Bootstrap confidence intervals from replicates (METRICS.md 3.6): percentile, basic, and the
 * bias-corrected and accelerated (BCa) interval of Efron ("Better bootstrap confidence intervals",
 * JASA 82:171-185, 1987; Efron & Tibshirani, An Introduction to the Bootstrap, 1993, eq. 14.9-14.15).
 * Quantiles interpolate linearly between order statistics (Hyndman-Fan type 7, numpy's default).
 */
import { normalCdf, normalQuantile } from "./distributions";

export type IntervalMethod = "bca" | "percentile" | "basic";
export const INTERVAL_METHODS: IntervalMethod[] = ["bca", "percentile", "basic"];

/** Type-7 quantile of ascending values; null when there are none. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * Bias correction z0 = Phi^-1((#{theta* < theta_hat} + #{theta* = theta_hat} / 2) / B').
 * Returns the share inside Phi^-1 as well (0 or 1 means BCa cannot be used).
 */
export function biasCorrection(replicates: ArrayLike<number>, estimate: number): { z0: number; share: number } {
  let below = 0;
  let equal = 0;
  for (let i = 0; i < replicates.length; i++) {
    if (replicates[i] < estimate) below++;
    else if (replicates[i] === estimate) equal++;
  }
  const share = (below + equal / 2) / replicates.length;
  return { z0: normalQuantile(share), share };
}

/**
 * Jackknife acceleration a = sum (theta_bar - theta_(i))^3 / (6 (sum (theta_bar - theta_(i))^2)^(3/2)),
 * theta_(i) the statistic with example i left out, theta_bar their mean; 0 when the denominator is 0.
 * Null values (deletions where the statistic is undefined) are left out.
 */
export function acceleration(jackknife: ArrayLike<number | null>): number {
  let n = 0;
  let sum = 0;
  for (let i = 0; i < jackknife.length; i++) {
    const v = jackknife[i];
    if (v === null || !Number.isFinite(v)) continue;
    n++;
    sum += v;
  }
  if (n === 0) return 0;
  const mean = sum / n;
  let s2 = 0;
  let s3 = 0;
  for (let i = 0; i < jackknife.length; i++) {
    const v = jackknife[i];
    if (v === null || !Number.isFinite(v)) continue;
    const d = mean - v;
    s2 += d * d;
    s3 += d * d * d;
  }
  const den = 6 * Math.pow(s2, 1.5);
  return den === 0 ? 0 : s3 / den;
}

export interface BootInterval {
  interval: [number, number] | null;
  /** The method actually used: BCa falls back to percentile when z0 is infinite. */
  method: IntervalMethod;
  /** Every replicate equals the estimate: [theta_hat, theta_hat]. */
  degenerate: boolean;
  z0?: number;
  a?: number;
}

/**
 * A 95% (or `level`) interval from usable bootstrap replicates (nulls already removed).
 * BCa needs the jackknife values; for z = Phi^-1((1 -+ level) / 2) it takes the replicates' quantiles
 * at Phi(z0 + (z0 + z) / (1 - a (z0 + z))). Basic: [2 theta_hat - q(0.975), 2 theta_hat - q(0.025)].
 * @returns interval null when there are no replicates.
 */
export function bootstrapInterval(
  replicates: ArrayLike<number>,
  estimate: number,
  o: { method: IntervalMethod; jackknife?: ArrayLike<number | null>; level?: number },
): BootInterval {
  const level = o.level ?? 0.95;
  const n = replicates.length;
  if (n === 0) return { interval: null, method: o.method, degenerate: false };
  const sorted = Float64Array.from(replicates).sort();
  if (sorted[0] === estimate && sorted[n - 1] === estimate) return { interval: [estimate, estimate], method: o.method, degenerate: true };
  const lo = (1 - level) / 2;
  const q = (p: number) => quantileSorted(sorted, p) as number;
  if (o.method === "basic") return { interval: [2 * estimate - q(1 - lo), 2 * estimate - q(lo)], method: "basic", degenerate: false };
  if (o.method === "bca") {
    const { z0, share } = biasCorrection(sorted, estimate);
    if (share > 0 && share < 1) {
      const a = o.jackknife ? acceleration(o.jackknife) : 0;
      const adj = (z: number) => normalCdf(z0 + (z0 + z) / (1 - a * (z0 + z)));
      const l1 = adj(normalQuantile(lo));
      const l2 = adj(normalQuantile(1 - lo));
      return { interval: [q(l1), q(l2)], method: "bca", degenerate: false, z0, a };
    }
  }
  return { interval: [q(lo), q(1 - lo)], method: "percentile", degenerate: false };
}
