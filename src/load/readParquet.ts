/**
 * Parquet token logs, validated by SQL inside DuckDB (rows are named by their 1-based row number
 * in the file). Long layout: one row per token; wide layout: list columns, one row per record.
 */
import type { FileReport } from "./tokens";
import { Engine, sqlIdent, sqlString } from "./engine";
import { Problem } from "../errors";
import { InvalidFileError } from "./lines";
import { ProgressSink } from "../progress";
import { Column, ColumnKind, Layout, REQUIRED_METRIC, fixedKind } from "./schema";

export interface ParquetFile {
  layout: Layout;
  columns: Column[];
  report: FileReport;
  source: (all: Column[]) => string;
}

const INTEGER_TYPES = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/;
const FLOAT_TYPES = /^(FLOAT|DOUBLE|DECIMAL.*)$/;

function kindOfType(t: string): ColumnKind | null {
  if (FLOAT_TYPES.test(t)) return "metric";
  if (INTEGER_TYPES.test(t)) return "label-integer";
  if (t === "VARCHAR") return "label-string";
  return null;
}

export async function validateParquet(
  engine: Engine,
  file: string,
  o: { skipInvalid: boolean; layout?: Layout; expected: Map<string, ColumnKind>; maxProblems: number; progress: ProgressSink; label: string },
): Promise<ParquetFile> {
  const read = `read_parquet(${sqlString(file)}, file_row_number = true)`;
  let described: Array<{ column_name: string; column_type: string }>;
  try {
    described = await engine.rows(`DESCRIBE SELECT * FROM ${read}`);
  } catch (e) {
    const msg = (e as Error).message.split("\n")[0].replace(/^[A-Za-z ]*Error: /, "");
    throw new InvalidFileError({ file, line: null, field: null, reason: "invalid-parquet", message: `not a valid Parquet file (${msg})` });
  }
  const types = new Map(described.filter((d) => d.column_name !== "file_row_number").map((d) => [d.column_name, d.column_type]));
  const isList = (t: string) => t.endsWith("[]");
  const layout: Layout = o.layout ?? ([...types.values()].some(isList) ? "wide" : "long");
  const schemaProblem = (field: string, message: string): never => {
    throw new InvalidFileError({ file, line: null, field, reason: "schema-mismatch", message });
  };
  for (const k of ["run", "step", "example"]) if (!types.has(k)) schemaProblem(k, "missing required column");
  if (layout === "long" && !types.has("position")) schemaProblem("position", "missing required column (or use the wide layout: list columns)");
  if (!types.has(REQUIRED_METRIC)) schemaProblem(REQUIRED_METRIC, "missing required column");
  if (types.get("run") !== "VARCHAR") schemaProblem("run", `expected strings, the column is ${types.get("run")}`);
  for (const k of layout === "long" ? ["step", "position"] : ["step"]) {
    const t = types.get(k)!;
    if (!INTEGER_TYPES.test(t) && !FLOAT_TYPES.test(t)) schemaProblem(k, `expected integers >= 0, the column is ${t}`);
  }
  const exT = types.get("example")!;
  if (exT !== "VARCHAR" && !INTEGER_TYPES.test(exT)) schemaProblem("example", `expected strings or integers, the column is ${exT}`);
  const columns: Column[] = [];
  for (const [name, t] of types) {
    if (["run", "step", "example", "position", "offset"].includes(name)) continue;
    const list = isList(t);
    if (layout === "long" && list) schemaProblem(name, `a list column in a long-layout file (${t})`);
    const base = list ? t.slice(0, -2) : t;
    const k = kindOfType(base);
    if (k === null) schemaProblem(name, `unsupported column type ${t}`);
    const fixed = fixedKind(name) ?? o.expected.get(name) ?? null;
    let kind: ColumnKind = k === "label-integer" && fixed !== "label-integer" ? "metric" : k!;
    if (fixed === "metric" && k === "label-string") schemaProblem(name, `expected numbers, the column is ${t}`);
    if (fixed === "label-string" && k !== "label-string") schemaProblem(name, `expected strings, the column is ${t}`);
    if (fixed === "label-integer" && k !== "label-integer") schemaProblem(name, `expected integers, the column is ${t}`);
    if (fixed) kind = fixed;
    columns.push(layout === "wide" && !list ? { name, kind, scalar: true } : { name, kind });
  }
  if (layout === "wide" && !columns.some((c) => !c.scalar)) schemaProblem(REQUIRED_METRIC, "no list columns in a wide-layout file");

  // One reason per bad row: the first check it fails.
  const checks: Array<[string, string, string, string]> = [];
  const check = (cond: string, field: string, reason: string, message: string) => checks.push([cond, field, reason, message]);
  check(`run IS NULL OR run = ''`, "run", "bad-key", "expected a non-empty string");
  const intCheck = (col: string) => `${col} IS NULL OR ${col} < 0 OR ${col} > 2147483647 OR ${col} <> floor(${col})`;
  check(intCheck("step"), "step", "bad-key", "expected an integer >= 0");
  check(`example IS NULL OR CAST(example AS VARCHAR) = ''`, "example", "bad-key", "expected a non-empty string or an integer");
  if (layout === "long") check(intCheck(`"position"`), "position", "bad-key", "expected an integer >= 0");
  if (layout === "wide" && types.has("offset")) check(intCheck(`"offset"`), "offset", "bad-key", "expected an integer >= 0");
  const lead = layout === "wide" ? sqlIdent(REQUIRED_METRIC) : "";
  for (const c of columns) {
    const col = sqlIdent(c.name);
    if (layout === "long" || c.scalar) {
      if (c.kind === "metric") check(`${col} IS NULL OR NOT isfinite(${col})`, c.name, "not-finite", "expected a finite number (null, NaN or infinite)");
      else check(`${col} IS NULL`, c.name, "missing-value", "missing value (null)");
    } else {
      check(`${col} IS NULL OR len(${col}) <> len(${lead})`, c.name, "length-mismatch", `array length differs from "${REQUIRED_METRIC}" (per-token arrays must have equal lengths)`);
      if (c.kind === "metric") check(`NOT list_bool_and(list_transform(${col}, x -> x IS NOT NULL AND isfinite(x)))`, c.name, "not-finite", "expected finite numbers (an element is null, NaN or infinite)");
      else check(`list_bool_or(list_transform(${col}, x -> x IS NULL))`, c.name, "missing-value", "an element is null");
    }
  }
  if (layout === "wide") check(`len(${lead}) = 0`, REQUIRED_METRIC, "empty-record", "per-token arrays are empty");
  const caseExpr = `CASE ${checks.map((c, i) => `WHEN ${c[0]} THEN ${i}`).join(" ")} END`;
  // A clean long file (the common case) is proven clean in one scan: the checks and the duplicate
  // bitmap together. Otherwise the queries below name every problem row.
  const clean = layout === "long" && INTEGER_TYPES.test(types.get("position")!) && (await provenCleanLong(engine, read, caseExpr));
  const counts = clean ? [] : await engine.rows<{ problem: number; n: number; first: number; rows: number[] }>(
    `SELECT problem, count(*) AS n, list(file_row_number ORDER BY file_row_number)[1:${o.maxProblems}] AS rows
     FROM (SELECT ${caseExpr} AS problem, file_row_number FROM ${read}) WHERE problem IS NOT NULL GROUP BY problem ORDER BY problem`,
    undefined, o.progress, o.label,
  );
  const problems: Problem[] = [];
  const skipped: Record<string, number> = {};
  let problemCount = 0;
  for (const c of counts) {
    const [, field, reason, message] = checks[c.problem];
    problemCount += c.n;
    skipped[reason] = (skipped[reason] ?? 0) + c.n;
    for (const r of c.rows) problems.push({ file, line: Number(r) + 1, field, reason, message });
  }
  // Duplicate keys among the rows that pass.
  // Without problems every row passes: no filter, so DuckDB can answer min/max from the file's statistics.
  const passing = problemCount > 0 ? `WHERE (${caseExpr}) IS NULL` : "";
  const tokenKeys = layout === "long"
    ? `SELECT run, step, example, "position", file_row_number FROM ${read} ${passing}`
    : `SELECT run, step, example, COALESCE(${types.has("offset") ? `"offset"` : "0"}, 0) + generate_subscripts(${lead}, 1) - 1 AS "position", file_row_number FROM ${read} ${passing}`;
  // The window that names duplicate rows sorts every key; run it only when a cheap exact test finds one.
  const dups = clean || !(await mayHaveDuplicateKeys(engine, tokenKeys)) ? [{ n: 0, rows: [] }] : await engine.rows<{ n: number; rows: number[] }>(
    `SELECT count(*) AS n, list(dup_row ORDER BY dup_row)[1:${o.maxProblems}] AS rows FROM (
       SELECT file_row_number AS dup_row, row_number() OVER (PARTITION BY run, step, example, "position" ORDER BY file_row_number) AS k FROM (${tokenKeys})
     ) WHERE k > 1`,
    undefined, o.progress, o.label,
  );
  const dupRows = Number(dups[0]?.n ?? 0);
  if (dupRows > 0) {
    problemCount += dupRows;
    skipped["duplicate-key"] = dupRows;
    for (const r of dups[0].rows) problems.push({ file, line: Number(r) + 1, field: null, reason: "duplicate-key", message: "duplicate key (run, step, example, position): an earlier row has it" });
  }
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  const [{ rows }] = await engine.rows<{ rows: number }>(`SELECT count(*) AS rows FROM ${read}`);
  const [{ tokens }] = layout === "long"
    ? [{ tokens: rows }]
    : await engine.rows<{ tokens: number }>(`SELECT COALESCE(sum(len(${lead})), 0) AS tokens FROM ${read} WHERE (${caseExpr}) IS NULL`);
  const bad = problemCount > 0;
  const report: FileReport = {
    path: file,
    format: "parquet",
    layout,
    records: rows,
    recordsUsed: rows - problemCount,
    recordsSkipped: problemCount,
    tokens: layout === "long" ? rows - problemCount : tokens,
    skipped,
    problems: problems.slice(0, o.maxProblems),
    problemCount,
  };
  const keys = `CAST(run AS VARCHAR) AS run, CAST(step AS INTEGER) AS step, CAST(example AS VARCHAR) AS example`;
  const filter = bad ? `WHERE (${caseExpr}) IS NULL` : "";
  const source = (all: Column[]): string => {
    const proj = (c: Column) => (columns.some((o2) => o2.name === c.name) ? `CAST(${sqlIdent(c.name)} AS ${sqlTypeOf(c.kind)}) AS ${sqlIdent(c.name)}` : `CAST(NULL AS ${sqlTypeOf(c.kind)}) AS ${sqlIdent(c.name)}`);
    const dedupe = bad && dupRows > 0 ? `QUALIFY row_number() OVER (PARTITION BY run, step, example, "position" ORDER BY file_row_number) = 1` : "";
    if (layout === "long") {
      return `SELECT ${keys}, CAST("position" AS INTEGER) AS "position", ${all.map(proj).join(", ")} FROM ${bad ? read : `read_parquet(${sqlString(file)})`} ${filter} ${dedupe}`;
    }
    const inner = columns.map((c) => (c.scalar ? sqlIdent(c.name) : `unnest(${sqlIdent(c.name)}) AS ${sqlIdent(c.name)}`)).join(", ");
    const off = types.has("offset") ? `COALESCE("offset", 0)` : "0";
    return `SELECT ${keys}, CAST("position" AS INTEGER) AS "position", ${all.map(proj).join(", ")} FROM (
      SELECT run, step, example, file_row_number, ${off} + generate_subscripts(${lead}, 1) - 1 AS "position", ${inner} FROM ${read} ${filter}) ${dedupe}`;
  };
  return { layout, columns, report, source };
}

