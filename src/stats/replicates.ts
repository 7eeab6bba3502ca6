/**
 * Replicate runs (seeds) of a recipe (METRICS.md 3.7). A recipe's statistic is the mean over its
 * runs of each run's statistic (runs where it is null are left out and counted); its spread is the
 * sd across runs (n - 1). Seeds are scored on the same probes, so runs and examples are crossed:
 * - R >= 5: two-stage bootstrap: each replicate draws R runs with replacement and one set of example
 *   ids shared by all drawn runs; percentile interval.
 * - 2 <= R < 5: theta_bar +/- t(R - 1, 0.975) sqrt(s^2 / R + v_ex), s the sd across runs and v_ex
 *   the example-bootstrap variance of theta_bar with the runs fixed.
 * - R = 1: the run's own interval (METRICS.md 3.6); it ignores training randomness.
 * Bounded statistics (E_k, H_k, L_k in [0, 1], R in [0, 0.5]) have their interval clipped to their
 * bounds, listed in `ci_info.clipped`; N_k is not bounded and never clipped.
 */
import { IntervalMethod, quantileSorted } from "./bca";
import { rng } from "./bootstrap";
import { t975 } from "./distributions";
import { PositionSums, emptySums } from "./exampleTable";
import { CiInfo, Interval, RunData, clipBounded, dropNetIntervals, drawCounts, runIntervals, runStatistics } from "./runIntervals";
import { StatisticsOptions, UPDATE_STATISTICS, UpdateStatistic } from "./updateStatistics";

/** Warning shown with any one-run result. */
export const ONE_RUN_NOTE = "one run per recipe: the intervals cover the sampling of examples only and ignore training randomness (seeds); give replicate runs with --recipe-pattern or a recipe label";

/** Warning for a recipe that has one run while other recipes have replicates. */
export function oneRunRecipeNote(recipe: string): string {
  return `recipe ${recipe} has one run: its interval covers the sampling of examples only and ignores training randomness (seeds)`;
}

export interface RecipeResult {
  recipe: string;
  runs: string[];
  /** Mean over runs (NaN = null). */
  estimate: Float64Array;
  /** Sample sd across runs (NaN when fewer than 2 runs have the statistic). */
  sd: Float64Array;
  /** Runs whose statistic was null, per statistic. */
  runsNull: Partial<Record<UpdateStatistic, number>>;
  ci: Record<UpdateStatistic, Interval>;
  info: CiInfo & { rule: "one run" | "t" | "two-stage bootstrap" };
}

/** Mean and sample sd of the non-NaN values; `nulls` counts the NaNs. */
export function meanSd(xs: ArrayLike<number>): { mean: number; sd: number; used: number; nulls: number } {
  let n = 0;
  let sum = 0;
  for (let i = 0; i < xs.length; i++) if (!Number.isNaN(xs[i])) (n++, (sum += xs[i]));
  const mean = n ? sum / n : NaN;
  let ss = 0;
  for (let i = 0; i < xs.length; i++) if (!Number.isNaN(xs[i])) ss += (xs[i] - mean) ** 2;
  return { mean, sd: n >= 2 ? Math.sqrt(ss / (n - 1)) : NaN, used: n, nulls: xs.length - n };
}

/**
 * The t-based interval for 2 <= R < 5 runs: mean +/- t(R - 1, 0.975) sqrt(sd^2 / R + vEx).
 * @example tInterval(0.5, 0.1, 3, 0.0004) // 0.5 -+ 4.3027 * sqrt(0.01 / 3 + 0.0004)
 */
export function tInterval(mean: number, sd: number, runs: number, vEx: number): [number, number] {
  const h = t975(runs - 1) * Math.sqrt((sd * sd) / runs + vEx);
  return [mean - h, mean + h];
}

/** The statistic vector of a set of runs (with multiplicity) under shared example weights: mean over runs. */
function meanOverRuns(data: RunData[], which: ArrayLike<number>, weights: ArrayLike<number> | null, o: StatisticsOptions, bufs: Array<{ ps: PositionSums; ls: PositionSums | null }>): Float64Array {
  const S = UPDATE_STATISTICS.length;
  const sum = new Float64Array(S);
  const cnt = new Float64Array(S);
  const cache = new Map<number, Float64Array>();
  for (let i = 0; i < which.length; i++) {
    const r = which[i];
    let v = cache.get(r);
    if (!v) cache.set(r, (v = Float64Array.from(runStatistics(data[r], weights, o, bufs[r]))));
    for (let s = 0; s < S; s++) if (!Number.isNaN(v[s])) (sum[s] += v[s], cnt[s]++);
  }
  return sum.map((x, s) => (cnt[s] ? x / cnt[s] : NaN));
}

