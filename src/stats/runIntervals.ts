/**
 * Intervals of one run's update statistics (METRICS.md 3.6): B bootstrap replicates that resample
 * examples with replacement (an example keeps all its positions, both steps and its level values),
 * from a seed; BCa by default, with the jackknife over examples computed by deleting one example's
 * sums at a time (linear in examples: no re-scan of the data per deletion).
 */
import { IntervalMethod, bootstrapInterval } from "./bca";
import { rng } from "./bootstrap";
import { ExampleTable, PositionSums, addExample, emptySums, weightedSums } from "./exampleTable";
import { BOUNDED_STATISTICS, INTEGER_DEPTHS, NET_STATISTICS, STAT_INDEX, StatisticsOptions, UPDATE_STATISTICS, UpdateStatistic, updateStatistics } from "./updateStatistics";

export type Interval = [number, number] | null;

/** One run's per-example data: pairs (diff, start) and optional level values, numbered alike. */
export interface RunData {
  pairs: ExampleTable;
  level: ExampleTable | null;
  /** Example numbers a replicate draws from (as many draws as there are). */
  pool: Int32Array;
}

/** How the intervals were made (JSON `ci_info`, METRICS.md 5). */
export interface CiInfo {
  method: string;
  B: number;
  seed: number;
  /** Replicates left out because the statistic was null there, per statistic (only non-zero counts). */
  n_null: Partial<Record<UpdateStatistic, number>>;
  /** Statistics whose replicates all equal the estimate: interval [estimate, estimate]. */
  degenerate: UpdateStatistic[];
  /** Statistics for which BCa fell back to the percentile interval (z0 infinite; integer depths always). */
  percentile_fallback?: UpdateStatistic[];
  /** Why net statistics have no interval, when they have none. */
  reason?: string;
  /** Bounded statistics whose interval left their bounds and was clipped to them (BOUNDED_STATISTICS). */
  clipped?: UpdateStatistic[];
}

/** Clips the intervals of bounded statistics (BOUNDED_STATISTICS) to their bounds and lists them in `info.clipped`. */
export function clipBounded(ci: Record<UpdateStatistic, Interval>, info: CiInfo): void {
  for (const [name, [lo, hi]] of Object.entries(BOUNDED_STATISTICS) as Array<[UpdateStatistic, [number, number]]>) {
    const c = ci[name];
    if (!c || (c[0] >= lo && c[1] <= hi)) continue;
    ci[name] = [Math.max(lo, c[0]), Math.min(hi, c[1])];
    (info.clipped ??= []).push(name);
  }
}

export interface IntervalOptions extends StatisticsOptions {
  /** Bootstrap replicates (default 1000). */
  B?: number;
  seed?: number;
  method?: IntervalMethod;
}

export const NET_NOT_DISTINGUISHABLE = "net change not distinguishable from 0";

/**
 * The rule for net statistics (METRICS.md 3.6): when the interval of the net change D contains 0,
 * or more than 5% of the B replicates left a net statistic undefined, no net statistic gets an
 * interval (`ci` set to null in place, `info.reason` says why). Shared by one run and a recipe.
 */
export function dropNetIntervals(ci: Record<UpdateStatistic, Interval>, info: CiInfo, estimate: ArrayLike<number>, B: number): void {
  const dci = ci.net_change;
  const netNull = NET_STATISTICS.some((s) => (info.n_null[s] ?? 0) > 0.05 * B && !Number.isNaN(estimate[STAT_INDEX[s]]));
  if (!Number.isNaN(estimate[STAT_INDEX.net_change]) && ((dci && dci[0] <= 0 && dci[1] >= 0) || netNull)) {
    for (const s of NET_STATISTICS) ci[s] = null;
    info.reason = NET_NOT_DISTINGUISHABLE;
  }
}

/** Draws one replicate's counts over `pool` (indexed by example number) with the generator `rand`. */
export function drawCounts(pool: Int32Array, counts: Float64Array, rand: () => number): void {
  counts.fill(0);
  const n = pool.length;
  for (let i = 0; i < n; i++) counts[pool[Math.floor(rand() * n)]]++;
}

/** The statistics vector of a run with example weights (null = every example once). */
export function runStatistics(d: RunData, weights: ArrayLike<number> | null, o: StatisticsOptions, buf?: { ps: PositionSums; ls: PositionSums | null }): Float64Array {
  const ps = weightedSums(d.pairs, weights, buf?.ps);
  const ls = d.level ? weightedSums(d.level, weights, buf?.ls ?? undefined) : null;
  return updateStatistics(d.pairs, ps, d.level, ls, o);
}

/** The raw material of a run's intervals: the estimate, B replicates and (for BCa) the jackknife. */
export interface RunBootstrap {
  estimate: Float64Array;
  /** B rows x statistics (UPDATE_STATISTICS order), NaN = null. */
  replicates: Float64Array;
  /** Pool size rows x statistics, or null when not computed. */
  jackknife: Float64Array | null;
  B: number;
  seed: number;
  /** Examples drawn from. */
  examples: number;
  hasLevel: boolean;
}

