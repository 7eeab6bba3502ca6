/**
 * Parquet token logs, validated by SQL inside DuckDB (rows are named by their 1-based row number
 * in the file). Long layout: one row per token; wide layout: list columns, one row per record.
 */
import type { FileReport, ReadsWith } from "./tokens";
import { Engine, readerArgs, sqlIdent } from "./engine";
import { Problem } from "../errors";
import { InvalidFileError } from "./lines";
import { problemGroup } from "./problems";
import { ProgressSink } from "../progress";
import { Column, ColumnKind, Layout, REQUIRED_METRIC, fixedKind } from "./schema";
import { ColumnMapping, candidatesText, fieldOf } from "./mapping";
import { ScoredRows, keepCondition, scoredColumns } from "./scored";
import { isFileReport } from "./cache";
import { keysProvenByStats, parquetColumnStats } from "./parquetStats";

export interface ParquetFile {
  layout: Layout;
  columns: Column[];
  /** The file's own column names (before mapping). */
  rawFields: string[];
  report: FileReport;
  source: (all: Column[]) => string;
  /** What the scans proved (for the validation cache). */
  proof: ParquetProof;
  /** See PreparedFile.readsWith. */
  readsWith?: ReadsWith;
  /** See PreparedFile.startsAtZero. */
  startsAtZero: boolean;
}

/** What validating a Parquet file proved, given its schema and the options: all the loader needs besides the schema. */
export interface ParquetProof {
  report: FileReport;
  /** Some rows are invalid (skip mode): the relation filters them. */
  bad: boolean;
  /** Rows with a duplicate key (skip mode keeps the first of each key). */
  dupRows: number;
  /** Validation proved that every (run, step, example) of the file has a row at position 0 (absent: not known). */
  startsAtZero?: boolean;
}

