/**
 * Text files (JSON Lines, CSV) as DuckDB sources: the file is validated by its format's scanner
 * (readJsonLines.ts, readCsv.ts; a clean JSON Lines file may be proven clean by gateJsonLines.ts),
 * then read by DuckDB as long-layout token rows (a clean copy of the valid records in skip mode).
 */
import { createWriteStream, WriteStream } from "node:fs";
import { join } from "node:path";
import { Engine, sqlIdent, sqlString } from "./engine";
import { ProgressSink } from "../progress";
import { InvalidFileError, ScanResult } from "./lines";
import { scanJsonLines } from "./readJsonLines";
import { scanCsv } from "./readCsv";
import { gateJsonLines } from "./gateJsonLines";
import { Column, ColumnKind, Format, Layout, OFFSET_FIELD } from "./schema";
import { rebases, scoredRowsOf } from "./scored";
import type { FileReport, LoadOptions, PreparedFile } from "./tokens";

export function sqlType(kind: ColumnKind): string {
  return kind === "metric" ? "DOUBLE" : kind === "label-integer" ? "BIGINT" : kind === "mask" ? "BOOLEAN" : "VARCHAR";
}

/** The SELECT list that maps a file's own columns onto the union's (NULL where a file lacks one). */
export function projectColumns(own: Column[], all: Column[], expr: (c: Column) => string): string {
  return all
    .map((c) => (own.some((o) => o.name === c.name) ? `CAST(${expr(c)} AS ${sqlType(c.kind)}) AS ${sqlIdent(c.name)}` : `CAST(NULL AS ${sqlType(c.kind)}) AS ${sqlIdent(c.name)}`))
    .join(", ");
}

export async function prepareText(
  engine: Engine,
  file: string,
  format: Format,
  options: LoadOptions,
  expected: Map<string, ColumnKind>,
  progress: ProgressSink,
  label: string,
): Promise<PreparedFile> {
  const { size } = await import("node:fs").then((fs) => fs.statSync(file));
  const gz = file.endsWith(".gz");
  // Bytes read so far; of a gzip file they are decompressed bytes, whose total is unknown.
  const onBytes = (n: number) => progress.update(label, gz ? null : n / size, gz ? { bytes: n } : { bytes: n, totalBytes: size });
  const check = { mapping: options.columns, scored: scoredRowsOf(options), dropInvalidValues: Boolean(options.skipInvalid) };
  const scanOpts = { layout: options.layout ?? null, expected, onBytes, maxProblems: options.maxProblems ?? 100, check };
  // JSON Lines: a DuckDB pass proves most clean files clean (gateJsonLines.ts); on any doubt the
  // validator runs. The gate knows the plain format only: with a mapping or scored rows, the validator.
  const plain = !options.columns && !rebases(check.scored);
  const gated = format === "jsonl" && plain ? await gateJsonLines(engine, file, scanOpts, { progress, label }) : null;
  let scan: ScanResult = gated ?? (format === "csv" ? await scanCsv(file, scanOpts) : await scanJsonLines(file, scanOpts));
  if (scan.records === 0) throw new InvalidFileError({ file, line: null, field: null, reason: "empty-file", message: format === "csv" ? "the file has a header but no records" : "the file holds no records" });
  let readPath = file;
  const needsCopy = scan.problemCount > 0 || scan.gzipCut || scan.needsCleanCopy || scan.rewrites;
  if (needsCopy && (options.skipInvalid || scan.problemCount === 0)) {
    // A clean copy (valid records only, no BOM) for DuckDB to read; the scan stays the authority.
    readPath = join(engine.scratch, `clean-${Math.random().toString(36).slice(2)}.${format}`);
    const out = createWriteStream(readPath);
    let header = true;
    const write = (text: string) => writeLine(out, text);
    const second = format === "csv"
      ? await scanCsv(file, { ...scanOpts, onValid: (t) => { if (header) { writeLine(out, scan.header!.replace(/^\uFEFF/, "").replace(/\r$/, "")); header = false; } write(t.replace(/\r$/, "")); } })
      : await scanJsonLines(file, { ...scanOpts, onValid: write });
    await new Promise<void>((res, rej) => out.end((e: unknown) => (e ? rej(e) : res())));
    scan = second;
  }
  const columns = scan.columns;
  const layout = scan.layout;
  const report: FileReport = {
    path: file,
    format,
    layout,
    records: scan.records,
    recordsUsed: scan.validRecords,
    recordsSkipped: scan.records - scan.validRecords,
    tokens: scan.tokens,
    skipped: scan.skippedByReason,
    droppedValues: scan.droppedValues,
    problems: scan.problems,
    problemCount: scan.problemCount,
    problemGroups: scan.problemGroups,
  };
  const raw = new Set(scan.rawFields);
  const src = (field: string) => (options.columns?.[field] !== undefined && raw.has(options.columns[field]) ? options.columns[field] : field);
  return {
    path: file,
    format,
    layout,
    columns,
    scalars: new Set(),
    report,
    readPath,
    rawFields: scan.rawFields,
    source: (all) => textSource(readPath, format, layout ?? "long", columns, all, src, scan.rawFields, scan.longestLine ?? 0),
  };
}