/**
 * Bootstrap replicates (and, with `jackknife: true`, the jackknife) of every statistic of one run.
 * @example const boot = runBootstrap(data, { B: 1000, seed: 0 }, true); intervalsFrom(boot, "bca")
 */
export function runBootstrap(d: RunData, o: IntervalOptions = {}, withJackknife = (o.method ?? "bca") === "bca"): RunBootstrap {
  const B = o.B ?? 1000;
  const seed = o.seed ?? 0;
  const S = UPDATE_STATISTICS.length;
  const estimate = runStatistics(d, null, o).slice();
  const n = d.pool.length;
  const base = { estimate, B, seed, examples: n, hasLevel: d.level !== null };
  if (n < 2 || B <= 0) return { ...base, replicates: new Float64Array(0), jackknife: null };
  const rand = rng(seed);
  const nEx = Math.max(d.pairs.ids.length, d.level?.ids.length ?? 0);
  const counts = new Float64Array(nEx);
  const buf = { ps: emptySums(d.pairs), ls: d.level ? emptySums(d.level) : null };
  const reps = new Float64Array(B * S);
  for (let b = 0; b < B; b++) {
    drawCounts(d.pool, counts, rand);
    reps.set(runStatistics(d, counts, o, buf), b * S);
  }
  return { ...base, replicates: reps, jackknife: withJackknife ? jackknife(d, o) : null };
}

/** Intervals of every statistic from a run's bootstrap, by `method` (METRICS.md 3.6 rules for nulls and net statistics). */
export function intervalsFrom(boot: RunBootstrap, method: IntervalMethod): { ci: Record<UpdateStatistic, Interval>; info: CiInfo } {
  const { estimate, B, seed } = boot;
  const S = UPDATE_STATISTICS.length;
  const ci = Object.fromEntries(UPDATE_STATISTICS.map((s) => [s, null])) as Record<UpdateStatistic, Interval>;
  const info: CiInfo = { method, B, seed, n_null: {}, degenerate: [] };
  if (boot.examples < 2 || B <= 0) {
    if (boot.examples < 2 && B > 0) info.reason = "fewer than 2 examples: no interval";
    return { ci, info };
  }
  const reps = boot.replicates;
  const jack = method === "bca" ? boot.jackknife : null;
  const fallback: UpdateStatistic[] = [];
  const col = (s: number, m: Float64Array, rows: number) => {
    const xs: number[] = [];
    for (let r = 0; r < rows; r++) xs.push(m[r * S + s]);
    return xs;
  };
  UPDATE_STATISTICS.forEach((name, s) => {
    if (!boot.hasLevel && name.startsWith("level_")) return;
    const usable = col(s, reps, B).filter((x) => !Number.isNaN(x));
    const nNull = B - usable.length;
    if (nNull > 0) info.n_null[name] = nNull;
    if (Number.isNaN(estimate[s]) || usable.length === 0) return;
    const m: IntervalMethod = INTEGER_DEPTHS.includes(name) ? "percentile" : method;
    const jk = jack ? col(s, jack, boot.examples).map((x) => (Number.isNaN(x) ? null : x)) : undefined;
    const r = bootstrapInterval(usable, estimate[s], { method: m, jackknife: jk });
    if (method === "bca" && r.method !== "bca" && !r.degenerate) fallback.push(name);
    ci[name] = r.interval;
    if (r.degenerate) info.degenerate.push(name);
  });
  dropNetIntervals(ci, info, estimate, B);
  if (fallback.length) info.percentile_fallback = fallback;
  clipBounded(ci, info);
  return { ci, info };
}

/**
 * Point estimates and intervals of every statistic of one run.
 * @example const { estimate, ci, info } = runIntervals(data, { B: 1000, seed: 0, method: "bca", k: 5 });
 */
export function runIntervals(d: RunData, o: IntervalOptions = {}): { estimate: Float64Array; ci: Record<UpdateStatistic, Interval>; info: CiInfo } {
  const boot = runBootstrap(d, o);
  return { estimate: boot.estimate, ...intervalsFrom(boot, o.method ?? "bca") };
}

/**
 * Jackknife values theta_(i) for every example of the pool (rows, in pool order) x statistic
 * (columns): the full sums minus one example's entries, so the cost is linear in examples.
 */
export function jackknife(d: RunData, o: StatisticsOptions): Float64Array {
  const S = UPDATE_STATISTICS.length;
  const ps = weightedSums(d.pairs, null);
  const ls = d.level ? weightedSums(d.level, null) : null;
  const out = new Float64Array(d.pool.length * S);
  const v = new Float64Array(S);
  d.pool.forEach((e, i) => {
    addExample(d.pairs, e, -1, ps);
    if (d.level && ls) addExample(d.level, e, -1, ls);
    // Positions whose count fell to ~0 must read as unused: counts are integers, so round.
    for (let p = 0; p < ps.count.length; p++) ps.count[p] = Math.round(ps.count[p]);
    updateStatistics(d.pairs, ps, d.level, ls, o, v);
    out.set(v, i * S);
    addExample(d.pairs, e, 1, ps);
    if (d.level && ls) addExample(d.level, e, 1, ls);
  });
  return out;
}
