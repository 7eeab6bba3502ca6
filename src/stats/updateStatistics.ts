/**
 * Every statistic of one run's update (METRICS.md 3.3-3.5) from per-position sums, as one fixed
 * vector: the point estimate, each bootstrap replicate and each jackknife deletion all go through
 * `updateStatistics`, so they use the same definitions (and the same min_pairs rule).
 */
import { counterMovement } from "./counterMovement";
import type { ExampleTable, PositionSums } from "./exampleTable";
import { levelShare } from "./levelShare";
import { netShare } from "./netShare";
import { headroomEarlyShare, uniformEarlyShare } from "./references";
import { depth, earlyShare } from "./updateMass";

/** The statistics with intervals, in vector order. JSON names of METRICS.md 5. */
export const UPDATE_STATISTICS = [
  "net_change",
  "net_early_share",
  "z50",
  "z90",
  "counter_movement",
  "headroom_early_share",
  "headroom_difference",
  "early_share",
  "d50",
  "d90",
  "level_early_share",
  "level_z50",
  "level_z90",
] as const;
export type UpdateStatistic = (typeof UPDATE_STATISTICS)[number];
export const STAT_INDEX = Object.fromEntries(UPDATE_STATISTICS.map((s, i) => [s, i])) as Record<UpdateStatistic, number>;

/** Net statistics: null intervals when D is not distinguishable from 0 (METRICS.md 3.6). */
export const NET_STATISTICS: UpdateStatistic[] = ["net_early_share", "z50", "z90", "headroom_difference"];
/**
 * Statistics bounded by definition, with their bounds: an interval that leaves them (the t rule of
 * replicate runs, the basic interval) is clipped and listed in `ci_info.clipped`. The net early
 * share N_k is not bounded (positions that moved against the net direction can take it below 0
 * or above 1), so it is never clipped.
 */
export const BOUNDED_STATISTICS: Partial<Record<UpdateStatistic, [number, number]>> = {
  early_share: [0, 1],
  headroom_early_share: [0, 1],
  level_early_share: [0, 1],
  counter_movement: [0, 0.5],
};
/** Integer depths keep version 1's percentile interval. */
export const INTEGER_DEPTHS: UpdateStatistic[] = ["d50", "d90"];

export interface StatisticsOptions {
  /** Early cut-off k (default 5). */
  k?: number;
  /** Positions need this many pairs (weighted count in a replicate) to be used (default 1). */
  minPairs?: number;
  /** The metric is non-negative (needed for the headroom reference). */
  nonNegative?: boolean;
}

/** Pair table columns: the paired difference m_b - m_a, the starting value m_a. */
export const PAIR_DIFF = 0;
export const PAIR_START = 1;

/**
 * The statistics vector (NaN = null) from pair sums (columns: diff, start) and optional level sums
 * (column: value at the level checkpoint).
 */
export function updateStatistics(
  pairs: ExampleTable,
  ps: PositionSums,
  level: ExampleTable | null,
  ls: PositionSums | null,
  o: StatisticsOptions,
  out: Float64Array = new Float64Array(UPDATE_STATISTICS.length),
): Float64Array {
  const k = o.k ?? 5;
  const minPairs = o.minPairs ?? 1;
  out.fill(NaN);
  const positions: number[] = [];
  const deltas: number[] = [];
  const starts: number[] = [];
  for (let p = 0; p < pairs.positionValues.length; p++) {
    const n = ps.count[p];
    if (n > 0 && n >= minPairs) {
      positions.push(pairs.positionValues[p]);
      deltas.push(ps.sums[PAIR_DIFF][p] / n);
      starts.push(ps.sums[PAIR_START][p] / n);
    }
  }
  if (positions.length > 0) {
    const net = netShare(positions, deltas, k);
    out[STAT_INDEX.net_change] = net.netChange;
    if (net.netEarlyShare !== null) out[STAT_INDEX.net_early_share] = net.netEarlyShare;
    if (net.z50 !== null) out[STAT_INDEX.z50] = net.z50;
    if (net.z90 !== null) out[STAT_INDEX.z90] = net.z90;
    const r = counterMovement(deltas, deltas.map(() => 0)).r;
    if (r !== null) out[STAT_INDEX.counter_movement] = r;
    const h = headroomEarlyShare(positions, starts, k, { nonNegative: o.nonNegative ?? false, netChange: net.netChange });
    if (h.value !== null) {
      out[STAT_INDEX.headroom_early_share] = h.value;
      if (net.netEarlyShare !== null) out[STAT_INDEX.headroom_difference] = net.netEarlyShare - h.value;
    }
    let total = 0;
    for (const d of deltas) total += Math.abs(d);
    if (total > 0) {
      const shares = deltas.map((d) => Math.abs(d) / total);
      out[STAT_INDEX.early_share] = earlyShare(positions, shares, k)!;
      out[STAT_INDEX.d50] = depth(positions, shares, 0.5)!;
      out[STAT_INDEX.d90] = depth(positions, shares, 0.9)!;
    }
  }
  if (level && ls) {
    const lp: number[] = [];
    const mu: number[] = [];
    for (let p = 0; p < level.positionValues.length; p++) {
      const n = ls.count[p];
      if (n > 0 && n >= minPairs) {
        lp.push(level.positionValues[p]);
        mu.push(ls.sums[0][p] / n);
      }
    }
    const l = levelShare(lp, mu, k);
    if (l.levelEarlyShare !== null) out[STAT_INDEX.level_early_share] = l.levelEarlyShare;
    if (l.z50 !== null) out[STAT_INDEX.level_z50] = l.z50;
    if (l.z90 !== null) out[STAT_INDEX.level_z90] = l.z90;
  }
  return out;
}

/** The update profile behind the statistics (used positions, their delta, se, starting mean), with uniform reference. */
export function usedProfile(pairs: ExampleTable, ps: PositionSums, sq: Float64Array, o: StatisticsOptions) {
  const k = o.k ?? 5;
  const minPairs = o.minPairs ?? 1;
  const positions: number[] = [];
  const deltas: number[] = [];
  const se: Array<number | null> = [];
  for (let p = 0; p < pairs.positionValues.length; p++) {
    const n = ps.count[p];
    if (n > 0 && n >= minPairs) {
      positions.push(pairs.positionValues[p]);
      const mean = ps.sums[PAIR_DIFF][p] / n;
      deltas.push(mean);
      se.push(n < 2 ? null : Math.sqrt(Math.max(0, (sq[p] - n * mean * mean) / (n - 1)) / n));
    }
  }
  return { positions, deltas, se, uniform: uniformEarlyShare(k, positions.length), counter: counterMovement(deltas, se) };
}
