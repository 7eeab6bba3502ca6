/**
 * Which interval and p a comparison of two recipes (replicate runs, METRICS.md 3.7) gets: the kit's
 * reading of METRICS.md 4 ("for recipes, runs are drawn per recipe as in 3.7") together with the
 * rules of 3.7. One function for every comparison (update statistics in pairedComparison.ts, attack
 * success in attacks/compare.ts), so both follow the same rule. With R_A and R_B runs:
 * - min(R_A, R_B) >= 5: "two-stage bootstrap": each replicate draws R_A runs of A and R_B runs of B
 *   with replacement and one set of example ids shared by every drawn run of both sides; the
 *   bootstrap p of METRICS.md 4 and the percentile interval.
 * - 2 <= min(R_A, R_B) < 5: "t": Delta = mean_A - mean_B (the means over runs) and
 *   Delta +/- t(df, 0.975) se with se = sqrt(s_A^2 / R_A + s_B^2 / R_B + v_ex), s the sd across a
 *   side's runs, v_ex the variance of Delta under the paired example bootstrap with the runs fixed,
 *   df = min(R_A, R_B) - 1 (conservative: fewer degrees of freedom than Welch's); p two-sided from
 *   the same t statistic Delta / se and Student's t CDF.
 * - min(R_A, R_B) = 1: "runs fixed": the paired example bootstrap with every run kept; the interval
 *   and p cover the sampling of examples only and ignore training randomness (every output says so).
 */
import { studentTCdf } from "../dynamics/studentT";
import { t975 } from "./distributions";

/** The rule a comparison of two sides with R_A and R_B runs uses. */
export type RecipeComparisonRule = "two-stage bootstrap" | "t" | "runs fixed";

/** The rule for R_A and R_B runs (see the module doc). */
export function recipeComparisonRule(runsA: number, runsB: number): RecipeComparisonRule {
  const m = Math.min(runsA, runsB);
  return m >= 5 ? "two-stage bootstrap" : m >= 2 ? "t" : "runs fixed";
}

/** One short line (under 80 characters) saying what the rule's interval and p cover, for notes and text output. */
export function recipeRuleNote(rule: RecipeComparisonRule, runsA: number, runsB: number): string {
  if (rule === "two-stage bootstrap") return `two-stage paired bootstrap: runs (R = ${runsA} and ${runsB}) and examples drawn`;
  if (rule === "t") return `t rule over runs (R = ${runsA} and ${runsB}, df ${Math.min(runsA, runsB) - 1}): se^2 = s_A^2/R_A + s_B^2/R_B + v_ex`;
  return runsA === 1 && runsB === 1
    ? "one run per side: the interval and p ignore training randomness (seeds)"
    : `R = ${runsA} and ${runsB}: runs fixed; the interval and p ignore training randomness (seeds)`;
}

export interface TDifference {
  /** Delta - and + t(df, 0.975) se. */
  ci: [number, number];
  /** Two-sided p of Delta = 0 from t = Delta / se (1 when Delta = 0 and se = 0, 0 when only se = 0). */
  p: number;
  df: number;
  se: number;
}

/**
 * The t rule for 2 <= min(R_A, R_B) < 5 (see the module doc).
 * @param delta mean over A's runs minus mean over B's runs
 * @param sdA sd across A's runs (n - 1); NaN or null counts as 0
 * @param vEx variance of Delta under the paired example bootstrap with the runs fixed
 * @example tDifference(0.4, 0.1, 3, 0.1, 3, 0) // se = sqrt(0.02 / 3) = 0.08165, df 2: 0.4 -+ 0.3513, p = 0.0392
 * @throws RangeError when min(R_A, R_B) < 2.
 */
export function tDifference(delta: number, sdA: number | null, runsA: number, sdB: number | null, runsB: number, vEx: number): TDifference {
  const df = Math.min(runsA, runsB) - 1;
  if (df < 1) throw new RangeError(`tDifference needs at least 2 runs per side, got ${runsA} and ${runsB}`);
  const sa = sdA === null || Number.isNaN(sdA) ? 0 : sdA;
  const sb = sdB === null || Number.isNaN(sdB) ? 0 : sdB;
  const se = Math.sqrt((sa * sa) / runsA + (sb * sb) / runsB + (Number.isNaN(vEx) ? 0 : vEx));
  const h = t975(df) * se;
  const p = se === 0 ? (delta === 0 ? 1 : 0) : Math.min(1, 2 * studentTCdf(-Math.abs(delta / se), df));
  return { ci: [delta - h, delta + h], p, df, se };
}

/** Sample variance (n - 1) of the non-NaN values; NaN with fewer than 2. */
export function sampleVariance(xs: ArrayLike<number>): number {
  let n = 0;
  let sum = 0;
  for (let i = 0; i < xs.length; i++) if (!Number.isNaN(xs[i])) (n++, (sum += xs[i]));
  if (n < 2) return NaN;
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < xs.length; i++) if (!Number.isNaN(xs[i])) ss += (xs[i] - mean) ** 2;
  return ss / (n - 1);
}
