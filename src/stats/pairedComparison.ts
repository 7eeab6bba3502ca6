/**
 * Paired comparison of two runs or two recipes on one update statistic (METRICS.md 4):
 * Delta = stat(A) - stat(B) on the examples both have (the others are dropped and counted).
 * Paired bootstrap: one draw of example ids per replicate, used for both sides. Runs of recipes
 * follow `recipeComparisonRule` (recipeDifference.ts): both sides >= 5 runs, runs drawn too
 * (two-stage); 2-4 runs, the t rule over runs with the example-bootstrap variance of Delta (runs
 * fixed) as v_ex; one run on a side, runs fixed (ignores training randomness). Bootstrap p-value
 * p = min(1, 2 min((1 + #{Delta* <= 0}) / (B + 1), (1 + #{Delta* >= 0}) / (B + 1))), percentile
 * interval beside it; the p-values of one comparison's table are Holm-adjusted as one family, with
 * at least B = 20 m / 0.05 replicates for a family of m tests.
 * Examples: the comparison's examples are those both sides have (each side: the union over its
 * runs); a run's statistic uses the comparison's examples that run has. Examples a run lacks are
 * counted per run (`missing_examples`) and noted.
 */
import { quantileSorted } from "./bca";
import { rng } from "./bootstrap";
import { PositionSums, emptySums } from "./exampleTable";
import { holm } from "./holm";
import { RecipeComparisonRule, recipeComparisonRule, recipeRuleNote, sampleVariance, tDifference } from "./recipeDifference";
import { Interval, RunData, drawCounts, runStatistics } from "./runIntervals";
import { STAT_INDEX, StatisticsOptions, UPDATE_STATISTICS, UpdateStatistic } from "./updateStatistics";

/** One side of a comparison: a run (one entry) or a recipe's runs, tables numbered like the other side's. */
export interface ComparisonSide {
  name: string;
  runs: string[];
  data: RunData[];
}

export interface PairedRow {
  statistic: UpdateStatistic;
  a: number | null;
  b: number | null;
  /** a - b. */
  difference: number | null;
  /** 95% percentile interval of the replicates' differences. */
  ci: Interval;
  p: number | null;
  /** Holm-adjusted over the statistics of this comparison. */
  p_holm: number | null;
  /** Replicates where the difference was null (left out). */
  n_null: number;
  /** sd across each side's runs (t rule only; null otherwise). */
  sd_a: number | null;
  sd_b: number | null;
}

export interface PairedComparison {
  a: string;
  b: string;
  /** Examples both sides have (the comparison's examples). */
  examples: number;
  /** Examples only one side has: dropped. */
  dropped_examples: number;
  B: number;
  seed: number;
  /** Runs drawn per recipe in every replicate (rule "two-stage bootstrap"). */
  runs_resampled: boolean;
  /** The interval rule (recipeDifference.ts) and, for the t rule, its degrees of freedom. */
  ci_info: { rule: RecipeComparisonRule; df: number | null; runs: [number, number]; note: string };
  /** Per run: the comparison's examples that run lacks (a recipe's run uses the ones it has). */
  missing_examples: Record<string, number>;
  rows: PairedRow[];
  notes: string[];
}

/** Two-sided paired-bootstrap p-value from the replicates' differences (METRICS.md 4). */
export function pairedP(deltas: ArrayLike<number>): number | null {
  const B = deltas.length;
  if (B === 0) return null;
  let le = 0;
  let ge = 0;
  for (let i = 0; i < B; i++) {
    if (deltas[i] <= 0) le++;
    if (deltas[i] >= 0) ge++;
  }
  return Math.min(1, 2 * Math.min((1 + le) / (B + 1), (1 + ge) / (B + 1)));
}

/** Replicates a family of m tests needs: 20 m / 0.05 (so that the smallest p can pass Holm at 0.05). */
export function replicatesForFamily(m: number): number {
  return Math.ceil((20 * m) / 0.05);
}

