/**
 * The interval across replicate runs (seeds) of a recipe (METRICS 3.7), for statistics of logs that
 * are aggregated over examples (the learning-dynamics logs; runs are grouped into recipes by
 * `groupRecipes` of src/stats/recipes.ts): a recipe's statistic is the mean over its runs (runs
 * whose statistic is null left out and counted), with the sd across runs and a 95% interval
 * across seeds:
 * - R >= 5: bootstrap over runs (each replicate draws R runs with replacement; percentile interval,
 *   linear interpolation between order statistics);
 * - 2 <= R < 5: mean +/- t(R - 1, 0.975) s / sqrt(R) (v_ex = 0: no example-level variance is left
 *   in logs aggregated over examples);
 * - R = 1: no interval, and the note says that it ignores training randomness.
 */
import { percentile, rng } from "../stats/bootstrap";
import { tInterval } from "../stats/replicates";

export interface SeedInterval {
  /** Mean over the runs with a value; null when none has one. */
  mean: number | null;
  /** Sample sd across those runs (n - 1); null when R < 2. */
  sd: number | null;
  /** R: runs with a value. */
  runs: number;
  /** Runs whose statistic was null, left out. */
  n_null: number;
  /** 95% interval across seeds; null when R < 2. */
  ci: [number, number] | null;
  ci_method: "bootstrap-runs" | "t" | "none";
  /** Set when R = 1: the interval cannot reflect training randomness. */
  note: string | null;
  /** True when the t interval left the statistic's `bounds` and was clipped to them. */
  ci_clipped?: boolean;
}

export interface SeedIntervalOptions {
  /** Bootstrap replicates when R >= 5 (default 1000). */
  replicates?: number;
  /** Bootstrap seed (default 0). */
  seed?: number;
  /**
   * The range the statistic cannot leave (a share of a non-negative quantity: [0, 1]). The t
   * interval is clipped to it and marked `ci_clipped`, as for a recipe's ASR; the bootstrap over
   * runs stays inside it by construction. Default: none (a net share can leave [0, 1]).
   */
  bounds?: [number, number];
}

/**
 * Mean, sd and the 95% interval across seeds of one statistic, from each run's value (METRICS 3.7).
 * @example seedInterval([0.5, 0.7]) // mean 0.6, sd 0.1414, ci 0.6 +/- 12.706 * 0.1414 / sqrt(2)
 */
export function seedInterval(values: ReadonlyArray<number | null>, opts: SeedIntervalOptions = {}): SeedInterval {
  const xs = values.filter((v): v is number => v !== null);
  const R = xs.length;
  const nNull = values.length - R;
  if (R === 0) return { mean: null, sd: null, runs: 0, n_null: nNull, ci: null, ci_method: "none", note: "no run has a value" };
  const mean = xs.reduce((a, b) => a + b, 0) / R;
  if (R === 1) return { mean, sd: null, runs: 1, n_null: nNull, ci: null, ci_method: "none", note: "one run: no interval, and a single seed ignores training randomness" };
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (R - 1));
  if (R < 5) {
    // The t rule of the update statistics' recipes (stats/replicates.ts), with v_ex = 0.
    const ci = tInterval(mean, sd, R, 0);
    if (opts.bounds && ci && (ci[0] < opts.bounds[0] || ci[1] > opts.bounds[1]))
      return { mean, sd, runs: R, n_null: nNull, ci: [Math.max(opts.bounds[0], ci[0]), Math.min(opts.bounds[1], ci[1])], ci_method: "t", note: null, ci_clipped: true };
    return { mean, sd, runs: R, n_null: nNull, ci, ci_method: "t", note: null };
  }
  const B = opts.replicates ?? 1000;
  const rand = rng(opts.seed ?? 0);
  const reps = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let i = 0; i < R; i++) s += xs[Math.floor(rand() * R)];
    reps[b] = s / R;
  }
  reps.sort();
  return { mean, sd, runs: R, n_null: nNull, ci: [percentile(reps, 0.025) as number, percentile(reps, 0.975) as number], ci_method: "bootstrap-runs", note: null };
}
