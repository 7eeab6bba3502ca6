/**
 * The per-run summary of where an update concentrates: E_k, d50 and d90 of the update between two
 * steps with seeded bootstrap intervals, and the counts behind them.
 */
import type { TokenLogs } from "../load";
import { sqlIdent } from "../load/engine";
import { Interval, bootstrapMass, groupDiffs } from "./bootstrap";
import { pairsSql, UpdateOptions } from "./updateProfile";
import { MassOptions, PositionDelta, updateMass } from "./updateMass";

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
  const { sql, boundsSql, params, source, has } = pairsSql(logs, opts);
  // One query for the per-example differences: the update profile (mean per position) and the
  // bootstrap both come from them.
  const cols = await logs.engine.columns(`${sql} SELECT run, example, "position", diff FROM pairs ORDER BY run, example, "position"`, params);
  const m = sqlIdent(logs.metric(opts.metric ?? "loss"));
  const bounds = await logs.engine.rows<{ run: string; s_from: number; s_to: number; tokens: number }>(
    `${boundsSql}
     SELECT b.run, b.s_from, b.s_to, count(x.run)::BIGINT AS tokens
     FROM bounds b LEFT JOIN ${source} x ON x.run = b.run AND (x.step = b.s_from OR x.step = b.s_to) AND ${has(`x.${m}`)}
     GROUP BY b.run, b.s_from, b.s_to ORDER BY b.run`,
    params,
  );
  const runs = cols.run as string[];
  const positions = cols.position as number[];
  const diffValues = cols.diff as number[];
  const out: RunSummary[] = [];
  for (const b of bounds) {
    let lo = runs.indexOf(b.run);
    let hi = lo;
    if (lo < 0) lo = hi = 0;
    else while (hi < runs.length && runs[hi] === b.run) hi++;
    const mass = updateMass(meanByPosition(positions, diffValues, lo, hi), opts);
    const ex = (cols.example as string[]).slice(lo, hi);
    const diffs = groupDiffs(ex, positions.slice(lo, hi), diffValues.slice(lo, hi));
    const ci = mass.total > 0 && (opts.bootstrap ?? 1000) > 0
      ? bootstrapMass(diffs, { replicates: opts.bootstrap, seed: opts.seed, k: opts.k, minPairs: opts.minPairs })
      : { early_share: null, d50: null, d90: null };
    out.push({
      run: b.run,
      from: b.s_from,
      to: b.s_to,
      examples: new Set(ex).size,
      positions: mass.positions.length,
      tokens: b.tokens,
      early_share: mass.earlyShare,
      d50: mass.d50,
      d90: mass.d90,
      ci: { early_share: ci.early_share, d50: ci.d50, d90: ci.d90 },
    });
  }
  return out;
}

/** The update profile's n and mean per position, from paired differences in rows lo..hi. */
function meanByPosition(positions: ArrayLike<number>, diffs: ArrayLike<number>, lo: number, hi: number): PositionDelta[] {
  const acc = new Map<number, { n: number; sum: number }>();
  for (let i = lo; i < hi; i++) {
    const a = acc.get(positions[i]);
    if (a) {
      a.n++;
      a.sum += diffs[i];
    } else acc.set(positions[i], { n: 1, sum: diffs[i] });
  }
  return [...acc].map(([position, a]) => ({ position, n: a.n, delta: a.sum / a.n }));
}
