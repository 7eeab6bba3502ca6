/**
 * The summary of where each run's update concentrates (METRICS.md 3.3-3.7, JSON names of section 5):
 * the net share N_k with its interpolated depths z50/z90, counter-movement R, the uniform and
 * headroom references, the version-1 absolute share E_k/d50/d90 (biased toward late positions by
 * noise: kept for compatibility), optionally the level share L_k of a non-negative metric, with
 * seeded bootstrap intervals (BCa by default); per probe set when the rows carry a probe-set label;
 * per recipe when runs are grouped into replicate runs.
 */
import { sqlIdent } from "../load/engine";
import type { TokenLogs } from "../load";
import type { IntervalMethod } from "./bca";
import type { MassOptions } from "./updateMass";
import { groupRecipes, recipeLabelsOf } from "./recipes";
import { ONE_RUN_NOTE, RecipeResult, oneRunRecipeNote, recipeIntervals } from "./replicates";
import { LoadedRun, RunDataOptions, loadRunData } from "./runData";
import { CiInfo, Interval, NET_NOT_DISTINGUISHABLE, intervalsFrom } from "./runIntervals";
import { runBootstraps } from "./parallelBootstrap";
import { RowFilter, filteredSource } from "./source";
import { UPDATE_STATISTICS, UpdateStatistic, usedProfile } from "./updateStatistics";
import { weightedSums } from "./exampleTable";
import { counterMovementWarning } from "./counterMovement";

export interface SummaryOptions extends RunDataOptions, MassOptions {
  /** Bootstrap replicates (default 1000; 0 for no intervals). */
  bootstrap?: number;
  seed?: number;
  /** Interval method (default "bca"; integer depths d50/d90 always use percentile). */
  interval?: IntervalMethod;
  /** Label naming each example's probe set (default `split`). */
  probeSetField?: string;
  /**
   * "separate" (default): when the rows carry several values of the probe-set label and `where`
   * does not pick one, each probe set is analysed on its own. "pooled": all rows together (the net
   * change per probe set is still computed, and differing signs are warned about).
   */
  probeSets?: "separate" | "pooled";
  /** Regular expression over run names with a named group `recipe` (replicate runs, METRICS.md 3.7). */
  recipePattern?: string;
  /** Label naming each run's recipe when no pattern is given (default `recipe`). */
  recipeField?: string;
}

type Stats = { [K in UpdateStatistic]: number | null };
type Cis = { [K in UpdateStatistic]: Interval };

export interface RunSummary extends Stats {
  run: string;
  /** The probe set analysed (null: all rows pooled). */
  probe_set: string | null;
  from: number;
  to: number;
  /** Examples with at least one pair. */
  examples: number;
  /** Positions used (n >= minPairs). */
  positions: number;
  /** Token rows of the run at the two steps (with the metric). */
  tokens: number;
  /** Rows that entered the statistics (two per pair). */
  rows_used: number;
  uniform_early_share: number | null;
  /** Why the headroom reference is null, when it is. */
  headroom_reason: string | null;
  /** max C(p) of the net share (reported when above 1.02). */
  max_cumulative: number | null;
  ci: Cis;
  ci_info: CiInfo;
}

export interface RecipeSummary extends Stats {
  recipe: string;
  /** R, the number of runs. */
  runs: number;
  run_names: string[];
  probe_set: string | null;
  /** sd across runs (n - 1), per statistic; null with one run. */
  sd: Stats;
  /** Runs whose statistic was null (left out of the mean), per statistic. */
  runs_null: Partial<Record<UpdateStatistic, number>>;
  ci: Cis;
  ci_info: CiInfo & { rule: string };
}

export interface SummaryResult {
  schema: 2;
  metric: string;
  k: number;
  warnings: string[];
  runs: RunSummary[];
  /** Recipes (present when runs are grouped by a pattern or a recipe label). */
  recipes: RecipeSummary[];
}

const fromVector = (v: Float64Array): Stats => Object.fromEntries(UPDATE_STATISTICS.map((s, i) => [s, Number.isNaN(v[i]) ? null : v[i]])) as Stats;

