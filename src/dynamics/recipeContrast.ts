/**
 * The difference between two recipes in a learning-dynamics statistic (S_k, X_k, the source depths
 * or the token share), step by step, across seeds: Delta = mean over A's runs - mean over B's runs
 * of the runs' values at that step and probe set (METRICS 7: these logs are aggregated over
 * examples, so the only randomness left is training's, and the comparison is across seeds).
 * The rule follows METRICS 3.7 and 4 for recipes, with no example level left (v_ex = 0), as
 * `stats/recipeDifference.ts` reads it for the update statistics:
 * - min(R_A, R_B) >= 5: bootstrap over runs: each replicate draws R_A runs of A and R_B runs of B
 *   with replacement (the recipes' seeds are different training runs, so they are drawn
 *   independently); percentile interval, and p = min(1, 2 min((1 + #{Delta* <= 0}) / (B + 1),
 *   (1 + #{Delta* >= 0}) / (B + 1))) (METRICS 4);
 * - 2 <= min(R_A, R_B) < 5: Delta +/- t(df, 0.975) se, se = sqrt(s_A^2 / R_A + s_B^2 / R_B),
 *   df = min(R_A, R_B) - 1 (`tDifference`), with the two-sided t p;
 * - min(R_A, R_B) = 1: no interval and no p (one seed ignores training randomness).
 * Runs whose value is null (e.g. S_k with no net change) are left out and counted.
 */
import { percentile, rng } from "../stats/bootstrap";
import { tDifference } from "../stats/recipeDifference";
import type { InfluenceRow } from "./summary";

/** The statistics of an influence row that can be contrasted. */
export type DynamicsStatistic = "source_early_share" | "cross_influence" | "source_z50" | "source_z90" | "token_share";

export interface RecipeContrastOptions {
  /** Statistic to compare (default `source_early_share`, S_k). */
  statistic?: DynamicsStatistic;
  /** Only this probe set (default every probe set both recipes have). */
  split?: string;
  /** Bootstrap replicates when both recipes have >= 5 runs (default 2000) and the seed (default 0). */
  replicates?: number;
  seed?: number;
}

/** One (probe set, step) of the contrast. */
export interface RecipeContrastRow {
  a: string;
  b: string;
  split: string;
  step: number;
  statistic: DynamicsStatistic;
  /** Means over each side's runs with a value (null when a side has none). */
  mean_a: number | null;
  mean_b: number | null;
  /** mean_a - mean_b. */
  delta: number | null;
  /** Runs with a value, per side, and runs left out because their value is null. */
  runs_a: number;
  runs_b: number;
  n_null_a: number;
  n_null_b: number;
  /** 95% interval of delta across seeds; null with one run on a side. */
  ci: [number, number] | null;
  /** Two-sided p of delta = 0; null with one run on a side. */
  p: number | null;
  method: "bootstrap-runs" | "t" | "none";
  /** What the interval covers, in words. */
  note: string;
}

const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const sd = (xs: readonly number[]) => {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
};

/**
 * Contrasts recipe `a` with recipe `b` at every (probe set, step) both have, from
 * `dynamicsSummary(...).influence` (one row per run, step and probe set).
 * @example const s = dynamicsSummary(logs); recipeContrast(s.influence, "sft", "sft-lowconsistency", { split: "harmful" })
 * @throws RangeError when `a` or `b` is not a recipe of the rows, or they are the same.
 */
export function recipeContrast(rows: readonly InfluenceRow[], a: string, b: string, opts: RecipeContrastOptions = {}): RecipeContrastRow[] {
  const stat = opts.statistic ?? "source_early_share";
  const recipes = [...new Set(rows.map((r) => r.recipe))].sort();
  for (const name of [a, b]) if (!recipes.includes(name)) throw new RangeError(`recipeContrast: "${name}" is not a recipe of these rows (${recipes.join(", ")})`);
  if (a === b) throw new RangeError("recipeContrast: A and B are the same recipe");
  const B = opts.replicates ?? 2000;
  const cell = new Map<string, { a: Array<number | null>; b: Array<number | null> }>();
  for (const r of rows) {
    if (r.recipe !== a && r.recipe !== b) continue;
    if (opts.split !== undefined && r.split !== opts.split) continue;
    const key = JSON.stringify([r.split, r.step]);
    const c = cell.get(key) ?? { a: [], b: [] };
    (r.recipe === a ? c.a : c.b).push(r[stat]);
    cell.set(key, c);
  }
  const out: RecipeContrastRow[] = [];
  const keys = [...cell.keys()].map((k) => JSON.parse(k) as [string, number]).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] - y[1]));
  for (const [split, step] of keys) {
    const c = cell.get(JSON.stringify([split, step]))!;
    if (c.a.length === 0 || c.b.length === 0) continue;
    const xa = c.a.filter((v): v is number => v !== null);
    const xb = c.b.filter((v): v is number => v !== null);
    const base = { a, b, split, step, statistic: stat, runs_a: xa.length, runs_b: xb.length, n_null_a: c.a.length - xa.length, n_null_b: c.b.length - xb.length };
    if (xa.length === 0 || xb.length === 0) {
      out.push({ ...base, mean_a: xa.length ? mean(xa) : null, mean_b: xb.length ? mean(xb) : null, delta: null, ci: null, p: null, method: "none", note: "a recipe has no run with a value at this step" });
      continue;
    }
    const ma = mean(xa);
    const mb = mean(xb);
    const delta = ma - mb;
    const m = Math.min(xa.length, xb.length);
    if (m === 1) {
      out.push({ ...base, mean_a: ma, mean_b: mb, delta, ci: null, p: null, method: "none", note: "one seed on a side: no interval, and it ignores training randomness" });
    } else if (m < 5) {
      const t = tDifference(delta, sd(xa), xa.length, sd(xb), xb.length, 0);
      out.push({ ...base, mean_a: ma, mean_b: mb, delta, ci: t.ci, p: t.p, method: "t", note: `t rule across seeds (R = ${xa.length} and ${xb.length}, df ${t.df})` });
    } else {
      const rand = rng(opts.seed ?? 0);
      const reps = new Float64Array(B);
      let le = 0;
      let ge = 0;
      for (let i = 0; i < B; i++) {
        let sa = 0;
        let sb = 0;
        for (let j = 0; j < xa.length; j++) sa += xa[Math.floor(rand() * xa.length)];
        for (let j = 0; j < xb.length; j++) sb += xb[Math.floor(rand() * xb.length)];
        const d = sa / xa.length - sb / xb.length;
        reps[i] = d;
        if (d <= 0) le++;
        if (d >= 0) ge++;
      }
      reps.sort();
      const p = Math.min(1, 2 * Math.min((1 + le) / (B + 1), (1 + ge) / (B + 1)));
      out.push({
        ...base,
        mean_a: ma,
        mean_b: mb,
        delta,
        ci: [percentile(reps, 0.025) as number, percentile(reps, 0.975) as number],
        p,
        method: "bootstrap-runs",
        note: `bootstrap over seeds (R = ${xa.length} and ${xb.length}, ${B} replicates)`,
      });
    }
  }
  return out;
}
