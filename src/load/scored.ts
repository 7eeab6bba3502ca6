/**
 * Masked tokens and the scored span (METRICS 1.4). Three ways to say which rows are tokens of the
 * log: a mask column (`mask: "loss_mask"`, boolean or 0/1, keeps true/1), unscored values
 * (`unscored: { labels: -100 }`, drops rows whose label equals the value) and a span
 * (`span: { segment: "response" }`, keeps rows with that label). Rows that are not scored are
 * dropped before their metrics are checked (padding NaNs there are not errors) and counted.
 * Whenever any is given, positions are re-based: for each (run, step, example) the kept rows keep
 * their order and the first becomes position 0; a gap inside the kept rows is invalid input.
 * The JS side (`rowKeeper`) and the SQL side (`keepCondition`) decide alike.
 */
import { InvalidInputError, Problem, UsageError } from "../errors";
import { Engine, sqlIdent, sqlString } from "./engine";
import type { Column } from "./schema";
import type { RowsWanted } from "./locateRows";

/** Which rows are scored. Values of `unscored` and `span` compare as text (`-100` and `"-100"` alike). */
export interface ScoredRows {
  /** A boolean or 0/1 column: rows where it is false/0 are not scored. */
  mask?: string;
  /** Label values that mark rows as not scored: `{ labels: -100 }`. */
  unscored?: Record<string, string | number>;
  /** Label values that mark the scored span: `{ segment: "response" }`. */
  span?: Record<string, string | number>;
}

/** True when any of mask, unscored or span is given (then positions are re-based). */
export function rebases(s: ScoredRows | undefined): boolean {
  return Boolean(s && (s.mask || Object.keys(s.unscored ?? {}).length || Object.keys(s.span ?? {}).length));
}

/** The columns the options name (never metrics). */
export function scoredColumns(s: ScoredRows | undefined): string[] {
  if (!s) return [];
  return [...(s.mask ? [s.mask] : []), ...Object.keys(s.unscored ?? {}), ...Object.keys(s.span ?? {})];
}

/** The options as the user would type them, for notes and warnings. */
export function describeScored(s: ScoredRows | undefined): string {
  if (!s) return "";
  return [
    ...(s.mask ? [`--mask ${s.mask}`] : []),
    ...Object.entries(s.unscored ?? {}).map(([k, v]) => `--unscored ${k}=${v}`),
    ...Object.entries(s.span ?? {}).map(([k, v]) => `--span ${k}=${v}`),
  ].join(" ");
}

/** Parses repeated CLI values `FIELD=VALUE` into a record (for --unscored and --span). */
export function parseAssignments(option: string, values: string | string[] | undefined): Record<string, string> | undefined {
  if (values === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const v of Array.isArray(values) ? values : [values]) {
    const eq = v.indexOf("=");
    if (eq <= 0) throw new UsageError(`--${option} takes FIELD=VALUE (e.g. ${option === "span" ? "segment=response" : "labels=-100"}), got ${JSON.stringify(v)}`);
    const k = v.slice(0, eq);
    if (k in out) throw new UsageError(`--${option}: field "${k}" given twice`);
    out[k] = v.slice(eq + 1);
  }
  return Object.keys(out).length ? out : undefined;
}

/** A label value as text, the way DuckDB casts it to VARCHAR (integers without a fraction). */
function asText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(v);
  if (typeof v === "boolean") return v ? "true" : "false";
  return String(v);
}

/** A mask value: true (scored), false (not scored), or null when it is neither boolean nor 0/1. */
export function maskValue(v: unknown): boolean | null {
  if (v === true || v === 1) return true;
  if (v === false || v === 0) return false;
  if (typeof v === "string") {
    const t = v.trim().toLowerCase();
    if (t === "true" || t === "1") return true;
    if (t === "false" || t === "0") return false;
  }
  return null;
}

/**
 * The JS decision for one row: `get(name)` returns the row's value of a column (undefined when the
 * row lacks it). Returns true (scored), false (not scored), or the name of a mask column whose value
 * is not boolean or 0/1.
 */
