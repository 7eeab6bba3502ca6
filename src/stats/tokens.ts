/**
 * Tokens up close: the token rows of one example, and the (example, position) pairs whose metric
 * changed most between two checkpoints. Every value from the caller reaches SQL as a bound parameter.
 */
import type { DuckDBValue } from "@duckdb/node-api";
import { listValue } from "@duckdb/node-api";
import { UsageError } from "../errors";
import { sqlIdent } from "../load/engine";
import type { TokenLogs } from "../load";
import { RowFilter, filteredSource } from "./source";

/** One token of an example at one step. `token` is the token's text (or its id) when the logs have it. */
export interface TokenRow {
  step: number;
  position: number;
  token: string | null;
  value: number | null;
}

/** The text of a token: the `token` label, else `token_id`, else nothing. */
function tokenExpr(logs: TokenLogs, alias = ""): string {
  const p = alias ? `${alias}.` : "";
  if (logs.labels.includes("token")) return `CAST(${p}"token" AS VARCHAR)`;
  if (logs.labels.includes("token_id")) return `CAST(${p}"token_id" AS VARCHAR)`;
  return "CAST(NULL AS VARCHAR)";
}

/**
 * The tokens of one example of one run at the given steps (default all), with the metric's value,
 * sorted by step and position. Any example id works (ids are compared as text).
 * @example const rows = await exampleTokens(logs, { run: "sft", example: "e17", steps: [0, 1000], metric: "loss" });
 */
export async function exampleTokens(
  logs: TokenLogs,
  opts: { run: string; example: string | number; steps?: number[]; metric?: string },
): Promise<TokenRow[]> {
  const m = sqlIdent(logs.metric(opts.metric ?? "loss"));
  const params: Record<string, DuckDBValue> = { run: opts.run, example: String(opts.example) };
  let stepFilter = "";
  if (opts.steps) {
    stepFilter = "AND list_contains($steps::INTEGER[], step)";
    params.steps = listValue(opts.steps);
  }
  return logs.engine.rows<TokenRow>(
    `SELECT step, "position", ${tokenExpr(logs)} AS token, ${m} AS value FROM ${logs.table}
     WHERE run = $run AND CAST(example AS VARCHAR) = $example ${stepFilter} ORDER BY step, "position"`,
    params,
  );
}

/** One (example, position) and its change between two steps. */
export interface TokenUpdate {
  run: string;
  example: string;
  position: number;
  token: string | null;
  from: number;
  to: number;
  from_value: number;
  to_value: number;
  /** to_value - from_value. */
  change: number;
}

export interface LargestUpdatesOptions {
  metric?: string;
  /** First step (default each run's first). */
  from?: number;
  /** Last step (default each run's last). */
  to?: number;
  /** How many (default 20). */
  n?: number;
  runs?: string[];
  /** Only rows whose label columns have these values, e.g. `{ split: "refusal" }`. */
  where?: RowFilter;
}

/**
 * The tokens whose metric changed most between two steps, largest |change| first (ties by run,
 * example, position), with the token text at the later step.
 * @example const top = await largestUpdates(logs, { metric: "loss", n: 10 }); // first -> last step of each run
 */
export async function largestUpdates(logs: TokenLogs, opts: LargestUpdatesOptions = {}): Promise<TokenUpdate[]> {
  const m = sqlIdent(logs.metric(opts.metric ?? "loss"));
  const n = opts.n ?? 20;
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`largestUpdates: n must be a whole number >= 0, got ${n}`);
  const params: Record<string, DuckDBValue> = { n };
  const t = filteredSource(logs, opts.where, params);
  let runFilter = "";
  if (opts.runs) {
    runFilter = "AND list_contains($runs::VARCHAR[], run)";
    params.runs = listValue(opts.runs);
  }
  if (opts.from !== undefined) params.from = opts.from;
  if (opts.to !== undefined) params.to = opts.to;
  const from = opts.from === undefined ? "min(step)" : "CAST($from AS INTEGER)";
  const to = opts.to === undefined ? "max(step)" : "CAST($to AS INTEGER)";
  return logs.engine.rows<TokenUpdate>(
    `WITH src AS (SELECT * FROM ${t} WHERE ${m} IS NOT NULL ${runFilter}),
     bounds AS (SELECT run, ${from} AS s_from, ${to} AS s_to FROM src GROUP BY run),
     a AS (SELECT x.run, x.example, x."position", x.${m} AS va, b.s_from, b.s_to FROM src x JOIN bounds b ON x.run = b.run AND x.step = b.s_from),
     z AS (SELECT x.run, x.example, x."position", x.${m} AS vb, ${tokenExpr(logs, "x")} AS token FROM src x JOIN bounds b ON x.run = b.run AND x.step = b.s_to)
     SELECT a.run, CAST(a.example AS VARCHAR) AS example, a."position", z.token, a.s_from AS "from", a.s_to AS "to", a.va AS from_value, z.vb AS to_value, z.vb - a.va AS change
     FROM a JOIN z ON a.run = z.run AND a.example = z.example AND a."position" = z."position"
     WHERE a.s_from <> a.s_to
     ORDER BY abs(z.vb - a.va) DESC, a.run, a.example, a."position" LIMIT $n`,
    params,
  );
}
