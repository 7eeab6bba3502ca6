/**
 * The rows an analysis reads: the token table, optionally restricted to rows whose label columns
 * equal given values (for example `{ split: "refusal" }` for the refusal probes). Values are bound
 * parameters; column names must be columns of the logs.
 */
import { DuckDBValue, listValue } from "@duckdb/node-api";
import { UsageError } from "../errors";
import type { TokenLogs } from "../load";
import { sqlIdent } from "../load/engine";

/** Equality filters on label (or metric) columns: `{ split: "refusal" }`; an array means "any of". */
export type RowFilter = Record<string, string | number | Array<string | number>>;

/**
 * SQL condition "the metric has a value here": `expr IS NOT NULL`, or `true` when every loaded file
 * has the metric (then no row is null, and the filter would only cost a column read per scan).
 */
export function hasValue(logs: TokenLogs, metric: string, expr: string): string {
  return logs.report.completeMetrics?.includes(metric) ? "true" : `${expr} IS NOT NULL`;
}

export function filteredSource(logs: TokenLogs, filter: RowFilter | undefined, params: Record<string, DuckDBValue>): string {
  if (!filter || Object.keys(filter).length === 0) return logs.table;
  const known = [...logs.labels, ...logs.metrics, "run", "step", "example", "position"];
  const conds = Object.entries(filter).map(([col, value], i) => {
    if (!known.includes(col)) throw new UsageError(`cannot filter on "${col}": no such column (columns: ${known.join(", ")})`);
    const values = Array.isArray(value) ? value : [value];
    const names = values.map((v, j) => {
      params[`w${i}_${j}`] = String(v);
      return `$w${i}_${j}`;
    });
    return `CAST(${sqlIdent(col)} AS VARCHAR) IN (${names.join(", ")})`;
  });
  return `(SELECT * FROM ${logs.table} WHERE ${conds.join(" AND ")})`;
}

/** `AND run IN (runs)` as a bound list, or nothing when `runs` is not given. */
export function runsCondition(runs: string[] | undefined, params: Record<string, DuckDBValue>): string {
  if (!runs) return "";
  params.runs = listValue(runs);
  return "AND list_contains($runs::VARCHAR[], run)";
}

/** A step given by the caller (bound as `$name`), or the SQL aggregate that picks each run's own. */
export function stepOr(step: number | undefined, name: string, perRun: string, params: Record<string, DuckDBValue>): string {
  if (step === undefined) return perRun;
  params[name] = step;
  return `CAST($${name} AS INTEGER)`;
}

/**
 * What every analysis query starts from: the metric's column (checked and quoted), the rows to read
 * (`where` applied), the run filter, the "has a value" condition, and the parameters they bind.
 */
export function metricQuery(logs: TokenLogs, opts: { metric?: string; where?: RowFilter; runs?: string[] }) {
  const name = logs.metric(opts.metric ?? "loss");
  const m = sqlIdent(name);
  const params: Record<string, DuckDBValue> = {};
  const source = filteredSource(logs, opts.where, params);
  const runFilter = runsCondition(opts.runs, params);
  return { m, params, source, runFilter, has: (expr: string = m) => hasValue(logs, name, expr) };
}
