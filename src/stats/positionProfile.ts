/**
 * Position profile: for each (run, step, position), the n, mean, sd and se of the metric over the
 * examples that have a token there. Sequences of different lengths contribute only where they have
 * tokens (ragged sequences are never padded).
 */
import type { TokenLogs } from "../load";
import { listValue } from "@duckdb/node-api";
import { Moments, mergeMoments, summarize } from "./moments";
import { RowFilter, metricQuery } from "./source";

export interface ProfileOptions {
  /** Metric column (default `loss`). */
  metric?: string;
  /** Only these runs (default all). */
  runs?: string[];
  /** Only these steps (default all). */
  steps?: number[];
  /** Only rows whose columns equal these values, e.g. `{ split: "refusal" }`. */
  where?: RowFilter;
}

export interface PositionMoments extends Moments {
  run: string;
  step: number;
  position: number;
}

export interface PositionProfileRow {
  run: string;
  step: number;
  position: number;
  n: number;
  mean: number | null;
  sd: number | null;
  se: number | null;
}

/** Mergeable per-(run, step, position) moments of the metric, sorted by run, step, position. */
export async function positionMoments(logs: TokenLogs, opts: ProfileOptions = {}): Promise<PositionMoments[]> {
  const { m, params, source: from, runFilter, has } = metricQuery(logs, opts);
  let where = `${has()} ${runFilter}`;
  if (opts.steps) {
    params.steps = listValue(opts.steps);
    where += " AND list_contains($steps::INTEGER[], step)";
  }
  return logs.engine.rows<PositionMoments>(
    `SELECT run, step, "position", count(*)::BIGINT AS n, avg(${m}) AS mean, COALESCE(var_pop(${m}) * count(*), 0) AS m2
     FROM ${from} WHERE ${where} GROUP BY run, step, "position" ORDER BY run, step, "position"`,
    params,
  );
}

/** Merges per-shard moments (for example one list per file) into the moments of all shards. */
export function mergePositionMoments(...parts: PositionMoments[][]): PositionMoments[] {
  const byKey = new Map<string, PositionMoments>();
  for (const part of parts)
    for (const r of part) {
      const key = JSON.stringify([r.run, r.step, r.position]);
      const prev = byKey.get(key);
      byKey.set(key, prev ? { run: r.run, step: r.step, position: r.position, ...mergeMoments(prev, r) } : { ...r });
    }
  return [...byKey.values()].sort((a, b) => (a.run < b.run ? -1 : a.run > b.run ? 1 : a.step - b.step || a.position - b.position));
}

/** Turns moments into profile rows (n, mean, sd with n - 1, se). */
export function profileFromMoments(rows: PositionMoments[]): PositionProfileRow[] {
  return rows.map((r) => ({ run: r.run, step: r.step, position: r.position, ...summarize(r) }));
}

/**
 * The position profile of a metric.
 * @example const rows = await positionProfile(logs, { metric: "kl", steps: [0, 1000] });
 */
export async function positionProfile(logs: TokenLogs, opts: ProfileOptions = {}): Promise<PositionProfileRow[]> {
  return profileFromMoments(await positionMoments(logs, opts));
}
