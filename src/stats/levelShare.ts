/**
 * Level share of a non-negative metric at one checkpoint (METRICS.md 3.5), e.g. the KL of the
 * model's next-token distribution from the base model's, by position (Qi et al.'s view of shallow
 * alignment): mu(p) = the position profile's mean over the used positions (n >= min_pairs);
 * L_k = sum over p < k of mu(p) / sum over p of mu(p), null when that sum is 0; depths z50, z90
 * interpolated as for the net share.
 */
import { interpolatedDepth } from "./interpolatedDepth";

export interface LevelShare {
  positions: number[];
  /** L_k; null when the levels sum to 0. */
  levelEarlyShare: number | null;
  z50: number | null;
  z90: number | null;
  total: number;
  k: number;
}

/**
 * Level share from ascending used positions and their mean levels mu(p) (all >= 0).
 * @example levelShare([0, 1, 2, 3], [4, 2, 1, 1], 2).levelEarlyShare // 0.75
 */
export function levelShare(positions: ArrayLike<number>, means: ArrayLike<number>, k = 5): LevelShare {
  const pos = Array.from(positions);
  let total = 0;
  let early = 0;
  for (let i = 0; i < pos.length; i++) {
    total += means[i];
    if (pos[i] < k) early += means[i];
  }
  if (total === 0 || pos.length === 0) return { positions: pos, levelEarlyShare: null, z50: null, z90: null, total, k };
  const mu = Array.from(means);
  return { positions: pos, levelEarlyShare: early / total, z50: interpolatedDepth(pos, mu, 0.5).depth, z90: interpolatedDepth(pos, mu, 0.9).depth, total, k };
}

/** Relative tolerance for float noise: values below -NEGATIVE_TOLERANCE * max|m| refuse the level share. */
export const NEGATIVE_TOLERANCE = 1e-6;

/**
 * Checks the token values of a metric for a level share: values in [-1e-6 max|m|, 0) are float noise,
 * counted and set to 0 (in place); a value below that refuses the level share.
 * @returns the number of small negative values set to 0, and `refused` with the most negative value.
 */
export function clampLevelValues(values: Float64Array): { clamped: number; refused: null | { min: number; count: number } } {
  let maxAbs = 0;
  for (let i = 0; i < values.length; i++) maxAbs = Math.max(maxAbs, Math.abs(values[i]));
  const tol = NEGATIVE_TOLERANCE * maxAbs;
  let clamped = 0;
  let bad = 0;
  let min = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v >= 0) continue;
    if (v < -tol) {
      bad++;
      min = Math.min(min, v);
    } else {
      clamped++;
      values[i] = 0;
    }
  }
  return { clamped, refused: bad > 0 ? { min, count: bad } : null };
}
