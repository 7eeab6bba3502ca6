/**
 * The check of the first-order approximation (METRICS 7) per recipe, probe set and step: the
 * median, smallest and largest Pearson r, ratio of sums and relative L2 error over the recipe's
 * seeds, and how many seeds the check calls poor (relative L2 error above `poorAbove`, or no
 * measured change). A table that says where the first-order picture holds and where it fails.
 */
import type { ApproximationCheckRow } from "./approximationCheck";

/** Median, smallest and largest value over the seeds with a value (null when none has one), and how many have none. */
export interface SeedSpread {
  median: number | null;
  min: number | null;
  max: number | null;
  n_null: number;
}

export interface ApproximationRecipeRow {
  recipe: string;
  split: string;
  step: number;
  /** Checked runs (seeds). */
  runs: number;
  pearson_r: SeedSpread;
  ratio_of_sums: SeedSpread;
  relative_l2_error: SeedSpread;
  /** Seeds whose relative L2 error is above `poorAbove` or undefined (no measured change). */
  poor: number;
}

export interface ApproximationByRecipeOptions {
  /** Relative L2 error above which a check is poor (default 0.5, as the summary's warning). */
  poorAbove?: number;
}

/** Median of the non-null values (mean of the middle two for an even count). */
function spread(xs: ReadonlyArray<number | null>): SeedSpread {
  const v = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  const n = v.length;
  if (!n) return { median: null, min: null, max: null, n_null: xs.length };
  const median = n % 2 ? v[n >> 1] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return { median, min: v[0], max: v[n - 1], n_null: xs.length - n };
}

/**
 * Groups the check rows by recipe, probe set and step (sorted so).
 * @param runs run -> recipe, e.g. `dynamicsSummary(logs).runs`; a run not listed is its own recipe
 * @example approximationByRecipe(s.approximation, s.runs).filter((r) => r.poor > r.runs / 2)
 */
export function approximationByRecipe(rows: readonly ApproximationCheckRow[], runs: ReadonlyArray<{ run: string; recipe: string }>, opts: ApproximationByRecipeOptions = {}): ApproximationRecipeRow[] {
  const poorAbove = opts.poorAbove ?? 0.5;
  const recipeOf = new Map(runs.map((r) => [r.run, r.recipe]));
  const groups = new Map<string, ApproximationCheckRow[]>();
  for (const r of rows) {
    const key = JSON.stringify([recipeOf.get(r.run) ?? r.run, r.split, r.step]);
    const g = groups.get(key) ?? [];
    g.push(r);
    groups.set(key, g);
  }
  const out: ApproximationRecipeRow[] = [...groups].map(([key, g]) => {
    const [recipe, split, step] = JSON.parse(key) as [string, string, number];
    return {
      recipe,
      split,
      step,
      runs: g.length,
      pearson_r: spread(g.map((r) => r.pearson_r)),
      ratio_of_sums: spread(g.map((r) => r.ratio_of_sums)),
      relative_l2_error: spread(g.map((r) => r.relative_l2_error)),
      poor: g.filter((r) => r.relative_l2_error === null || r.relative_l2_error > poorAbove).length,
    };
  });
  const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return out.sort((a, b) => byText(a.recipe, b.recipe) || byText(a.split, b.split) || a.step - b.step);
}
