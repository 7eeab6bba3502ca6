/**
 * Interpolated depth z_alpha (METRICS.md 3.4): the leading positions, counted continuously, that
 * carry the fraction alpha of a share that sums to 1 over the used positions (the net share, or a
 * level share). Positions are 0-based token positions; a position that is not used contributes 0.
 */

export interface InterpolatedDepth {
  /** z_alpha, a real number in (p, p + 1] for the first position p whose cumulative share reaches alpha. */
  depth: number | null;
  /** max over positions of the cumulative share C(p); reported beside z_alpha when it exceeds 1.02. */
  maxCumulative: number | null;
}

/**
 * z_alpha from ascending used positions and their shares (summing to 1). C(p) is the cumulative
 * share up to and including p, C(-1) = 0 (and C is flat over unused positions). The first p with
 * C(p) >= alpha is taken even if C later falls below alpha again; z_alpha = p + (alpha - C(p-1)) /
 * (C(p) - C(p-1)).
 * @example interpolatedDepth([0, 1, 2], [0.9375, 0.0625, 0], 0.5).depth // 0.5333...
 * @returns depth null when the shares are null or empty.
 */
export function interpolatedDepth(positions: ArrayLike<number>, shares: ArrayLike<number | null>, alpha: number): InterpolatedDepth {
  if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`interpolatedDepth: alpha must be in (0, 1], got ${alpha}`);
  let cum = 0;
  let max = -Infinity;
  let depth: number | null = null;
  for (let i = 0; i < positions.length; i++) {
    const s = shares[i];
    if (s === null) return { depth: null, maxCumulative: null };
    const prev = cum;
    cum += s;
    if (cum > max) max = cum;
    // 1e-12: a cumulative sum that should be exactly 1 may fall short by rounding.
    if (depth === null && cum >= alpha - 1e-12) depth = positions[i] + Math.min(1, (alpha - prev) / (cum - prev));
  }
  if (positions.length === 0) return { depth: null, maxCumulative: null };
  return { depth, maxCumulative: max };
}