/**
 * A recipe's statistics and intervals from its runs' data (tables numbered alike; `pool` the
 * example numbers any of its runs has).
 */
export function recipeIntervals(
  recipe: string,
  runs: string[],
  data: RunData[],
  pool: Int32Array,
  o: StatisticsOptions & { B?: number; seed?: number; method?: IntervalMethod },
): RecipeResult {
  const B = o.B ?? 1000;
  const seed = o.seed ?? 0;
  const S = UPDATE_STATISTICS.length;
  const R = runs.length;
  const ci = Object.fromEntries(UPDATE_STATISTICS.map((s) => [s, null])) as Record<UpdateStatistic, Interval>;
  if (R === 1) {
    const one = runIntervals(data[0], o);
    return { recipe, runs, estimate: one.estimate, sd: new Float64Array(S).fill(NaN), runsNull: {}, ci: one.ci, info: { ...one.info, rule: "one run" } };
  }
  const perRun = data.map((d) => runStatistics(d, null, o).slice());
  const estimate = new Float64Array(S);
  const sd = new Float64Array(S);
  const runsNull: Partial<Record<UpdateStatistic, number>> = {};
  UPDATE_STATISTICS.forEach((name, s) => {
    const m = meanSd(perRun.map((v) => v[s]));
    estimate[s] = m.mean;
    sd[s] = m.sd;
    if (m.nulls) runsNull[name] = m.nulls;
  });
  const rule = R >= 5 ? "two-stage bootstrap" : "t";
  const info: RecipeResult["info"] = { method: R >= 5 ? "percentile" : "t", B, seed, n_null: {}, degenerate: [], rule };
  if (pool.length < 2 || B <= 0) return { recipe, runs, estimate, sd, runsNull, ci, info };
  const rand = rng(seed);
  const nEx = Math.max(...data.map((d) => Math.max(d.pairs.ids.length, d.level?.ids.length ?? 0)));
  const counts = new Float64Array(nEx);
  const bufs = data.map((d) => ({ ps: emptySums(d.pairs), ls: d.level ? emptySums(d.level) : null }));
  const reps: Float64Array[] = [];
  const fixed = Int32Array.from(runs.keys());
  const which = new Int32Array(R);
  for (let b = 0; b < B; b++) {
    if (R >= 5) for (let i = 0; i < R; i++) which[i] = Math.floor(rand() * R);
    drawCounts(pool, counts, rand);
    reps.push(meanOverRuns(data, R >= 5 ? which : fixed, counts, o, bufs));
  }
  UPDATE_STATISTICS.forEach((name, s) => {
    const xs = reps.map((v) => v[s]).filter((x) => !Number.isNaN(x));
    if (name.startsWith("level_") && !data.some((d) => d.level)) return;
    if (B - xs.length) info.n_null[name] = B - xs.length;
    if (Number.isNaN(estimate[s]) || xs.length < 2) return;
    if (R >= 5) {
      const sorted = Float64Array.from(xs).sort();
      ci[name] = [quantileSorted(sorted, 0.025)!, quantileSorted(sorted, 0.975)!];
      if (sorted[0] === sorted[sorted.length - 1] && sorted[0] === estimate[s]) info.degenerate.push(name);
    } else {
      const vEx = meanSd(xs).sd ** 2;
      const s2 = Number.isNaN(sd[s]) ? 0 : sd[s];
      ci[name] = tInterval(estimate[s], s2, R - (runsNull[name] ?? 0) >= 2 ? R - (runsNull[name] ?? 0) : R, vEx);
      if (ci[name]![0] === ci[name]![1]) info.degenerate.push(name);
    }
  });
  dropNetIntervals(ci, info, estimate, B);
  clipBounded(ci, info);
  return { recipe, runs, estimate, sd, runsNull, ci, info };
}
