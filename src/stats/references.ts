/**
 * References shown beside every net early share N_k (METRICS.md 3.5): what N_k would be with no
 * concentration at all (uniform), and what it would be if every position fell by the same fraction
 * of its starting level (headroom).
 */

/**
 * Uniform reference min(k, P) / P: the early share of an update spread evenly over the P used
 * positions (counted as the first P positions). Null when P = 0.
 * @example uniformEarlyShare(5, 20) // 0.25
 */
export function uniformEarlyShare(k: number, usedPositions: number): number | null {
  return usedPositions > 0 ? Math.min(k, usedPositions) / usedPositions : null;
}

/** Why a headroom reference is not defined, or null when it is. */
export type HeadroomReason = "metric has negative values" | "net change is not negative" | "starting levels sum to 0" | null;

/**
 * Headroom reference H_k = sum over p < k of mbar_a(p) / sum over p of mbar_a(p), mbar_a(p) the mean
 * at the first step over the pairs at p (ascending used positions): the net early share if every
 * position fell by the same fraction of its step-a mean. Defined only for a non-negative metric and
 * a negative net change D.
 * @example headroomEarlyShare([0, 1], [3, 1], 1, { nonNegative: true, netChange: -2 }) // { value: 0.75, reason: null }
 */
export function headroomEarlyShare(
  positions: ArrayLike<number>,
  startMeans: ArrayLike<number>,
  k: number,
  o: { nonNegative: boolean; netChange: number },
): { value: number | null; reason: HeadroomReason } {
  if (!o.nonNegative) return { value: null, reason: "metric has negative values" };
  if (!(o.netChange < 0)) return { value: null, reason: "net change is not negative" };
  let early = 0;
  let all = 0;
  for (let i = 0; i < positions.length; i++) {
    all += startMeans[i];
    if (positions[i] < k) early += startMeans[i];
  }
  if (all === 0) return { value: null, reason: "starting levels sum to 0" };
  return { value: early / all, reason: null };
}
