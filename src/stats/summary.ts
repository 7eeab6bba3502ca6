/**
 * The per-run summary of where an update concentrates: E_k, d50 and d90 of the update between two
 * steps with seeded bootstrap intervals, and the counts behind them.
 */
import type { TokenLogs } from "../load";
import { sqlIdent } from "../engine";
import { filteredSource, hasValue } from "./source";
import { Interval, bootstrapMass, groupDiffs } from "./bootstrap";
import { pairsSql, updateProfile, UpdateOptions } from "./updateProfile";
import { MassOptions, updateMass } from "./updateMass";

export interface SummaryOptions extends UpdateOptions, MassOptions {
  /** Bootstrap replicates (default 1000; 0 for no intervals). */
  bootstrap?: number;
  seed?: number;
}

export interface RunSummary {
  run: string;
  from: number;
  to: number;
  /** Examples with at least one pair. */
  examples: number;
  /** Positions used for the update mass (n >= minPairs). */
  positions: number;
  /** Token rows of the run at the two steps. */
  tokens: number;
  early_share: number | null;
  d50: number | null;
  d90: number | null;
  ci: { early_share: Interval; d50: Interval; d90: Interval };
}

/**
 * Summarizes the update of every run (or `runs`) between `from` and `to` (default: first and last step).
 * @example const [s] = await summary(logs, { k: 5, bootstrap: 1000, seed: 0 }); s.early_share
 */
export async function summary(logs: TokenLogs, opts: SummaryOptions = {}): Promise<RunSummary[]> {
  const profile = await updateProfile(logs, opts);
  const { sql, boundsSql, params } = pairsSql(logs, opts);
  const cols = await logs.engine.columns(`${sql} SELECT run, example, "position", diff FROM pairs ORDER BY run, example, "position"`, params);
  const m = sqlIdent(logs.metric(opts.metric ?? "loss"));
  const tokenCounts = await logs.engine.rows<{ run: string; tokens: number }>(
    `${boundsSql}
     SELECT x.run, count(*)::BIGINT AS tokens FROM ${filteredSource(logs, opts.where, {})} x JOIN bounds b ON x.run = b.run AND (x.step = b.s_from OR x.step = b.s_to) WHERE ${hasValue(logs, logs.metric(opts.metric ?? "loss"), `x.${m}`)} GROUP BY x.run`,
    params,
  );
  const bounds = await logs.engine.rows<{ run: string; s_from: number; s_to: number }>(`${boundsSql} SELECT run, s_from, s_to FROM bounds ORDER BY run`, params);
  const runs = cols.run as string[];
  const out: RunSummary[] = [];
  for (const b of bounds) {
    const rows = profile.filter((r) => r.run === b.run);
    const mass = updateMass(rows, opts);
    let lo = runs.indexOf(b.run);
    let hi = lo;
    if (lo < 0) lo = hi = 0;
    else while (hi < runs.length && runs[hi] === b.run) hi++;
    const ex = (cols.example as string[]).slice(lo, hi);
    const diffs = groupDiffs(ex, (cols.position as number[]).slice(lo, hi), (cols.diff as number[]).slice(lo, hi));
    const ci = mass.total > 0 && (opts.bootstrap ?? 1000) > 0
      ? bootstrapMass(diffs, { replicates: opts.bootstrap, seed: opts.seed, k: opts.k, minPairs: opts.minPairs })
      : { early_share: null, d50: null, d90: null };
    out.push({
      run: b.run,
      from: b.s_from,
      to: b.s_to,
      examples: new Set(ex).size,
      positions: mass.positions.length,
      tokens: tokenCounts.find((t) => t.run === b.run)?.tokens ?? 0,
      early_share: mass.earlyShare,
      d50: mass.d50,
      d90: mass.d90,
      ci: { early_share: ci.early_share, d50: ci.d50, d90: ci.d90 },
    });
  }
  return out;
}