/** Widest position range the duplicate test handles with a bitmap (bytes per (run, step, example) = range / 8). */
const MAX_BITMAP_POSITIONS = 1024;

/**
 * Whether rows (run, step, example, "position") may hold a key twice; false only when they
 * certainly do not. Exact and cheap: one aggregate per (run, step, example), no sort. A group has
 * no duplicate iff the bitmap of its positions has as many bits set as the group has rows. When
 * positions span more than MAX_BITMAP_POSITIONS it answers true (the caller's exact query decides).
 */
export async function mayHaveDuplicateKeys(engine: Engine, keys: string): Promise<boolean> {
  const [{ lo, hi }] = await engine.rows<{ lo: number | null; hi: number | null }>(
    `SELECT CAST(min("position") AS BIGINT) AS lo, CAST(max("position") AS BIGINT) AS hi FROM (${keys})`,
  );
  if (lo === null || hi === null) return false;
  if (Number(hi) - Number(lo) >= MAX_BITMAP_POSITIONS) return true;
  const [{ n }] = await engine.rows<{ n: number }>(
    `SELECT count(*) AS n FROM (SELECT count(*) AS c, bitstring_agg(CAST("position" AS BIGINT), ${Number(lo)}, ${Number(hi)}) AS b FROM (${keys}) GROUP BY run, step, example) WHERE bit_count(b) <> c`,
  );
  return Number(n) > 0;
}

