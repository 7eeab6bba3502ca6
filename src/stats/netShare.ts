/**
 * Net share of an update (METRICS.md 3.4), the default for comparisons and sentences.
 * D = sum over used positions of delta(p) (the net change); net share(p) = delta(p) / D (negative
 * where a position moved against the net direction); net early share N_k = sum over p < k of
 * delta(p) / D; z50 and z90 are the interpolated depths of the cumulative net share. Every net
 * statistic is null when D = 0. Unlike the absolute share (updateMass.ts), noise at unchanged
 * positions adds no bias to numerator or denominator, only variance (the ratio keeps an O(1/N) bias).
 */
import { interpolatedDepth } from "./interpolatedDepth";

export interface NetShare {
  /** Used positions (0-based), ascending. */
  positions: number[];
  /** D, the sum of delta over the used positions (metric units, e.g. nats). */
  netChange: number;
  /** delta(p) / D per used position; null when D = 0. */
  shares: Array<number | null>;
  /** N_k; null when D = 0 or no position is used. */
  netEarlyShare: number | null;
  z50: number | null;
  z90: number | null;
  /** max C(p): above 1.02 it is reported beside the depths (positions moved against the net direction). */
  maxCumulative: number | null;
  k: number;
}

/**
 * Net share of an update profile given as ascending used positions and their deltas.
 * @example netShare([0, 1, 2], [-1.5, -0.1, 0], 5) // netChange -1.6, netEarlyShare 1, z50 0.5333, z90 0.96
 */
export function netShare(positions: ArrayLike<number>, deltas: ArrayLike<number>, k = 5): NetShare {
  const pos = Array.from(positions);
  let D = 0;
  for (let i = 0; i < deltas.length; i++) D += deltas[i];
  if (D === 0 || pos.length === 0)
    return { positions: pos, netChange: D, shares: pos.map(() => null), netEarlyShare: null, z50: null, z90: null, maxCumulative: null, k };
  const shares = Array.from(deltas, (d) => d / D);
  let early = 0;
  for (let i = 0; i < pos.length; i++) if (pos[i] < k) early += shares[i];
  const d = Array.from(deltas);
  const z50 = interpolatedDepth(pos, d, 0.5);
  const z90 = interpolatedDepth(pos, d, 0.9);
  return { positions: pos, netChange: D, shares, netEarlyShare: early, z50: z50.depth, z90: z90.depth, maxCumulative: z90.maxCumulative, k };
}