/** Probe sets to analyse: [null] (pooled / no label) or one filter per value; and the label values present. */
export async function probeSetsOf(
  logs: TokenLogs,
  opts: SummaryOptions,
): Promise<{ field: string | null; values: Array<string | null>; present: string[]; unlabelled: number }> {
  const field = opts.probeSetField ?? "split";
  if (!logs.labels.includes(field)) return { field: null, values: [null], present: [], unlabelled: 0 };
  const params = {};
  const src = filteredSource(logs, opts.where, params);
  const rows = await logs.engine.rows<{ v: string | null; n: number }>(`SELECT CAST(${sqlIdent(field)} AS VARCHAR) AS v, count(*)::BIGINT AS n FROM ${src} GROUP BY v ORDER BY v`, params);
  const present = rows.map((r) => r.v).filter((v): v is string => v !== null);
  const unlabelled = Number(rows.find((r) => r.v === null)?.n ?? 0);
  if (present.length === 1 && unlabelled === 0) return { field, values: [present[0]], present, unlabelled: 0 };
  if (present.length === 0 || opts.probeSets === "pooled" || (opts.where && field in opts.where)) return { field, values: [null], present, unlabelled: 0 };
  return { field, values: present, present, unlabelled };
}

/**
 * Summarizes the update of every run (or `runs`) between `from` and `to` (default: each run's first
 * and last step), with warnings and (when runs are grouped) recipe entries.
 * @example const s = await updateSummary(logs, { k: 5, bootstrap: 1000, seed: 0 }); s.runs[0].net_early_share
 */
