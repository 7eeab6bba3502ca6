/**
 * Sentences about learning dynamics, computed from `dynamicsSummary` (for notebooks, the report
 * and the CLI), so that no number is typed in by hand beside a figure.
 */
import { pct } from "../describe";
import { percentFine } from "../figures/dynamicsNote";
import type { ApproximationCheckRow } from "./approximationCheck";
import type { RecipeContrastRow } from "./recipeContrast";
import type { ApproximationRecipeRow } from "./approximationByRecipe";
import type { SeedInterval } from "./seedInterval";
import type { DynamicsSummary, RecipeInfluenceRow, RecipeTrainGradientRow } from "./summary";

const num = (x: number) => x.toFixed(2);
/** Percentages below 1% keep two significant digits (a good first-order check has errors of 0.1%). */
const pctFine = (x: number) => percentFine(x);

/** "60% (95% CI across 2 seeds -67% to 187%)", or the one-seed caveat. */
function withInterval(iv: SeedInterval, f: (x: number) => string): string {
  if (iv.mean === null) return "n/a";
  if (iv.ci) return `${f(iv.mean)} (95% CI across ${iv.runs} seeds ${f(iv.ci[0])} to ${f(iv.ci[1])}${iv.ci_clipped ? ", clipped to the share's range" : ""})`;
  return `${f(iv.mean)} (one seed: no interval; it ignores training randomness)`;
}

/** The last step of each (recipe, split) where the recipe's S_k is defined. */
function lastRows<T extends { recipe: string; step: number }>(rows: readonly T[], key: (r: T) => string, ok: (r: T) => boolean): T[] {
  const out = new Map<string, T>();
  for (const r of rows) {
    if (!ok(r)) continue;
    const k = key(r);
    const had = out.get(k);
    if (!had || r.step > had.step) out.set(k, r);
  }
  return [...out.values()];
}

/**
 * One sentence per recipe and probe set, at the recipe's last step with a defined S_k: how much of
 * the first-order change comes from training positions < k, beside the token share, with X_k and
 * the check of the first-order approximation at that step.
 */
export function describeSourceEarlyShare(s: Pick<DynamicsSummary, "recipes" | "k" | "influence">): string[] {
  const k = s.k;
  const check = (r: RecipeInfluenceRow) => {
    const runs = s.influence.filter((x) => x.recipe === r.recipe && x.split === r.split && x.step === r.step);
    const errs = runs.map((x) => x.check_relative_l2_error).filter((x): x is number => x !== null);
    if (errs.length === 0) return " The first-order approximation is not checked at this step (no probe-change log).";
    const range = errs.length === 1 ? pctFine(errs[0]) : `${pctFine(Math.min(...errs))} to ${pctFine(Math.max(...errs))}`;
    return ` First-order check at this step: relative error ${range} (${errs.length} of ${runs.length} run${runs.length === 1 ? "" : "s"} checked).`;
  };
  return lastRows<RecipeInfluenceRow>(s.recipes, (r) => JSON.stringify([r.recipe, r.split]), (r) => r.source_early_share.mean !== null).map((r) => {
    const ref = r.token_share.mean !== null ? `, against ${pct(r.token_share.mean)} of the training tokens` : " (no training-gradient log for the token-share reference)";
    const depth = r.source_z50.mean !== null ? `; half of it comes from the first ${num(r.source_z50.mean)} training positions` : "";
    const cross =
      r.cross_influence.mean !== null
        ? ` Of the change at probe positions >= ${k}, training positions < ${k} cause ${withInterval(r.cross_influence, pct)} (X${k}).`
        : ` X${k} is undefined here (no net first-order change at probe positions >= ${k}).`;
    return `${r.recipe}, ${r.split} probes, step ${r.step}: training positions < ${k} cause ${withInterval(r.source_early_share, pct)} of the first-order change of the probe losses (S${k})${ref}${depth}.${cross}${check(r)}`;
  });
}

/** One sentence per recipe at its last step: how concentrated the training gradient's norm is. */
export function describeTrainGradient(s: Pick<DynamicsSummary, "recipe_train_gradient" | "k">): string[] {
  const k = s.k;
  return lastRows<RecipeTrainGradientRow>(s.recipe_train_gradient, (r) => r.recipe, (r) => r.level_early_share.mean !== null).map(
    (r) => `${r.recipe}, step ${r.step}: training positions < ${k} carry ${withInterval(r.level_early_share, pct)} of the summed per-position gradient norms g(q)${r.level_z50.mean !== null ? `; half lies in the first ${num(r.level_z50.mean)} positions` : ""}.`,
  );
}

/** One sentence on the check of the first-order approximation over all checked (run, step, probe set). */
export function describeApproximation(rows: readonly ApproximationCheckRow[]): string {
  if (rows.length === 0) return "The first-order approximation was not checked: no probe-change log matches the influence logs.";
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  };
  const part = (name: string, xs: Array<number | null>, f: (x: number) => string) => {
    const v = xs.filter((x): x is number => x !== null);
    return v.length ? `${name} median ${f(median(v))} (${f(Math.min(...v))} to ${f(Math.max(...v))})` : `${name} undefined`;
  };
  return (
    `First-order check over ${rows.length} (run, step, probe set) combination${rows.length === 1 ? "" : "s"}: ` +
    `${part("Pearson r between predicted and measured change across positions", rows.map((r) => r.pearson_r), num)}; ` +
    `${part("ratio of sums", rows.map((r) => r.ratio_of_sums), num)}; ` +
    `${part("relative L2 error", rows.map((r) => r.relative_l2_error), pctFine)}.`
  );
}

