/**
 * Update profile from step a to step b: for each (run, position), the mean over paired examples of
 * (m_b - m_a). An example is paired at a position when it has a value there at both steps, so
 * sequences whose lengths differ (ragged) or that are missing at one step contribute only where
 * they pair.
 */
import type { TokenLogs } from "../load";
import { Params } from "../load/engine";
import { Moments, mergeMoments, summarize } from "./moments";
import { RowFilter, metricQuery, stepOr } from "./source";

export interface UpdateOptions {
  metric?: string;
  /** First step; default each run's first step (with a value of the metric). */
  from?: number;
  /** Last step; default each run's last step. */
  to?: number;
  runs?: string[];
  /** Only rows whose columns equal these values, e.g. `{ split: "refusal" }`. */
  where?: RowFilter;
}

export interface UpdateProfileRow {
  run: string;
  from: number;
  to: number;
  position: number;
  /** Pairs. */
  n: number;
  delta: number | null;
  sd: number | null;
  se: number | null;
}

export interface UpdateMoments extends Moments {
  run: string;
  from: number;
  to: number;
  position: number;
}

/**
 * The SQL of the paired differences (run, example, position, diff, va, vb, s_from, s_to), with its
 * parameters. `boundsTable`: a table (run, s_from, s_to) holding the bounds already computed (from
 * `boundsSql`), so that queries after the first do not scan every row for each run's steps again.
 */
export function pairsSql(
  logs: TokenLogs,
  opts: UpdateOptions,
  boundsTable?: string,
): { sql: string; boundsSql: string; params: Params; source: string; has: (expr?: string) => string } {
  const { m, params, source: t, runFilter, has } = metricQuery(logs, opts);
  let boundsSql: string;
  if (boundsTable) {
    delete params.runs; // the run filter and the steps are in the table
    boundsSql = `WITH bounds AS (SELECT run, s_from, s_to FROM ${boundsTable})`;
  } else {
    const from = stepOr(opts.from, "from", "min(step)", params);
    const to = stepOr(opts.to, "to", "max(step)", params);
    boundsSql = `WITH bounds AS (SELECT run, ${from} AS s_from, ${to} AS s_to FROM ${t} WHERE ${has()} ${runFilter} GROUP BY run)`;
  }
  const sql = `${boundsSql},
  pa AS (SELECT x.run, x.example, x."position", x.${m} AS va, b.s_from, b.s_to FROM ${t} x JOIN bounds b ON x.run = b.run AND x.step = b.s_from WHERE ${has(`x.${m}`)}),
  pb AS (SELECT x.run, x.example, x."position", x.${m} AS vb FROM ${t} x JOIN bounds b ON x.run = b.run AND x.step = b.s_to WHERE ${has(`x.${m}`)}),
  pairs AS (SELECT pa.run, pa.example, pa."position", vb - va AS diff, va, vb, pa.s_from, pa.s_to FROM pa JOIN pb ON pa.run = pb.run AND pa.example = pb.example AND pa."position" = pb."position")`;
  return { sql, boundsSql, params, source: t, has };
}

/** Mergeable moments of the update per (run, position). */
export async function updateMoments(logs: TokenLogs, opts: UpdateOptions = {}): Promise<UpdateMoments[]> {
  const { sql, params } = pairsSql(logs, opts);
  return logs.engine.rows<UpdateMoments>(
    `${sql} SELECT run, any_value(s_from) AS "from", any_value(s_to) AS "to", "position", count(*)::BIGINT AS n, avg(diff) AS mean, COALESCE(var_pop(diff) * count(*), 0) AS m2
     FROM pairs GROUP BY run, "position" ORDER BY run, "position"`,
    params,
  );
}

/** Merges per-shard update moments (shards that split examples, e.g. data-parallel workers). */
export function mergeUpdateMoments(...parts: UpdateMoments[][]): UpdateMoments[] {
  const byKey = new Map<string, UpdateMoments>();
  for (const part of parts)
    for (const r of part) {
      const key = JSON.stringify([r.run, r.position]);
      const prev = byKey.get(key);
      byKey.set(key, prev ? { ...prev, ...mergeMoments(prev, r) } : { ...r });
    }
  return [...byKey.values()].sort((a, b) => (a.run < b.run ? -1 : a.run > b.run ? 1 : a.position - b.position));
}

export function updateFromMoments(rows: UpdateMoments[]): UpdateProfileRow[] {
  return rows.map((r) => {
    const s = summarize(r);
    return { run: r.run, from: r.from, to: r.to, position: r.position, n: s.n, delta: s.mean, sd: s.sd, se: s.se };
  });
}

/**
 * The update profile of a metric between two steps, per run.
 * @example const rows = await updateProfile(logs, { metric: "loss" }); // first -> last step of each run
 */
export async function updateProfile(logs: TokenLogs, opts: UpdateOptions = {}): Promise<UpdateProfileRow[]> {
  return updateFromMoments(await updateMoments(logs, opts));
}