export async function updateSummary(logs: TokenLogs, opts: SummaryOptions = {}): Promise<SummaryResult> {
  const k = opts.k ?? 5;
  const B = opts.bootstrap ?? 1000;
  const seed = opts.seed ?? 0;
  const method = opts.interval ?? "bca";
  const metric = logs.metric(opts.metric ?? "loss");
  const warnings: string[] = [];
  const sets = await probeSetsOf(logs, opts);
  if (sets.values.length > 1)
    warnings.push(`${sets.field} has ${sets.values.length} values (${sets.values.join(", ")}): each probe set is analysed separately (pass --where ${sets.field}=VALUE for one)`);
  if (sets.unlabelled > 0)
    warnings.push(`${sets.unlabelled} rows have no ${sets.field} value: they are in no probe set's analysis (--pooled analyses all rows together)`);
  const runs: RunSummary[] = [];
  const recipes: RecipeSummary[] = [];
  let oneRunNoted = false;
  const singleNoted = new Set<string>();
  for (const value of sets.values) {
    const where: RowFilter | undefined = value === null ? opts.where : { ...(opts.where ?? {}), [sets.field!]: value };
    const { runs: loaded } = await loadRunData(logs, { ...opts, where });
    const so = { k, minPairs: opts.minPairs ?? 1 };
    const label = value === null ? "" : ` (${sets.field} = ${value})`;
    const results = new Map<string, { l: LoadedRun; estimate: Float64Array; ci: Cis; info: CiInfo }>();
    // The runs' bootstraps side by side (worker threads; the same numbers as one after another).
    const boots = await runBootstraps(loaded.map((l) => ({ data: l.data, opts: { ...so, nonNegative: l.nonNegative, B, seed, method } })));
    loaded.forEach((l, i) => (l.data = boots[i].data));
    for (const [i, l] of loaded.entries()) {
      const o = { ...so, nonNegative: l.nonNegative };
      const r = { estimate: boots[i].boot.estimate, ...intervalsFrom(boots[i].boot, method) };
      results.set(l.run, { l, ...r, ci: r.ci as Cis });
      const prof = usedProfile(l.data.pairs, weightedSums(l.data.pairs, null), l.squares, o);
      const est = fromVector(r.estimate);
      const maxC = est.net_change ? Math.max(...cumulative(prof.deltas, est.net_change)) : null;
      const entry: RunSummary = {
        run: l.run,
        probe_set: value,
        from: l.from,
        to: l.to,
        examples: l.data.pairs.ids.filter((_, e) => l.data.pairs.offsets[e + 1] > l.data.pairs.offsets[e]).length,
        positions: prof.positions.length,
        tokens: l.tokens,
        rows_used: l.rowsUsed,
        ...est,
        uniform_early_share: prof.uniform,
        headroom_reason: headroomReason(est, l.nonNegative),
        max_cumulative: maxC,
        ci: r.ci as Cis,
        ci_info: r.info,
      };
      runs.push(entry);
      if (prof.counter.warn) warnings.push(`${l.run}${label}: ${counterMovementWarning(prof.counter, fmt)}`);
      if (maxC !== null && maxC > 1.02) warnings.push(`${l.run}${label}: the cumulative net share reaches ${fmt(maxC)} (> 1.02) before falling back to 1: later positions moved against the net direction`);
      if (prof.positions.length === 0) warnings.push(`${l.run}${label}: no example has ${metric} at both step ${l.from} and step ${l.to}: no pairs, every statistic is n/a`);
      else if (r.info.reason) warnings.push(`${l.run}${label}: ${intervalReason(r.info.reason)}`);
      // Every position early: the early shares are 1 by construction, whatever the update's shape.
      const lastPosition = prof.positions.length ? Math.max(...prof.positions) : null;
      const trivial = [est.net_early_share !== null ? `N_${k}` : null, est.early_share !== null ? `E_${k}` : null].filter((x) => x !== null);
      if (lastPosition !== null && lastPosition < k && trivial.length) warnings.push(`${l.run}${label}: every position (the last is ${lastPosition}) is below k = ${k}, so ${trivial.join(" and ")} ${trivial.length > 1 ? "are" : "is"} 1 by construction; choose k of at most ${lastPosition}`);
      if (l.level?.refused) warnings.push(`${l.run}${label}: ${l.level.refused}`);
      // BCa shifts an interval by the bootstrap's bias estimate; for a strongly biased statistic
      // (version 1's absolute share E_k, METRICS 3.3) it can leave out the estimate itself: say so.
      const ci = r.ci as Cis;
      const outside = estimatesOutsideIntervals(est, ci, UPDATE_STATISTICS);
      if (outside.length)
        warnings.push(`${l.run}${label}: the interval of ${outside.join(", ")} does not contain its estimate (${outside.map((st) => `${st} ${fmt(est[st] as number)} [${fmt(ci[st]![0])}, ${fmt(ci[st]![1])}]`).join("; ")}): the bootstrap finds the statistic strongly biased; report the net share N_k (METRICS 3.4)`);
      if (l.level?.clamped) warnings.push(`${l.run}${label}: ${l.level.clamped} small negative values of ${l.level.metric} (float noise) counted as 0 in the level share`);
      if (value === null && sets.present.length > 1) {
        const signs = await probeSetSigns(logs, opts, where, sets.field!, sets.present, l.run);
        if (new Set(signs.filter((s) => s.d !== 0).map((s) => Math.sign(s.d))).size > 1)
          warnings.push(`${l.run}: the net change has different signs in the pooled probe sets (${signs.map((s) => `${s.value}: ${fmt(s.d)}`).join(", ")}): they cancel inside a position's mean; analyse each probe set separately`);
      }
    }
    // Recipes
    const runNames = loaded.map((l) => l.run);
    const labels = await recipeLabelsOf(logs, opts.recipeField, opts.recipePattern);
    const g = groupRecipes(runNames, { pattern: opts.recipePattern, labels });
    if (g.source === "none" || [...g.runsOf.values()].every((r) => r.length === 1)) {
      if (!oneRunNoted && loaded.length) warnings.push(ONE_RUN_NOTE);
      oneRunNoted = true;
      if (g.source === "none") continue;
    }
    if (g.unmatched.length && value === sets.values[0]) warnings.push(`runs not matched by the recipe ${g.source}: ${g.unmatched.join(", ")} (each kept as its own recipe)`);
    for (const [recipe, members] of g.runsOf) {
      const ls = members.map((m) => results.get(m)!.l);
      const pool = Int32Array.from([...new Set(ls.flatMap((l) => [...l.data.pool]))].sort((a, b) => a - b));
      const nonNegative = ls.every((l) => l.nonNegative);
      const one = members.length === 1 ? results.get(members[0])! : null;
      // One run: its own interval (METRICS.md 3.7), already computed above.
      const rr: RecipeResult = one
        ? { recipe, runs: members, estimate: one.estimate, sd: new Float64Array(UPDATE_STATISTICS.length).fill(NaN), runsNull: {}, ci: one.ci, info: { ...one.info, rule: "one run" } }
        : recipeIntervals(recipe, members, ls.map((l) => l.data), pool, { ...so, nonNegative, B, seed, method });
      if (members.length === 1 && !singleNoted.has(recipe)) {
        // some recipes have replicates, this one has not: name it (the general note would say "per recipe")
        warnings.push(oneRunRecipeNote(recipe));
        singleNoted.add(recipe);
      }
      if (rr.info.reason) warnings.push(`recipe ${recipe}${label}: ${intervalReason(rr.info.reason)}`);
      // A run whose own net change cannot be told from 0 still has a point estimate, and it enters
      // the recipe's mean (METRICS 3.7 leaves out null statistics only): a ratio near 0/0 can dominate it.
      const shaky = members.length > 1 ? members.filter((m) => results.get(m)!.info.reason === NET_NOT_DISTINGUISHABLE) : [];
      if (shaky.length)
        warnings.push(`recipe ${recipe}${label}: the net change of ${shaky.join(", ")} is not distinguishable from 0, yet its net statistics (N_k, z50, z90) enter the recipe's mean; read the mean with the per-run values`);
      recipes.push({
        recipe,
        runs: members.length,
        run_names: members,
        probe_set: value,
        ...fromVector(rr.estimate),
        sd: fromVector(rr.sd),
        runs_null: rr.runsNull,
        ci: rr.ci as Cis,
        ci_info: rr.info,
      });
    }
  }
  return { schema: 2, metric, k, warnings, runs, recipes };
}