/** Whether a cached value has the shape of a ParquetProof. */
export function isParquetProof(v: unknown): v is ParquetProof {
  const p = v as ParquetProof;
  return typeof p === "object" && p !== null && typeof p.bad === "boolean" && typeof p.dupRows === "number" && isFileReport(p.report);
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
  o: { skipInvalid: boolean; layout?: Layout; expected: Map<string, ColumnKind>; maxProblems: number; progress: ProgressSink; label: string; mapping?: ColumnMapping; scored?: ScoredRows; proven?: ParquetProof },
): Promise<ParquetFile> {
  let described: Array<{ column_name: string; column_type: string }>;
  try {
    described = await engine.rows(`DESCRIBE SELECT * FROM read_parquet(${readerArgs(file)})`);
  } catch (e) {
    const msg = (e as Error).message.split("\n")[0].replace(/^[A-Za-z ]*Error: /, "");
    throw new InvalidFileError({ file, line: null, field: null, reason: "invalid-parquet", message: `not a valid Parquet file (${msg})` });
  }
  const rawFields = described.map((d) => d.column_name);
  // The column mapping: the file read with its mapped columns renamed to the fields.
  const renames = rawFields.filter((c) => fieldOf(o.mapping, c) !== c).map((c) => `${sqlIdent(c)} AS ${sqlIdent(fieldOf(o.mapping, c))}`);
  const clash = rawFields.find((c) => fieldOf(o.mapping, c) !== c && rawFields.includes(fieldOf(o.mapping, c)));
  if (clash) throw new InvalidFileError({ file, line: null, field: fieldOf(o.mapping, clash), reason: "mapping-conflict", message: `the file has both "${fieldOf(o.mapping, clash)}" and the column mapped to it, "${clash}" (which one is meant?)` });
  const renamed = (withRow: boolean, files = [file]) => `(SELECT *${renames.length ? ` RENAME (${renames.join(", ")})` : ""} FROM read_parquet(${readerArgs(files)}${withRow ? ", file_row_number = true" : ""}))`;
  const read = renamed(true);
  const types = new Map(described.map((d) => [fieldOf(o.mapping, d.column_name), d.column_type]));
  const roles = new Set(scoredColumns(o.scored));
  const isList = (t: string) => t.endsWith("[]");
  const layout: Layout = o.layout ?? ([...types.values()].some(isList) ? "wide" : "long");
  const schemaProblem = (field: string, message: string): never => {
    throw new InvalidFileError({ file, line: null, field, reason: "schema-mismatch", message });
  };
  for (const k of ["run", "step", "example"]) if (!types.has(k)) schemaProblem(k, `missing required column; ${candidatesText(k, rawFields, o.mapping)}`);
  if (layout === "long" && !types.has("position")) schemaProblem("position", `missing required column (or use the wide layout: list columns); ${candidatesText("position", rawFields, o.mapping)}`);
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
    if (o.scored?.mask === name) {
      // Booleans, integers, or floats holding 0/1 (pandas writes a float column when any value is NaN; the values are checked below).
      if (base !== "BOOLEAN" && !INTEGER_TYPES.test(base) && base !== "DOUBLE" && base !== "FLOAT") throw new InvalidFileError({ file, line: null, field: name, reason: "bad-mask", message: `expected a boolean or 0/1 column (the --mask column), the column is ${t}` });
      columns.push(layout === "wide" && !list ? { name, kind: "mask", scalar: true } : { name, kind: "mask" });
      continue;
    }
    if (roles.has(name)) {
      if (k === "metric") schemaProblem(name, `expected strings or integers (a label named by --unscored or --span), the column is ${t}`);
      columns.push(layout === "wide" && !list ? { name, kind: k!, scalar: true } : { name, kind: k! });
      continue;
    }
    const fixed = fixedKind(name) ?? o.expected.get(name) ?? null;
    let kind: ColumnKind = k === "label-integer" && fixed !== "label-integer" ? "metric" : k!;
    if (fixed === "metric" && k === "label-string") schemaProblem(name, `expected numbers, the column is ${t}`);
    if (fixed === "label-string" && k !== "label-string") schemaProblem(name, `expected strings, the column is ${t}`);
    if (fixed === "label-integer" && k !== "label-integer") schemaProblem(name, `expected integers, the column is ${t}`);
    if (fixed) kind = fixed;
    columns.push(layout === "wide" && !list ? { name, kind, scalar: true } : { name, kind });
  }
  if (layout === "wide" && !columns.some((c) => !c.scalar)) schemaProblem(REQUIRED_METRIC, "no list columns in a wide-layout file");
  const metricCols = columns.filter((c) => c.kind === "metric");
  if (metricCols.length === 0) schemaProblem(REQUIRED_METRIC, "no metric column (a token log holds at least one numeric metric, such as loss)");

  // One reason per bad row: the first check it fails.
  // A check may name columns that settle it when the file's statistics show one of them has no null
  // (a missing label, a row with every metric null): the fast scan leaves it out.
  const checks: Array<[string, string, string, string, string[]?]> = [];
  const check = (cond: string, field: string, reason: string, message: string, settledByNoNulls?: string[]) => checks.push([cond, field, reason, message, settledByNoNulls]);
  check(`run IS NULL OR run = ''`, "run", "bad-key", "expected a non-empty string");
  const intCheck = (col: string) => `${col} IS NULL OR ${col} < 0 OR ${col} > 2147483647 OR ${col} <> floor(${col})`;
  check(intCheck("step"), "step", "bad-key", "expected an integer >= 0");
  check(`example IS NULL OR CAST(example AS VARCHAR) = ''`, "example", "bad-key", "expected a non-empty string or an integer");
  if (layout === "long") check(intCheck(`"position"`), "position", "bad-key", "expected an integer >= 0");
  if (layout === "wide" && types.has("offset")) check(intCheck(`"offset"`), "offset", "bad-key", "expected an integer >= 0");
  // Wide: positions come from the first metric list the record has (a metric not measured is a null list).
  const metricLists = columns.filter((c) => c.kind === "metric" && !c.scalar).map((c) => sqlIdent(c.name));
  const lists = columns.filter((c) => !c.scalar).map((c) => sqlIdent(c.name));
  const leadCols = metricLists.length ? metricLists : lists.slice(0, 1);
  const lead = layout === "wide" ? (leadCols.length > 1 ? `COALESCE(${leadCols.join(", ")})` : leadCols[0]) : "";
  // Rows that are not scored (long layout) are not checked beyond their keys (METRICS 1.4).
  const keep = layout === "long" ? keepCondition(o.scored, (n) => types.has(n)) : "true";
  // Mask values (the column's type was checked above): null or not 0/1 is invalid input, like in text files.
  const mask = o.scored?.mask && types.has(o.scored.mask) ? o.scored.mask : null;
  if (mask !== null) {
    const bad = (x: string) => `${x} IS NULL OR CAST(${x} AS DOUBLE) NOT IN (0, 1)`;
    const m = sqlIdent(mask);
    check(isList(types.get(mask)!) ? `${m} IS NULL OR list_bool_or(list_transform(${m}, x -> ${bad("x")}))` : bad(m), mask, "bad-mask", "expected a boolean or 0/1 (the --mask column), got null or another value");
  }
  const keyChecks = checks.length;
  // Skip mode: an invalid metric value is set to null (counted), the row kept (METRICS 1.2).
  const dropValues = o.skipInvalid;
  /** Wide: per element, whether its token is scored (`__i` the 1-based index). */
  const keepAt = keepCondition(o.scored, (n) => types.has(n), (n) => (isList(types.get(n)!) ? `${sqlIdent(n)}[__i]` : sqlIdent(n)));
  /** SQL counting a column's invalid values in one row (long) or record (wide) that skip mode drops. */
  const invalidIn = (col: string, what: "not-finite" | "missing-value"): string => {
    if (layout === "long") return what === "not-finite" ? `CASE WHEN ${col} IS NOT NULL AND NOT isfinite(${col}) THEN 1 ELSE 0 END` : "0";
    const bad = what === "not-finite" ? `${col}[__i] IS NOT NULL AND NOT isfinite(${col}[__i])` : `${col}[__i] IS NULL`;
    return `CASE WHEN ${col} IS NULL THEN 0 ELSE len(list_filter(generate_series(1, len(${col})), __i -> ${keepAt === "true" ? bad : `(${keepAt}) AND ${bad}`})) END`;
  };
  for (const c of columns) {
    const col = sqlIdent(c.name);
    if (roles.has(c.name) || c.kind === "mask") continue;
    if (layout === "long" || c.scalar) {
      if (c.kind === "metric") {
        if (!dropValues) check(`${col} IS NOT NULL AND NOT isfinite(${col})`, c.name, "not-finite", "expected a finite number (NaN or infinite; a null is a value not measured)");
      } else check(`${col} IS NULL`, c.name, "missing-value", "missing value (null)", [c.name]);
    } else {
      check(`${col} IS NOT NULL AND len(${col}) <> len(${lead})`, c.name, "length-mismatch", "array length differs from the other per-token arrays (they must have equal lengths)");
      if (c.kind === "metric" && !dropValues) {
        // Elements of tokens that are not scored are not checked (METRICS 1.4): zip with the filter columns.
        const ok = `${col}[__i] IS NOT NULL AND isfinite(${col}[__i])`;
        check(`${col} IS NOT NULL AND NOT list_bool_and(list_transform(generate_series(1, len(${col})), __i -> ${keepAt === "true" ? ok : `NOT (${keepAt}) OR (${ok})`}))`, c.name, "not-finite", "expected finite numbers (an element is null, NaN or infinite; a metric not measured for a record is a null list)");
      }
      else check(`${col} IS NULL OR list_bool_or(list_transform(${col}, x -> x IS NULL))`, c.name, "missing-value", "an element is null");
    }
  }
  const firstMetric = metricCols[0].name;
  if (layout === "long") check(`COALESCE(${metricCols.map((c) => sqlIdent(c.name)).join(", ")}) IS NULL`, firstMetric, "no-metric", "a scored row with no metric value (every metric is null; rows that are not tokens of the log are named with --mask, --unscored or --span)", metricCols.map((c) => c.name));
  else {
    check(`${lead} IS NULL`, firstMetric, "no-metric", "a record with no metric measured (every per-token list is null)");
    check(`len(${lead}) = 0`, firstMetric, "empty-record", "per-token arrays are empty");
  }
  /** The checks' CASE, without the key checks of the fields in `skip` and the checks at the indices in `settled`. */
  const caseOf = (skip: Set<string>, settled = new Set<number>()) => {
    const whens = checks.flatMap((c, i) => ((i < keyChecks && skip.has(c[1])) || settled.has(i) ? [] : [`WHEN ${c[0]} THEN ${i}`]));
    if (keep !== "true") whens.splice(checks.slice(0, keyChecks).filter((c) => !skip.has(c[1])).length, 0, `WHEN NOT (${keep}) THEN NULL`);
    return `CASE ${whens.join(" ")} END`;
  };
  const caseExpr = caseOf(new Set());
  // The scans: skipped when the validation cache holds what they proved for this file and these options.
  const scan = async (): Promise<ParquetProof> => {
    // A clean long file (the common case) is proven clean in one scan: the checks and the duplicate
    // bitmap together. Otherwise the queries below name every problem row.
    // The key checks the file's statistics settle (no nulls, ranges) are left out of that scan.
    const fast = async () => {
      const stats = (await parquetColumnStats(engine, [file]))?.get(file);
      const raw = (field: string) => rawFields.find((c) => fieldOf(o.mapping, c) === field) ?? field;
      const settled = new Set(checks.flatMap((c, i) => (c[4]?.some((f) => stats?.get(raw(f))?.nulls === 0) ? [i] : [])));
      return provenCleanLong(engine, read, caseOf(keysProvenByStats(stats, types, raw), settled));
    };
    const proved = layout === "long" && INTEGER_TYPES.test(types.get("position")!) ? await fast() : { clean: false, startsAtZero: false };
    const clean = proved.clean;
    const counts = clean ? [] : await engine.rows<{ problem: number; n: number; first: number; rows: number[] }>(
      `SELECT problem, count(*) AS n, list(file_row_number ORDER BY file_row_number)[1:${o.maxProblems}] AS rows
       FROM (SELECT ${caseExpr} AS problem, file_row_number FROM ${read}) WHERE problem IS NOT NULL GROUP BY problem ORDER BY problem`,
      undefined, o.progress, o.label,
    );
    const problems: Problem[] = [];
    const problemGroups: Record<string, number> = {};
    const skipped: Record<string, number> = {};
    let problemCount = 0;
    for (const c of counts) {
      const [, field, reason, message] = checks[c.problem];
      problemCount += c.n;
      skipped[reason] = (skipped[reason] ?? 0) + c.n;
      for (const r of c.rows) problems.push({ file, line: Number(r) + 1, field, reason, message });
      problemGroups[problemGroup({ field, reason })] = (problemGroups[problemGroup({ field, reason })] ?? 0) + Number(c.n);
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
      problemGroups[problemGroup({ field: null, reason: "duplicate-key" })] = dupRows;
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
      problemGroups,
    };
    const droppedValues: Record<string, Record<string, number>> = {};
    if (dropValues) {
      const kinds = layout === "long" ? (["not-finite"] as const) : (["not-finite", "missing-value"] as const);
      const exprs = metricCols.flatMap((c) => kinds.map((k) => ({ c, k, sql: invalidIn(sqlIdent(c.name), k) })));
      const [d] = await engine.rows<Record<string, number>>(
        `SELECT ${exprs.map((e, i) => `COALESCE(sum(${e.sql}), 0) AS d${i}`).join(", ")} FROM ${read} WHERE (${caseExpr}) IS NULL AND ${keep}`,
      );
      for (let i = 0; i < exprs.length; i++) {
        const n = Number(d[`d${i}`]);
        if (n === 0) continue;
        const { c, k, sql } = exprs[i];
        (droppedValues[c.name] ??= {})[k] = n;
        // Each dropped value is still a problem (validate lists it); the row is kept.
        const [{ rows: at }] = await engine.rows<{ rows: number[] }>(
          `SELECT list(file_row_number ORDER BY file_row_number)[1:${o.maxProblems}] AS rows FROM ${read} WHERE (${caseExpr}) IS NULL AND ${keep} AND (${sql}) > 0`,
        );
        report.problemCount += n;
        problemGroups[problemGroup({ field: c.name, reason: k })] = n;
        const message = k === "not-finite" ? "expected a finite number (NaN or infinite; a null is a value not measured)" : "an element is null inside a per-token list (a metric not measured for a record is a null list)";
        for (const r of at) if (report.problems.length < o.maxProblems) report.problems.push({ file, line: Number(r) + 1, field: c.name, reason: k, message });
      }
      report.problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
      report.droppedValues = droppedValues;
    }
    // Every (run, step, example) starts at position 0: proven by the one-scan proof (long), or by the
    // layout (wide without an offset: positions 0, 1, ... of each list), when no value was dropped.
    const startsAtZero = !bad && Object.keys(report.droppedValues ?? {}).length === 0 && (layout === "long" ? proved.startsAtZero : !types.has("offset"));
    return { report, bad, dupRows, startsAtZero };
  };
  const proof: ParquetProof = o.proven ?? (await scan());
  const { report, bad, dupRows } = proof;
  const keys = `CAST(run AS VARCHAR) AS run, CAST(step AS INTEGER) AS step, CAST(example AS VARCHAR) AS example`;
  const filter = bad ? `WHERE (${caseExpr}) IS NULL` : "";
  const source = (all: Column[], files = [file]): string => {
    const value = (c: Column) => (dropValues && c.kind === "metric" ? `CASE WHEN isfinite(${sqlIdent(c.name)}) THEN ${sqlIdent(c.name)} END` : sqlIdent(c.name));
    const proj = (c: Column) => (columns.some((o2) => o2.name === c.name) ? `CAST(${value(c)} AS ${sqlTypeOf(c.kind)}) AS ${sqlIdent(c.name)}` : `CAST(NULL AS ${sqlTypeOf(c.kind)}) AS ${sqlIdent(c.name)}`);
    const dedupe = bad && dupRows > 0 ? `QUALIFY row_number() OVER (PARTITION BY run, step, example, "position" ORDER BY file_row_number) = 1` : "";
    if (layout === "long") {
      return `SELECT ${keys}, CAST("position" AS INTEGER) AS "position", ${all.map(proj).join(", ")} FROM ${bad ? read : renamed(false, files)} ${filter} ${dedupe}`;
    }
    const inner = columns.map((c) => (c.scalar ? sqlIdent(c.name) : `unnest(${sqlIdent(c.name)}) AS ${sqlIdent(c.name)}`)).join(", ");
    const off = types.has("offset") ? `COALESCE("offset", 0)` : "0";
    return `SELECT ${keys}, CAST("position" AS INTEGER) AS "position", ${all.map(proj).join(", ")} FROM (
      SELECT run, step, example, file_row_number, ${off} + generate_subscripts(${lead}, 1) - 1 AS "position", ${inner} FROM ${read} ${filter}) ${dedupe}`;
  };
  // A clean long file is read with no per-file filter: files of the same schema read the same way
  // can be one read_parquet over their list (see PreparedFile.readsWith).
  const readsWith = !bad && layout === "long" ? { key: JSON.stringify([described, renames, dropValues]), source } : undefined;
  return { layout, columns, report, source: (all: Column[]) => source(all), rawFields, proof, readsWith, startsAtZero: proof.startsAtZero === true };
}