function writeLine(out: WriteStream, text: string): void {
  out.write(text);
  out.write("\n");
}

/**
 * SQL that reads a validated text file as long-layout token rows, named by their fields: `src`
 * gives the file's own column for a field (the column mapping), `header` the CSV header.
 */
function textSource(path: string, format: Format, layout: Layout, own: Column[], all: Column[], src: (field: string) => string, header: string[], longest = 0): string {
  const q = (field: string) => sqlIdent(src(field));
  const keys = `CAST(${q("run")} AS VARCHAR) AS run, CAST(${q("step")} AS INTEGER) AS step, CAST(${q("example")} AS VARCHAR) AS example`;
  const keyTypes: Record<string, string> = { run: "VARCHAR", step: "BIGINT", example: "VARCHAR", position: "BIGINT" };
  if (format === "csv") {
    // Every header column is declared (columns never given a value are read as text and not used).
    const byField = new Map(own.map((c) => [c.name, c]));
    const fieldOfColumn = new Map<string, string>();
    for (const f of [...Object.keys(keyTypes), ...own.map((c) => c.name)]) fieldOfColumn.set(src(f), f);
    const types = header.map((h) => {
      const f = fieldOfColumn.get(h);
      const t = f === undefined ? "VARCHAR" : keyTypes[f] ?? (byField.has(f) ? sqlType(byField.get(f)!.kind) : "VARCHAR");
      return `${sqlString(h)}: '${t}'`;
    });
    const notNull = own.filter((c) => c.kind === "label-string").map((c) => sqlString(src(c.name)));
    return `SELECT ${keys}, CAST(${q("position")} AS INTEGER) AS "position", ${projectColumns(own, all, (c) => q(c.name))}
FROM read_csv(${sqlString(path)}, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"', columns = {${types.join(", ")}}, nullstr = ''${notNull.length ? `, force_not_null = [${notNull.join(", ")}]` : ""}, strict_mode = true)`;
  }
  // Example ids: JSON numbers read as VARCHAR keep their spelling (1.0, 1e0); the checker and the
  // table must agree that they are the integer 1, so numbers go through BIGINT (the checker bounds them).
  const ex = q("example");
  const jsonKeys = `CAST(${q("run")} AS VARCHAR) AS run, CAST(${q("step")} AS INTEGER) AS step, CASE WHEN json_type(${ex}) = 'VARCHAR' THEN json_extract_string(${ex}, '$') ELSE CAST(CAST(CAST(${ex} AS DOUBLE) AS BIGINT) AS VARCHAR) END AS example`;
  const baseTypes = [`${q("run")}: 'VARCHAR'`, `${q("step")}: 'BIGINT'`, `${ex}: 'JSON'`];
  if (layout === "long") {
    const types = [...baseTypes, `${q("position")}: 'BIGINT'`, ...own.map((c) => `${q(c.name)}: '${sqlType(c.kind)}'`)];
    return `SELECT ${jsonKeys}, CAST(${q("position")} AS INTEGER) AS "position", ${projectColumns(own, all, (c) => q(c.name))}
FROM read_json(${sqlString(path)}, format = 'newline_delimited'${objectSize(longest)}, columns = {${types.join(", ")}})`;
  }
  // Wide: scalars broadcast, arrays unnested in step (DuckDB zips the unnests of one SELECT). The
  // positions come from the first metric array the record has (a metric not measured is null).
  const arrays = own.filter((c) => !c.scalar);
  const metricArrays = arrays.filter((c) => c.kind === "metric");
  const lead = (metricArrays.length ? metricArrays : arrays.slice(0, 1)).map((c) => q(c.name));
  const inner = own.map((c) => (c.scalar ? q(c.name) : `unnest(${q(c.name)}) AS ${q(c.name)}`)).join(", ");
  const off = q(OFFSET_FIELD);
  const wideTypes = [...baseTypes, `${off}: 'BIGINT'`, ...own.map((c) => `${q(c.name)}: '${sqlType(c.kind)}${c.scalar ? "" : "[]"}'`)].join(", ");
  return `SELECT ${jsonKeys}, CAST(COALESCE(${off}, 0) + __aligndepth_i - 1 AS INTEGER) AS "position", ${projectColumns(own, all, (c) => q(c.name))}
FROM (SELECT ${q("run")}, ${q("step")}, ${ex}, ${off}, generate_subscripts(${lead.length > 1 ? `COALESCE(${lead.join(", ")})` : lead[0]}, 1) AS __aligndepth_i, ${inner}
      FROM read_json(${sqlString(path)}, format = 'newline_delimited'${objectSize(longest)}, columns = {${wideTypes}}))`;
}

/** read_json's object size limit (default 16 MB) raised only for files with longer lines (it sizes buffers). */
function objectSize(longest: number): string {
  return longest < 8 * 1024 * 1024 ? "" : `, maximum_object_size = ${2 ** Math.ceil(Math.log2(longest + 1024))}`;
}
