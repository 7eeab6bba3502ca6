/**
 * Interpolated depth of a signed profile (METRICS 3.4), on any position axis (probe positions, or
 * training positions for the source profile). With D = sum of the values, C(p) = sum over q <= p of
 * value(q) / D and C(-1) = 0: z_alpha = p + (alpha - C(p-1)) / (C(p) - C(p-1)) at the first p with
 * C(p) >= alpha (even if C later falls back), a real number in (p, p + 1].
 */

export interface InterpolatedDepth {
  /** z_alpha in positions (continuous), null when D = 0. */
  depth: number | null;
  /** max over p of C(p); reported beside the depth when above 1.02 (counter-movement). */
  maxCumulative: number | null;
}

/**
 * @param positions 0-based positions, ascending (unused positions in between contribute 0).
 * @param values the profile's value at each position.
 * @param alpha in (0, 1], e.g. 0.5 for z50.
 * @example interpolatedDepth([0, 1, 2], [2, 1, 1], 0.5) // { depth: 1, maxCumulative: 1 }: C(0) = 0.5
 */
export function interpolatedDepth(positions: readonly number[], values: readonly number[], alpha: number): InterpolatedDepth {
  if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`alpha must be in (0, 1], got ${alpha}`);
  let d = 0;
  for (const v of values) d += v;
  if (d === 0 || positions.length === 0) return { depth: null, maxCumulative: null };
  let cum = 0;
  let maxC = -Infinity;
  let depth: number | null = null;
  for (let i = 0; i < positions.length; i++) {
    const prev = cum / d;
    cum += values[i];
    // The last position reaches C = 1 exactly; rounding may leave it a hair short.
    const c = i === positions.length - 1 ? Math.max(cum / d, 1) : cum / d;
    maxC = Math.max(maxC, cum / d);
    if (depth === null && c >= alpha) depth = positions[i] + (alpha - prev) / (c - prev);
  }
  return { depth, maxCumulative: maxC };
}