/**
 * True only when every row of a long-layout file passes `caseExpr` and no key repeats: one scan,
 * grouped by (run, step, example) with the bitmap of positions (see mayHaveDuplicateKeys). The
 * position range comes from the file's statistics; any doubt (a wide range, an error) says false.
 */
async function provenCleanLong(engine: Engine, read: string, caseExpr: string): Promise<boolean> {
  try {
    const [{ lo, hi }] = await engine.rows<{ lo: number | null; hi: number | null }>(`SELECT CAST(min("position") AS BIGINT) AS lo, CAST(max("position") AS BIGINT) AS hi FROM ${read}`);
    if (lo === null || hi === null || Number(hi) - Number(lo) >= MAX_BITMAP_POSITIONS) return false;
    const [{ bad, dup }] = await engine.rows<{ bad: number; dup: number }>(
      `SELECT COALESCE(sum(nbad), 0) AS bad, count(*) FILTER (WHERE bit_count(b) <> c) AS dup FROM (
         SELECT count(*) FILTER (WHERE p IS NOT NULL) AS nbad, count(*) FILTER (WHERE p IS NULL) AS c,
                bitstring_agg(CAST("position" AS BIGINT), ${Number(lo)}, ${Number(hi)}) FILTER (WHERE p IS NULL) AS b
         FROM (SELECT ${caseExpr} AS p, run, step, example, "position" FROM ${read}) GROUP BY run, step, example)`,
    );
    return Number(bad) === 0 && Number(dup) === 0;
  } catch {
    return false;
  }
}

function sqlTypeOf(kind: ColumnKind): string {
  return kind === "metric" ? "DOUBLE" : kind === "label-integer" ? "BIGINT" : "VARCHAR";
}
