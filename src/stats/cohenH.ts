/**
 * Cohen's h, the effect size of a difference between two proportions on the arcsine scale (Cohen,
 * Statistical Power Analysis for the Behavioral Sciences, 2nd ed., 1988, section 6.2; METRICS.md 4).
 */

/**
 * h = 2 asin(sqrt(pA)) - 2 asin(sqrt(pB)), in [-pi, pi]; by Cohen's convention |h| of 0.2, 0.5 and
 * 0.8 are small, medium and large.
 * @example cohenH(0.5, 0) // 2 asin(sqrt(0.5)) = pi / 2
 * @throws RangeError when a proportion is outside [0, 1].
 */
export function cohenH(pA: number, pB: number): number {
  for (const p of [pA, pB]) if (!(p >= 0 && p <= 1)) throw new RangeError(`cohenH: proportion ${p} is not in [0, 1]`);
  return 2 * Math.asin(Math.sqrt(pA)) - 2 * Math.asin(Math.sqrt(pB));
}