/**
 * The per-run summaries only (see `updateSummary` for warnings and recipes).
 * @example const [s] = await summary(logs, { k: 5, bootstrap: 1000, seed: 0 }); s.net_early_share
 */
export async function summary(logs: TokenLogs, opts: SummaryOptions = {}): Promise<RunSummary[]> {
  return (await updateSummary(logs, opts)).runs;
}

/** Why the headroom reference H_k is null (METRICS.md 3.5), or null when it is defined. */
export function headroomReason(est: { headroom_early_share: number | null; net_change: number | null }, nonNegative: boolean): string | null {
  if (est.headroom_early_share !== null) return null;
  if (est.net_change === null) return "no pairs: net change undefined";
  if (!nonNegative) return "metric has negative values";
  if (!(est.net_change < 0)) return "net change is not negative";
  return "starting levels sum to 0";
}

/** The warning for a missing interval, said once: which intervals are missing and why. */
function intervalReason(reason: string): string {
  return reason === NET_NOT_DISTINGUISHABLE ? `${reason}: no interval for the net statistics` : reason;
}

function cumulative(deltas: number[], D: number): number[] {
  let c = 0;
  return deltas.map((d) => (c += d / D));
}

const fmt = (x: number) => (Math.abs(x) >= 100 || x === 0 ? String(Math.round(x * 1000) / 1000) : x.toPrecision(3));

/** The net change D of one run per probe-set value, on the pooled rows (METRICS.md 3.4). */
async function probeSetSigns(logs: TokenLogs, opts: SummaryOptions, where: RowFilter | undefined, field: string, values: string[], run: string) {
  const out: Array<{ value: string; d: number }> = [];
  for (const value of values) {
    const { runs } = await loadRunData(logs, { ...opts, where: { ...(where ?? {}), [field]: value }, runs: [run], levelMetric: undefined });
    const l = runs[0];
    if (!l) continue;
    const v = weightedSums(l.data.pairs, null);
    let d = 0;
    for (let p = 0; p < v.count.length; p++) if (v.count[p] > 0 && v.count[p] >= (opts.minPairs ?? 1)) d += v.sums[0][p] / v.count[p];
    out.push({ value, d });
  }
  return out;
}

/**
 * The statistics whose interval does not contain their own estimate (a BCa interval can, for a
 * strongly biased statistic): `stats` in order, those with a finite estimate outside `[lo, hi]`.
 */
export function estimatesOutsideIntervals<K extends string>(estimate: Partial<Record<K, number | null>>, ci: Partial<Record<K, readonly [number, number] | null>>, stats: readonly K[]): K[] {
  return stats.filter((st) => {
    const c = ci[st];
    const x = estimate[st];
    return !!c && typeof x === "number" && Number.isFinite(x) && (x < c[0] || x > c[1]);
  });
}
