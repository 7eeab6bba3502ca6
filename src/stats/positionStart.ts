/**
 * Whether an analysis's rows start at position 0 (METRICS 1.4). Positions are 0-based inside the
 * scored span; a filter such as `where: { segment: "response" }` keeps rows but does not re-base
 * their positions, so "position 0" would then be the first prompt token, not the first response
 * token. Every output of an analysis whose filtered rows do not start at 0 for some examples says
 * so, naming how many examples and the options (re-basing is done at load time with `mask`,
 * `unscored` or `span`).
 */
import type { TokenLogs } from "../load";
import { RowFilter, metricQuery } from "./source";

export interface PositionStart {
  /** Examples (run, example) with a step whose analysed rows start after position 0. */
  examples: number;
  /** Examples (run, example) analysed. */
  total: number;
  /** The smallest first position among those examples. */
  minStart: number | null;
}

/** Counts the examples whose analysed rows (metric measured, `where` applied) do not start at position 0. */
export async function positionStart(logs: TokenLogs, opts: { metric?: string; where?: RowFilter; runs?: string[] } = {}): Promise<PositionStart> {
  const { m, params, source, runFilter, has } = metricQuery(logs, opts);
  const [r] = await logs.engine.rows<{ examples: number; total: number; min_start: number | null }>(
    `SELECT count(DISTINCT (run, example)) FILTER (WHERE lo > 0) AS examples, count(DISTINCT (run, example)) AS total, min(lo) FILTER (WHERE lo > 0) AS min_start
     FROM (SELECT run, example, min("position") AS lo FROM ${source} WHERE ${has(m)} ${runFilter} GROUP BY run, step, example)`,
    params,
  );
  return { examples: Number(r.examples), total: Number(r.total), minStart: r.min_start === null ? null : Number(r.min_start) };
}

/**
 * The warnings for outputs (CLI stderr, JSON `warnings`, report header, notebook line): the load's
 * own warnings (`logs.report.warnings`: a gzip file read up to a cut, unscored-looking rows kept in
 * skip mode) first, then one when analysed examples do not start at position 0 (METRICS 1.4).
 *
 * @example
 * for (const w of await positionStartWarnings(logs, { where: { segment: "response" } })) console.warn(w);
 */
export async function positionStartWarnings(logs: TokenLogs, opts: { metric?: string; where?: RowFilter; runs?: string[] } = {}): Promise<string[]> {
  const load = logs.report.warnings ?? [];
  // Proven at load (LoadReport.startsAtZero) for every row of a metric measured everywhere: with no
  // row filter, nothing to look for (the query below is a scan grouping every row).
  const metric = opts.metric ?? "loss";
  if (logs.report.startsAtZero === true && !opts.where && logs.report.completeMetrics?.includes(metric)) return [...load];
  const s = await positionStart(logs, opts);
  if (s.examples === 0) return [...load];
  const where = Object.entries(opts.where ?? {}).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `--where ${k}=${x}`));
  const cause = where.length
    ? `after ${where.join(" ")} (--where keeps rows but does not re-base positions; to count positions from the first kept token, load with --span ${where[0].slice(8)} (API: span), or --mask/--unscored)`
    : `in the logs as loaded${logs.report.rebased ? " (after re-basing)" : ""} (load with --span, --mask or --unscored to count positions from the first scored token)`;
  return [...load, `${s.examples} of ${s.total} examples do not start at position 0 (first position ${s.minStart}) ${cause}: early shares and depths then count from a position that is not the first scored token`];
}
