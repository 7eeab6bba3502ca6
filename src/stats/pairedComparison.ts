/**
 * Paired comparison of two runs or two recipes on one update statistic (METRICS.md 4):
 * Delta = stat(A) - stat(B) on the examples both have (the others are dropped and counted).
 * Paired bootstrap: one draw of example ids per replicate, used for both sides (a recipe with
 * R >= 5 runs also has its runs drawn with replacement, as in 3.7; one with fewer keeps them fixed). Two-sided p-value
 * p = min(1, 2 min((1 + #{Delta* <= 0}) / (B + 1), (1 + #{Delta* >= 0}) / (B + 1))), percentile
 * interval beside it; the p-values of one comparison's table are Holm-adjusted as one family, with
 * at least B = 20 m / 0.05 replicates for a family of m tests.
 */
import { quantileSorted } from "./bca";
import { rng } from "./bootstrap";
import { PositionSums, emptySums } from "./exampleTable";
import { holm } from "./holm";
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
  /** Runs drawn per recipe in some replicate (a side with >= 5 runs); a side with fewer keeps its runs fixed. */
  runs_resampled: boolean;
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
  const nEx = Math.max(...[...A.data, ...Bside.data].map((d) => Math.max(d.pairs.ids.length, d.level?.ids.length ?? 0)));
  const ones = new Float64Array(nEx);
  for (const e of common) ones[e] = 1;
  // As in METRICS.md 3.7: a recipe's runs are drawn (two-stage) when it has at least 5 of them.
  const resampleA = A.runs.length >= 5;
  const resampleB = Bside.runs.length >= 5;
  const resample = resampleA || resampleB;
  for (const side of [A, Bside])
    if (side.runs.length > 1 && side.runs.length < 5)
      notes.push(`the ${side.runs.length} runs of ${side.name} are kept fixed (fewer than 5): the interval and p cover their sampling of examples, not their training randomness`);
  if (A.runs.length === 1 && Bside.runs.length === 1) notes.push("one run per side: the interval and p ignore training randomness (seeds)");
  const bufsA = A.data.map((d) => ({ ps: emptySums(d.pairs), ls: d.level ? emptySums(d.level) : null }));
  const bufsB = Bside.data.map((d) => ({ ps: emptySums(d.pairs), ls: d.level ? emptySums(d.level) : null }));
  const idx = stats.map((s) => STAT_INDEX[s]);
  const sideMean = (side: ComparisonSide, which: ArrayLike<number>, w: Float64Array, bufs: Array<{ ps: PositionSums; ls: PositionSums | null }>) => {
    const sum = new Float64Array(idx.length);
    const cnt = new Float64Array(idx.length);
    const cache = new Map<number, Float64Array>();
    for (let i = 0; i < which.length; i++) {
      let v = cache.get(which[i]);
      if (!v) cache.set(which[i], (v = Float64Array.from(runStatistics(side.data[which[i]], w, o, bufs[which[i]]))));
      idx.forEach((s, j) => {
        if (!Number.isNaN(v![s])) (sum[j] += v![s], cnt[j]++);
      });
    }
    return sum.map((x, j) => (cnt[j] ? x / cnt[j] : NaN));
  };
  const allA = Int32Array.from(A.runs.keys());
  const allB = Int32Array.from(Bside.runs.keys());
  const a = sideMean(A, allA, ones, bufsA);
  const b = sideMean(Bside, allB, ones, bufsB);
  const deltas: number[][] = stats.map(() => []);
  let nNull = stats.map(() => 0);
  if (common.length >= 2) {
    const rand = rng(seed);
    const counts = new Float64Array(nEx);
    const wa = new Int32Array(A.runs.length);
    const wb = new Int32Array(Bside.runs.length);
    for (let r = 0; r < B; r++) {
      if (resampleA) for (let i = 0; i < wa.length; i++) wa[i] = Math.floor(rand() * wa.length);
      if (resampleB) for (let i = 0; i < wb.length; i++) wb[i] = Math.floor(rand() * wb.length);
      drawCounts(common, counts, rand);
      const va = sideMean(A, resampleA ? wa : allA, counts, bufsA);
      const vb = sideMean(Bside, resampleB ? wb : allB, counts, bufsB);
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
  const ps = stats.map((_, j) => (Number.isNaN(a[j] - b[j]) ? null : pairedP(deltas[j])));
  const adj = holm(ps);
  const rows: PairedRow[] = stats.map((s, j) => {
    const diff = a[j] - b[j];
    const sorted = Float64Array.from(deltas[j]).sort();
    const ok = !Number.isNaN(diff) && sorted.length > 0;
    return {
      statistic: s,
      a: Number.isNaN(a[j]) ? null : a[j],
      b: Number.isNaN(b[j]) ? null : b[j],
      difference: Number.isNaN(diff) ? null : diff,
      ci: ok ? [quantileSorted(sorted, 0.025)!, quantileSorted(sorted, 0.975)!] : null,
      p: ps[j],
      p_holm: adj[j],
      n_null: nNull[j],
    };
  });
  return { a: A.name, b: Bside.name, examples: common.length, dropped_examples: union.size - common.length, B, seed, runs_resampled: resample, rows, notes };
}