/** Positions per BIGINT word of the duplicate test (the sign bit is not used). */
const WORD = 63;
/** Widest position range tested with BIGINT words, one bit_or per word (native, fixed-size state). */
const MAX_WORD_POSITIONS = 8 * WORD;
/** Widest position range tested at all: above MAX_WORD_POSITIONS, one bitstring per group (bytes = range / 8). */
const MAX_BITMAP_POSITIONS = 1024;

/**
 * The aggregates of the duplicate test for positions in [lo, hi], for a query grouped by (run,
 * step, example): `aggregates` hold the bitmap of a group's positions (rows where `where` holds),
 * `bits` counts the bits set. A group has no duplicate iff `bits` equals its row count. Ranges up to
 * MAX_WORD_POSITIONS use bit_or over BIGINT words (about a third faster on 10^8 rows than
 * bitstring_agg, whose state is a heap string per group); wider ones bitstring_agg. Null when the
 * range is wider than MAX_BITMAP_POSITIONS.
 */
export function positionBitmapSql(lo: number, hi: number, where = "true"): { aggregates: string; bits: string } | null {
  const range = hi - lo + 1;
  if (range > MAX_BITMAP_POSITIONS) return null;
  if (range > MAX_WORD_POSITIONS)
    return { aggregates: `bitstring_agg(CAST("position" AS BIGINT), ${lo}, ${hi}) FILTER (WHERE ${where}) AS __bits0`, bits: "COALESCE(bit_count(__bits0), 0)" };
  const words = Math.ceil(range / WORD);
  const aggregates: string[] = [];
  const bits: string[] = [];
  for (let w = 0; w < words; w++) {
    const first = lo + w * WORD;
    const inWord = words === 1 ? where : `${where} AND "position" BETWEEN ${first} AND ${first + WORD - 1}`;
    aggregates.push(`bit_or(CASE WHEN ${inWord} THEN CAST(1 AS BIGINT) << CAST("position" - ${first} AS BIGINT) ELSE 0 END) AS __bits${w}`);
    bits.push(`CAST(bit_count(__bits${w}) AS BIGINT)`);
  }
  return { aggregates: aggregates.join(", "), bits: bits.join(" + ") };
}