/**
 * Sentences on a recipe contrast (`recipeContrast`), one per probe set: the difference at the last
 * step where both recipes have a value, with its interval and p across seeds, and at how many of
 * the logged steps the interval excludes 0, in which direction. Percentages are of the statistic
 * (S_k, X_k, token share: "points" of a share); depths are in positions.
 */
export function describeRecipeContrast(rows: readonly RecipeContrastRow[], opts: { k?: number } = {}): string[] {
  const k = opts.k ?? 5;
  const label: Record<string, string> = { source_early_share: `S${k}`, cross_influence: `X${k}`, token_share: "the token share", source_z50: "the source depth z50", source_z90: "the source depth z90" };
  const share = (st: string) => st !== "source_z50" && st !== "source_z90";
  const out: string[] = [];
  for (const split of [...new Set(rows.map((r) => r.split))]) {
    const mine = rows.filter((r) => r.split === split && r.delta !== null).sort((a, b) => a.step - b.step);
    if (!mine.length) continue;
    const r = mine[mine.length - 1];
    const isShare = share(r.statistic);
    const f = isShare ? pct : num;
    const points = (x: number) => `${x >= 0 ? "+" : ""}${(100 * x).toFixed(0)} point${Math.abs(Number((100 * x).toFixed(0))) === 1 ? "" : "s"}`;
    const d = (x: number) => (isShare ? points(x) : `${x >= 0 ? "+" : ""}${num(x)} positions`);
    const iv = r.ci ? ` (95% CI ${d(r.ci[0])} to ${d(r.ci[1])}, p ${pvalue(r.p as number)}; ${r.note})` : ` (${r.note})`;
    let sentence = `${label[r.statistic]} on the ${split} probes, step ${r.step}: ${r.a} ${f(r.mean_a as number)} (${r.runs_a} seed${r.runs_a === 1 ? "" : "s"}) against ${r.b} ${f(r.mean_b as number)} (${r.runs_b} seed${r.runs_b === 1 ? "" : "s"}), a difference of ${d(r.delta as number)}${iv}.`;
    const tested = mine.filter((x) => x.ci !== null);
    if (tested.length > 1) {
      const above = tested.filter((x) => x.ci![0] > 0).length;
      const below = tested.filter((x) => x.ci![1] < 0).length;
      sentence += ` Over the ${tested.length} logged steps, the interval lies above 0 at ${above} and below 0 at ${below}${above + below < tested.length ? `, and contains 0 at ${tested.length - above - below}` : ""} (${r.a} minus ${r.b}; not corrected for multiple steps).`;
    }
    out.push(sentence);
  }
  return out;
}

/** "= p" to two significant digits, or "< 0.001". */
function pvalue(p: number): string {
  return p < 0.001 ? "< 0.001" : `= ${p >= 0.1 ? p.toFixed(2) : p.toPrecision(2)}`;
}

/**
 * Where the first-order picture fails, one sentence per probe set: how many (recipe, step) cells of
 * `approximationByRecipe` have a median relative L2 error over seeds at or below `poorAbove`, and,
 * per recipe, the steps where it is above (or undefined), with the range of those medians and how
 * many of those cells' seeds are poor (r and the ratio of sums are in the table).
 */
export function describeApproximationByRecipe(rows: readonly ApproximationRecipeRow[], opts: { poorAbove?: number } = {}): string[] {
  const limit = opts.poorAbove ?? 0.5;
  const out: string[] = [];
  for (const split of [...new Set(rows.map((r) => r.split))]) {
    const mine = rows.filter((r) => r.split === split);
    const poor = mine.filter((r) => r.relative_l2_error.median === null || r.relative_l2_error.median > limit);
    const head = `On the ${split} probes, the first-order prediction matches the measured change (median relative L2 error over seeds at most ${pctFine(limit)}) in ${mine.length - poor.length} of ${mine.length} (recipe, step) cells`;
    if (!poor.length) {
      out.push(`${head}.`);
      continue;
    }
    const parts = [...new Set(poor.map((r) => r.recipe))].map((recipe) => {
      const cells = poor.filter((r) => r.recipe === recipe);
      const errs = cells.map((r) => r.relative_l2_error.median).filter((x): x is number => x !== null);
      const range = !errs.length ? "no measured change" : errs.length === 1 ? `relative error ${pctFine(errs[0])}` : `relative error ${pctFine(Math.min(...errs))} to ${pctFine(Math.max(...errs))}`;
      const seeds = cells.reduce((a, r) => a + r.runs, 0);
      const bad = cells.reduce((a, r) => a + r.poor, 0);
      return `${recipe} at step${cells.length === 1 ? "" : "s"} ${cells.map((r) => r.step).join(", ")} (${range}; ${bad} of ${seeds} seed checks poor)`;
    });
    out.push(`${head}; it fails for ${parts.join("; ")}.`);
  }
  return out;
}