function examplesOf(side: ComparisonSide): Set<number> {
  const s = new Set<number>();
  for (const d of side.data) for (const e of d.pool) s.add(e);
  return s;
}

/**
 * Paired comparison of A and B on the given statistics (default N_k, z90, E_k, and L_k when a level
 * metric is loaded). B defaults to max(2000, 20 m / 0.05); a smaller B is raised to that and noted.
 * @example pairedComparison(sideA, sideB, { statistics: ["net_early_share"], B: 2000, seed: 0 }).rows[0].p
 */
export function pairedComparison(
  A: ComparisonSide,
  Bside: ComparisonSide,
  o: StatisticsOptions & { statistics?: UpdateStatistic[]; B?: number; seed?: number } = {},
): PairedComparison {
  const hasLevel = A.data.some((d) => d.level) && Bside.data.some((d) => d.level);
  const stats = o.statistics ?? (["net_early_share", "z90", "early_share", ...(hasLevel ? ["level_early_share"] : [])] as UpdateStatistic[]);
  const notes: string[] = [];
  const need = replicatesForFamily(stats.length);
  let B = o.B ?? Math.max(2000, need);
  if (B < need) {
    notes.push(`B raised from ${B} to ${need} (at least 20 m / 0.05 for a family of ${stats.length} tests)`);
    B = need;
  }
  const seed = o.seed ?? 0;
  const ea = examplesOf(A);
  const eb = examplesOf(Bside);
  const common = Int32Array.from([...ea].filter((e) => eb.has(e)).sort((x, y) => x - y));
  const union = new Set([...ea, ...eb]);
  const missing: Record<string, number> = {};
  for (const side of [A, Bside])
    side.data.forEach((d, i) => {
      const has = new Set(d.pool);
      const n = [...common].filter((e) => !has.has(e)).length;
      if (side.runs.length > 1 || n > 0) missing[side.runs[i]] = n;
      if (n > 0) notes.push(`run ${side.runs[i]} of ${side.name} lacks ${n} of the ${common.length} compared examples: its statistics use the other ${common.length - n}`);
    });
  const nEx = Math.max(...[...A.data, ...Bside.data].map((d) => Math.max(d.pairs.ids.length, d.level?.ids.length ?? 0)));
  const ones = new Float64Array(nEx);
  for (const e of common) ones[e] = 1;
  // METRICS.md 4 with 3.7: the rule depends on the smaller number of runs (recipeDifference.ts).
  const rule = recipeComparisonRule(A.runs.length, Bside.runs.length);
  const resample = rule === "two-stage bootstrap";
  const ruleNote = recipeRuleNote(rule, A.runs.length, Bside.runs.length);
  if (rule === "runs fixed") notes.push(ruleNote);
  const bufsA = A.data.map((d) => ({ ps: emptySums(d.pairs), ls: d.level ? emptySums(d.level) : null }));
  const bufsB = Bside.data.map((d) => ({ ps: emptySums(d.pairs), ls: d.level ? emptySums(d.level) : null }));
  const idx = stats.map((s) => STAT_INDEX[s]);
  const perRun: Float64Array[][] = [[], []];
  const sideMean = (side: ComparisonSide, which: ArrayLike<number>, w: Float64Array, bufs: Array<{ ps: PositionSums; ls: PositionSums | null }>, keep?: Float64Array[]) => {
    const sum = new Float64Array(idx.length);
    const cnt = new Float64Array(idx.length);
    const cache = new Map<number, Float64Array>();
    for (let i = 0; i < which.length; i++) {
      let v = cache.get(which[i]);
      if (!v) cache.set(which[i], (v = Float64Array.from(runStatistics(side.data[which[i]], w, o, bufs[which[i]]))));
      keep?.push(Float64Array.from(idx, (s) => v![s]));
      idx.forEach((s, j) => {
        if (!Number.isNaN(v![s])) (sum[j] += v![s], cnt[j]++);
      });
    }
    return sum.map((x, j) => (cnt[j] ? x / cnt[j] : NaN));
  };
  const allA = Int32Array.from(A.runs.keys());
  const allB = Int32Array.from(Bside.runs.keys());
  const a = sideMean(A, allA, ones, bufsA, perRun[0]);
  const b = sideMean(Bside, allB, ones, bufsB, perRun[1]);
  const deltas: number[][] = stats.map(() => []);
  let nNull = stats.map(() => 0);
  if (common.length >= 2) {
    const rand = rng(seed);
    const counts = new Float64Array(nEx);
    const wa = new Int32Array(A.runs.length);
    const wb = new Int32Array(Bside.runs.length);
    for (let r = 0; r < B; r++) {
      if (resample) {
        for (let i = 0; i < wa.length; i++) wa[i] = Math.floor(rand() * wa.length);
        for (let i = 0; i < wb.length; i++) wb[i] = Math.floor(rand() * wb.length);
      }
      drawCounts(common, counts, rand);
      const va = sideMean(A, resample ? wa : allA, counts, bufsA);
      const vb = sideMean(Bside, resample ? wb : allB, counts, bufsB);
      stats.forEach((_, j) => {
        const d = va[j] - vb[j];
        if (Number.isNaN(d)) nNull[j]++;
        else deltas[j].push(d);
      });
    }
  } else {
    notes.push(`fewer than 2 examples in common: no interval or p`);
    nNull = stats.map(() => 0);
  }
  // The t rule: runs that have the statistic, their sd, and v_ex from the runs-fixed replicates.
  const tRule = stats.map((_, j) => {
    if (rule !== "t") return null;
    const diff = a[j] - b[j];
    const xa = perRun[0].map((v) => v[j]);
    const xb = perRun[1].map((v) => v[j]);
    const ra = xa.filter((x) => !Number.isNaN(x)).length;
    const rb = xb.filter((x) => !Number.isNaN(x)).length;
    const sdA = Math.sqrt(sampleVariance(xa));
    const sdB = Math.sqrt(sampleVariance(xb));
    if (Number.isNaN(diff) || ra < 2 || rb < 2 || deltas[j].length < 2) return { sdA, sdB, t: null };
    return { sdA, sdB, t: tDifference(diff, sdA, ra, sdB, rb, sampleVariance(deltas[j])) };
  });
  const ps = stats.map((_, j) => (Number.isNaN(a[j] - b[j]) ? null : rule === "t" ? (tRule[j]!.t?.p ?? null) : pairedP(deltas[j])));
  const adj = holm(ps);
  const rows: PairedRow[] = stats.map((s, j) => {
    const diff = a[j] - b[j];
    const sorted = Float64Array.from(deltas[j]).sort();
    const ok = !Number.isNaN(diff) && sorted.length > 0;
    const t = tRule[j];
    const nan = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? null : x);
    return {
      statistic: s,
      a: Number.isNaN(a[j]) ? null : a[j],
      b: Number.isNaN(b[j]) ? null : b[j],
      difference: Number.isNaN(diff) ? null : diff,
      ci: t ? (t.t?.ci ?? null) : ok ? [quantileSorted(sorted, 0.025)!, quantileSorted(sorted, 0.975)!] : null,
      p: ps[j],
      p_holm: adj[j],
      n_null: nNull[j],
      sd_a: nan(t?.sdA),
      sd_b: nan(t?.sdB),
    };
  });
  const df = rule === "t" ? Math.min(A.runs.length, Bside.runs.length) - 1 : null;
  return {
    a: A.name, b: Bside.name, examples: common.length, dropped_examples: union.size - common.length, B, seed, runs_resampled: resample,
    ci_info: { rule, df, runs: [A.runs.length, Bside.runs.length], note: ruleNote }, missing_examples: missing, rows, notes,
  };
}