/**
 * Whether rows (run, step, example, "position") may hold a key twice; false only when they
 * certainly do not. Exact and cheap: one aggregate per (run, step, example), no sort (see
 * positionBitmapSql). When positions span more than MAX_BITMAP_POSITIONS it answers true (the
 * caller's exact query decides).
 */
export async function mayHaveDuplicateKeys(engine: Engine, keys: string): Promise<boolean> {
  const [{ lo, hi }] = await engine.rows<{ lo: number | null; hi: number | null }>(
    `SELECT CAST(min("position") AS BIGINT) AS lo, CAST(max("position") AS BIGINT) AS hi FROM (${keys})`,
  );
  if (lo === null || hi === null) return false;
  const bitmap = positionBitmapSql(Number(lo), Number(hi));
  if (bitmap === null) return true;
  const [{ n }] = await engine.rows<{ n: number }>(
    `SELECT count(*) AS n FROM (SELECT count(*) AS c, ${bitmap.aggregates} FROM (${keys}) GROUP BY run, step, example) WHERE ${bitmap.bits} <> c`,
  );
  return Number(n) > 0;
}

/**
 * `clean` only when every row of a long-layout file passes `caseExpr` and no key repeats: one scan,
 * grouped by (run, step, example) with the bitmap of positions (see mayHaveDuplicateKeys). The
 * position range comes from the file's statistics; any doubt (a wide range, an error) says false.
 * The same scan says whether every (run, step, example) has a row at position 0 (`startsAtZero`,
 * which spares analyses the query of positionStart.ts).
 */