export function rowKeeper(s: ScoredRows | undefined): ((get: (name: string) => unknown) => boolean | { badMask: string }) | null {
  if (!rebases(s)) return null;
  const unscored = Object.entries(s!.unscored ?? {}).map(([k, v]) => [k, String(v)] as const);
  const span = Object.entries(s!.span ?? {}).map(([k, v]) => [k, String(v)] as const);
  const mask = s!.mask;
  return (get) => {
    if (mask !== undefined) {
      const v = get(mask);
      if (v !== undefined) {
        const m = maskValue(v);
        if (m === null) return { badMask: mask };
        if (!m) return false;
      }
    }
    for (const [k, v] of unscored) if (asText(get(k)) === v) return false;
    for (const [k, v] of span) {
      const x = get(k);
      if (x !== undefined && asText(x) !== v) return false;
    }
    return true;
  };
}

/**
 * SQL condition "this row is scored" over the loaded columns (mask read as BOOLEAN). `has` says
 * whether the table has a column; a row lacking a filter column is judged by the others.
 */
export function keepCondition(s: ScoredRows | undefined, has: (name: string) => boolean, ref: (name: string) => string = sqlIdent): string {
  if (!rebases(s)) return "true";
  const conds: string[] = [];
  if (s!.mask && has(s!.mask)) conds.push(`COALESCE(CAST(${ref(s!.mask)} AS BOOLEAN), true)`);
  for (const [k, v] of Object.entries(s!.unscored ?? {})) if (has(k)) conds.push(`CAST(${ref(k)} AS VARCHAR) IS DISTINCT FROM ${sqlString(String(v))}`);
  for (const [k, v] of Object.entries(s!.span ?? {})) if (has(k)) conds.push(`COALESCE(CAST(${ref(k)} AS VARCHAR) = ${sqlString(String(v))}, false)`);
  return conds.length ? conds.join(" AND ") : "true";
}

/** SQL conditions, one per option, that say which option drops a row (for the counts). */
export function dropConditions(s: ScoredRows | undefined, has: (name: string) => boolean): Array<[string, string]> {
  if (!rebases(s)) return [];
  const out: Array<[string, string]> = [];
  if (s!.mask && has(s!.mask)) out.push([`--mask ${s!.mask}`, `NOT COALESCE(CAST(${sqlIdent(s!.mask)} AS BOOLEAN), true)`]);
  for (const [k, v] of Object.entries(s!.unscored ?? {})) if (has(k)) out.push([`--unscored ${k}=${v}`, `CAST(${sqlIdent(k)} AS VARCHAR) IS NOT DISTINCT FROM ${sqlString(String(v))}`]);
  for (const [k, v] of Object.entries(s!.span ?? {})) if (has(k)) out.push([`--span ${k}=${v}`, `NOT COALESCE(CAST(${sqlIdent(k)} AS VARCHAR) = ${sqlString(String(v))}, false)`]);
  return out;
}

/** The scored-rows options of a load (undefined when none is given). */
export function scoredRowsOf(o: { mask?: string; unscored?: Record<string, string | number>; span?: Record<string, string | number> }): ScoredRows | undefined {
  const s: ScoredRows = { mask: o.mask, unscored: o.unscored, span: o.span };
  return rebases(s) ? s : undefined;
}

/**
 * Builds `to` from `from`: the scored rows only, positions re-based per (run, step, example) so that
 * the first scored row is position 0 (METRICS 1.4). Returns the rows dropped, by option.
 * @throws UsageError when a span value selects no row; InvalidInputError for a gap inside the
 * scored rows of an example (a row not scored, or missing, between two scored rows).
 */
