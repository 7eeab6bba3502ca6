/**
 * Parquet row-group statistics (the footer: null counts, min/max per column chunk), for questions
 * they settle without reading a value: whether two files can share a key (their (run, step) ranges
 * are disjoint) and how many rows have each metric (rows minus nulls). Any statistic a writer left
 * out makes the answer unknown (null), and the caller scans as before.
 */
import { Engine, sqlFileList } from "./engine";
import type { PreparedFile } from "./tokens";
import type { ColumnMapping } from "./mapping";

/** One column of one file, summed over its row groups; null where some row group lacks the statistic. */
export interface ColumnStats {
  values: number;
  nulls: number | null;
  minNumber: number | null;
  maxNumber: number | null;
  minText: string | null;
  maxText: string | null;
}

/** Statistics per file (as named in `files`) and column (the file's own name); null when the footers cannot be read. */
export async function parquetColumnStats(engine: Engine, files: string[]): Promise<Map<string, Map<string, ColumnStats>> | null> {
  if (files.length === 0) return new Map();
  try {
    const rows = await engine.rows<{ file: string; col: string; vals: number; nulls: number | null; lo: number | null; hi: number | null; tlo: string | null; thi: string | null }>(
      `SELECT file_name AS file, path_in_schema AS col, sum(num_values) AS vals,
              CASE WHEN count(stats_null_count) = count(*) THEN sum(stats_null_count) END AS nulls,
              CASE WHEN count(TRY_CAST(stats_min_value AS BIGINT)) = count(*) THEN min(TRY_CAST(stats_min_value AS BIGINT)) END AS lo,
              CASE WHEN count(TRY_CAST(stats_max_value AS BIGINT)) = count(*) THEN max(TRY_CAST(stats_max_value AS BIGINT)) END AS hi,
              CASE WHEN count(stats_min_value) = count(*) THEN min(stats_min_value) END AS tlo,
              CASE WHEN count(stats_max_value) = count(*) THEN max(stats_max_value) END AS thi
       FROM parquet_metadata(${sqlFileList(files)}) GROUP BY file_name, path_in_schema`,
    );
    const out = new Map<string, Map<string, ColumnStats>>();
    for (const r of rows) {
      const m = out.get(r.file) ?? new Map<string, ColumnStats>();
      const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
      m.set(r.col, { values: Number(r.vals), nulls: num(r.nulls), minNumber: num(r.lo), maxNumber: num(r.hi), minText: r.tlo ?? null, maxText: r.thi ?? null });
      out.set(r.file, m);
    }
    return files.every((f) => out.has(f)) ? out : null;
  } catch {
    return null;
  }
}

/** The file's own column for a field (the column mapping, when the file has the mapped column). */
function rawColumn(p: PreparedFile, field: string, mapping: ColumnMapping | undefined): string {
  const mapped = mapping?.[field];
  return mapped !== undefined && (p.rawFields ?? []).includes(mapped) ? mapped : field;
}

/**
 * True when the statistics prove that no two files share a (run, step): for every pair, their step
 * ranges or their run ranges are disjoint. False means "not proven" (the caller's scan decides).
 */
export function disjointRunSteps(prepared: PreparedFile[], stats: Map<string, Map<string, ColumnStats>>, mapping: ColumnMapping | undefined): boolean {
  const ranges = prepared.map((p) => {
    const s = stats.get(p.path);
    const run = s?.get(rawColumn(p, "run", mapping));
    const step = s?.get(rawColumn(p, "step", mapping));
    if (!run || !step || run.minText === null || run.maxText === null || step.minNumber === null || step.maxNumber === null) return null;
    return { runLo: run.minText, runHi: run.maxText, stepLo: step.minNumber, stepHi: step.maxNumber };
  });
  if (ranges.some((r) => r === null)) return false;
  const rs = ranges as Array<{ runLo: string; runHi: string; stepLo: number; stepHi: number }>;
  for (let i = 0; i < rs.length; i++)
    for (let j = i + 1; j < rs.length; j++) {
      const a = rs[i];
      const b = rs[j];
      const stepsOverlap = a.stepLo <= b.stepHi && b.stepLo <= a.stepHi;
      const runsOverlap = a.runLo <= b.runHi && b.runLo <= a.runHi;
      if (stepsOverlap && runsOverlap) return false;
    }
  return true;
}

/**
 * Rows of the union and rows with each metric, from the statistics: for clean long-layout files read
 * as they are (no row filtered, no value dropped, no join), a metric's rows are the file's rows
 * minus its nulls (0 in a file without the column). Null when a statistic is missing.
 */
export function metricRowsFromStats(prepared: PreparedFile[], metrics: string[], stats: Map<string, Map<string, ColumnStats>>, mapping: ColumnMapping | undefined): { rows: number; metricRows: Record<string, number> } | null {
  let rows = 0;
  const metricRows: Record<string, number> = Object.fromEntries(metrics.map((m) => [m, 0]));
  for (const p of prepared) {
    const s = stats.get(p.path);
    if (!s || p.layout !== "long") return null;
    rows += p.report.records;
    for (const m of metrics) {
      if (!p.columns.some((c) => c.name === m)) continue;
      const c = s.get(rawColumn(p, m, mapping));
      if (!c || c.nulls === null || c.values !== p.report.records) return null;
      metricRows[m] += c.values - c.nulls;
    }
  }
  return { rows, metricRows };
}

const INTEGER_TYPE = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/;

/**
 * Key fields whose row checks the statistics of one file settle, so the validation scan need not
 * test them per row: no nulls (every row group counted them), and for `run` and a text `example` a
 * minimum that is not the empty string (a writer's truncated minimum is still a lower bound), for
 * an integer `step` or `position` a range within [0, 2^31 - 1]. `types`: field -> DuckDB type;
 * `raw`: field -> the file's own column. A missing statistic proves nothing.
 */
export function keysProvenByStats(stats: Map<string, ColumnStats> | undefined, types: Map<string, string>, raw: (field: string) => string): Set<string> {
  const proven = new Set<string>();
  if (!stats) return proven;
  for (const field of ["run", "step", "example", "position"]) {
    const t = types.get(field);
    const s = stats.get(raw(field));
    if (!t || !s || s.nulls !== 0) continue;
    const nonEmptyText = s.minText !== null && s.minText !== "";
    const intRange = INTEGER_TYPE.test(t) && s.minNumber !== null && s.maxNumber !== null && s.minNumber >= 0 && s.maxNumber <= 2147483647;
    if (field === "run" && t === "VARCHAR" && nonEmptyText) proven.add(field);
    if (field === "example" && (INTEGER_TYPE.test(t) || (t === "VARCHAR" && nonEmptyText))) proven.add(field);
    if ((field === "step" || field === "position") && intRange) proven.add(field);
  }
  return proven;
}