async function provenCleanLong(engine: Engine, read: string, caseExpr: string): Promise<{ clean: boolean; startsAtZero: boolean }> {
  const no = { clean: false, startsAtZero: false };
  try {
    const [{ lo, hi }] = await engine.rows<{ lo: number | null; hi: number | null }>(`SELECT CAST(min("position") AS BIGINT) AS lo, CAST(max("position") AS BIGINT) AS hi FROM ${read}`);
    if (lo === null || hi === null) return no;
    const bitmap = positionBitmapSql(Number(lo), Number(hi), "p IS NULL");
    if (bitmap === null) return no;
    const [{ bad, dup, late }] = await engine.rows<{ bad: number; dup: number; late: number }>(
      `SELECT COALESCE(sum(nbad), 0) AS bad, count(*) FILTER (WHERE ${bitmap.bits} <> c) AS dup, count(*) FILTER (WHERE first_position <> 0) AS late FROM (
         SELECT count(*) FILTER (WHERE p IS NOT NULL) AS nbad, count(*) FILTER (WHERE p IS NULL) AS c, min("position") AS first_position, ${bitmap.aggregates}
         FROM (SELECT ${caseExpr} AS p, run, step, example, "position" FROM ${read}) GROUP BY run, step, example)`,
    );
    const clean = Number(bad) === 0 && Number(dup) === 0;
    return { clean, startsAtZero: clean && Number(late) === 0 };
  } catch {
    return no;
  }
}

function sqlTypeOf(kind: ColumnKind): string {
  return kind === "metric" ? "DOUBLE" : kind === "label-integer" ? "BIGINT" : kind === "mask" ? "BOOLEAN" : "VARCHAR";
}