export async function applyScoredRows(
  engine: Engine,
  from: string,
  to: string,
  s: ScoredRows,
  columns: Column[],
  files: string[],
  /** Finds the lines of token rows in the input files (locateRows.ts), for the span-gap problem. */
  locate?: (want: RowsWanted) => Promise<Array<{ file: string; lines: number[] }>>,
): Promise<{ rows: number; byOption: Record<string, number> }> {
  const has = (name: string) => columns.some((c) => c.name === name);
  const keep = keepCondition(s, has);
  const drops = dropConditions(s, has);
  const [counts] = await engine.rows<Record<string, number>>(
    `SELECT count(*) FILTER (WHERE NOT (${keep})) AS dropped${drops.map(([, cond], i) => `, count(*) FILTER (WHERE ${cond}) AS d${i}`).join("")} FROM ${from}`,
  );
  for (const [field, value] of Object.entries(s.span ?? {})) {
    if (!has(field)) continue;
    const [{ n }] = await engine.rows<{ n: number }>(`SELECT count(*) AS n FROM ${from} WHERE CAST(${sqlIdent(field)} AS VARCHAR) = $v`, { v: String(value) });
    if (Number(n) === 0) {
      const vs = await engine.rows<{ v: string }>(`SELECT DISTINCT CAST(${sqlIdent(field)} AS VARCHAR) AS v FROM ${from} WHERE ${sqlIdent(field)} IS NOT NULL ORDER BY v LIMIT 10`);
      throw new UsageError(`--span ${field}=${value} selects no row (values of "${field}": ${vs.map((r) => JSON.stringify(r.v)).join(", ") || "none"})`);
    }
  }
  const gaps = await engine.rows<{ run: string; step: number; example: string; lo: number; hi: number; kept: number; n: number }>(
    `SELECT run, step, example, lo, hi, kept, count(*) OVER () AS n FROM (
       SELECT run, step, example, min("position") AS lo, max("position") AS hi, count(*) AS kept FROM ${from} WHERE ${keep} GROUP BY run, step, example
     ) WHERE hi - lo + 1 <> kept ORDER BY run, step, example LIMIT 5`,
  );
  if (gaps.length) {
    // One line (METRICS 1.5): the first examples and the count of the rest.
    const n = Number(gaps[0].n);
    const where = gaps.map((g) => `run ${JSON.stringify(g.run)}, step ${g.step}, example ${JSON.stringify(g.example)} keeps ${g.kept} rows between positions ${g.lo} and ${g.hi}`);
    // The rows inside the first gap that are dropped (named by their lines) or missing.
    const g = gaps[0];
    const inside = await engine.rows<{ p: number; kept: boolean }>(
      `SELECT "position" AS p, COALESCE(${keep}, false) AS kept FROM ${from} WHERE run = $r AND step = $s AND example = $e AND "position" BETWEEN $lo AND $hi ORDER BY 1`,
      { r: g.run, s: Number(g.step), e: g.example, lo: Number(g.lo), hi: Number(g.hi) },
    );
    const dropped = inside.filter((x) => !x.kept).map((x) => Number(x.p));
    const present = new Set(inside.map((x) => Number(x.p)));
    const missing: number[] = [];
    for (let q = Number(g.lo); q <= Number(g.hi) && missing.length < 5; q++) if (!present.has(q)) missing.push(q);
    const found = dropped.length && locate ? await locate({ run: g.run, step: Number(g.step), example: g.example, positions: dropped.slice(0, 5) }) : [];
    const breaks = [
      ...(dropped.length ? [`position${dropped.length > 1 ? "s" : ""} ${dropped.slice(0, 5).join(", ")}${dropped.length > 5 ? ", ..." : ""} dropped${found.length ? ` (${found.map((x) => `${found.length > 1 || x.file !== found[0].file ? `${x.file} ` : ""}line${x.lines.length > 1 ? "s" : ""} ${x.lines.join(", ")}`).join("; ")})` : ""}`] : []),
      ...(missing.length ? [`position${missing.length > 1 ? "s" : ""} ${missing.join(", ")} missing from the log`] : []),
    ];
    const problem: Problem = {
      file: found.length === 1 ? found[0].file : files.join(", "),
      line: found.length === 1 ? found[0].lines[0] : null,
      field: "position",
      reason: "span-gap",
      message: `a gap inside the scored rows: ${where.join("; ")}${n > gaps.length ? ` (${n} examples; ${n - gaps.length} more)` : ""}; in the first, ${breaks.join(", ")} (${describeScored(s)} drops, or the log lacks, rows inside the span; positions cannot be re-based)`,
    };
    throw new InvalidInputError([problem]);
  }
  // The mask column is true on every kept row: it is left out of the table (labels stay).
  const cols = columns.filter((c) => c.kind !== "mask").map((c) => sqlIdent(c.name)).join(", ");
  await engine.run(
    `CREATE TABLE ${to} AS SELECT run, step, example, CAST("position" - min("position") OVER (PARTITION BY run, step, example) AS INTEGER) AS "position"${cols ? `, ${cols}` : ""} FROM ${from} WHERE ${keep}`,
  );
  const byOption: Record<string, number> = {};
  drops.forEach(([name], i) => (byOption[name] = Number(counts[`d${i}`])));
  return { rows: Number(counts.dropped), byOption };
}
