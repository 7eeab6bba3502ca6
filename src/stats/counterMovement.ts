/**
 * Counter-movement R (METRICS.md 3.4): how much of an update moved against its net direction.
 * Pos = sum of max(0, delta(p)), Neg = sum of max(0, -delta(p)), R = min(Pos, Neg) / (Pos + Neg),
 * in [0, 0.5], null when Pos + Neg = 0. Noise alone gives E|delta| = se sqrt(2/pi) per unchanged
 * position, about half of it on each side; R is warned about when R > 0.1 and
 * min(Pos, Neg) > 2 sum over p of se(p) / sqrt(2 pi) (twice what noise alone gives).
 */

export interface CounterMovement {
  /** R in [0, 0.5]; null when every delta is 0. */
  r: number | null;
  pos: number;
  neg: number;
  /** 2 sum se(p) / sqrt(2 pi); null when some used position has no se (fewer than 2 pairs). */
  noiseThreshold: number | null;
  /** True when R > 0.1 and min(Pos, Neg) exceeds the noise threshold (see above). */
  warn: boolean;
}

/** Warn above this R (METRICS.md 3.4). */
export const COUNTER_MOVEMENT_WARN = 0.1;

/**
 * Counter-movement of the deltas of the used positions; `se` the standard errors of those deltas
 * (null where n < 2: then the noise threshold is unknown and taken as 0, so R > 0.1 alone warns).
 * @example counterMovement([1, -0.5, 0.5], [0.1, 0.1, 0.1]) // r 0.25, warn (0.5 > 0.2 * 3 / sqrt(2 pi))
 */
export function counterMovement(deltas: ArrayLike<number>, se: ArrayLike<number | null>): CounterMovement {
  let pos = 0;
  let neg = 0;
  let seSum = 0;
  let seKnown = true;
  for (let i = 0; i < deltas.length; i++) {
    const d = deltas[i];
    if (d > 0) pos += d;
    else neg -= d;
    const s = se[i];
    if (s === null || s === undefined) seKnown = false;
    else seSum += s;
  }
  const total = pos + neg;
  const r = total === 0 ? null : Math.min(pos, neg) / total;
  const noiseThreshold = seKnown ? (2 * seSum) / Math.sqrt(2 * Math.PI) : null;
  const warn = r !== null && r > COUNTER_MOVEMENT_WARN && Math.min(pos, neg) > (noiseThreshold ?? 0);
  return { r, pos, neg, noiseThreshold, warn };
}
