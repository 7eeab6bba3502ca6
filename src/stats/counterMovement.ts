/**
 * Counter-movement R (METRICS.md 3.4): how much of an update moved against its net direction.
 * Pos = sum of max(0, delta(p)), Neg = sum of max(0, -delta(p)), R = min(Pos, Neg) / (Pos + Neg),
 * in [0, 0.5], null when Pos + Neg = 0. Noise alone gives E|delta| = se sqrt(2/pi) per unchanged
 * position, about half of it on each side; R is warned about when R > 0.1 and
 * min(Pos, Neg) > 2 sum over p of se(p) / sqrt(2 pi) (twice what noise alone gives).
 * A position with one pair has no se (n < 2): it is left out of the noise term, and counted
 * (`noNoise`), so the threshold is a lower bound of the noise then; with no se at all the noise
 * is unknown (null), never taken as 0.
 */

export interface CounterMovement {
  /** R in [0, 0.5]; null when every delta is 0. */
  r: number | null;
  pos: number;
  neg: number;
  /** 2 sum se(p) / sqrt(2 pi) over the positions with an se; null when no position has one. */
  noiseThreshold: number | null;
  /** Positions without an se (fewer than 2 pairs): left out of the noise term. */
  noNoise: number;
  /**
   * True when R > 0.1 and min(Pos, Neg) exceeds the noise threshold; with the noise unknown (no
   * position has an se), R > 0.1 alone.
   */
  warn: boolean;
}

/** Warn above this R (METRICS.md 3.4). */
export const COUNTER_MOVEMENT_WARN = 0.1;

/**
 * Counter-movement of the deltas of the used positions; `se` the standard errors of those deltas
 * (null where n < 2: that position is left out of the noise term and counted in `noNoise`).
 * @example counterMovement([1, -0.5, 0.5], [0.1, 0.1, 0.1]) // r 0.25, warn (0.5 > 0.2 * 3 / sqrt(2 pi))
 */
export function counterMovement(deltas: ArrayLike<number>, se: ArrayLike<number | null>): CounterMovement {
  let pos = 0;
  let neg = 0;
  let seSum = 0;
  let noNoise = 0;
  for (let i = 0; i < deltas.length; i++) {
    const d = deltas[i];
    if (d > 0) pos += d;
    else neg -= d;
    const s = se[i];
    if (s === null || s === undefined) noNoise++;
    else seSum += s;
  }
  const total = pos + neg;
  const r = total === 0 ? null : Math.min(pos, neg) / total;
  const noiseThreshold = noNoise < deltas.length ? (2 * seSum) / Math.sqrt(2 * Math.PI) : null;
  const warn = r !== null && r > COUNTER_MOVEMENT_WARN && (noiseThreshold === null || Math.min(pos, neg) > noiseThreshold);
  return { r, pos, neg, noiseThreshold, noNoise, warn };
}

/** The warning text of a counter-movement that `warn`s (without the run label). */
export function counterMovementWarning(c: CounterMovement, fmt: (x: number) => string): string {
  const moved = `counter-movement R = ${fmt(c.r!)}: ${fmt(Math.min(c.pos, c.neg))} of the change moved against the net direction`;
  const left = c.noNoise > 0 ? `; ${c.noNoise} position${c.noNoise === 1 ? "" : "s"} with fewer than 2 pairs (no se) left out of the noise term` : "";
  const noise =
    c.noiseThreshold === null
      ? `; the noise level is unknown (no position has 2 pairs)`
      : `, more than twice what noise gives (${fmt(c.noiseThreshold)})${left}`;
  return `${moved}${noise}; read the net share with the update profile`;
}
