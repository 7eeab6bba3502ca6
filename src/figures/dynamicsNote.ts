/**
 * The note every learning-dynamics figure carries (METRICS 7: what the influence leaves out is said
 * wherever it is shown), optionally with the check of the first-order approximation.
 */
import type { ApproximationCheckRow } from "../dynamics/approximationCheck";

/** The short form of `LEFT_OUT_WARNING`, for a figure. */
export const LEFT_OUT_NOTE = "first order: leaves out momentum, decoupled weight decay and (unless applied) gradient clipping";

/** A relative error in percent; below 1% with two significant digits. */
export function percentFine(x: number | null): string {
  if (x === null) return "n/a";
  return Math.abs(x) > 0 && Math.abs(x) < 0.01 ? `${(100 * x).toPrecision(2)}%` : `${(100 * x).toFixed(0)}%`;
}

/** "check: r 0.98, ratio of sums 1.01, relative error 4%", or that the step was not checked. */
export function checkText(row: ApproximationCheckRow | undefined): string {
  if (!row) return "not checked (no probe-change log for this step)";
  const f = (x: number | null) => (x === null ? "n/a" : x.toFixed(2));
  return `check: r ${f(row.pearson_r)}, ratio of sums ${f(row.ratio_of_sums)}, relative error ${percentFine(row.relative_l2_error)}`;
}

/** A small grey line under the title (paper coordinates). */
export function noteAnnotation(text: string): Record<string, unknown> {
  return { text, xref: "paper", yref: "paper", x: 0, y: 1.01, xanchor: "left", yanchor: "bottom", showarrow: false, font: { size: 10, color: "#666" } };
}
