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
import { Column, ColumnKind, Format, Layout, REQUIRED_METRIC } from "./schema";
import type { FileReport, LoadOptions, PreparedFile } from "./tokens";

export function sqlType(kind: ColumnKind): string {
  return kind === "metric" ? "DOUBLE" : kind === "label-integer" ? "BIGINT" : "VARCHAR";
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
  const onBytes = (n: number) => progress.update(label, gz ? null : n / size);
  const scanOpts = { layout: options.layout ?? null, expected, onBytes, maxProblems: options.maxProblems ?? 100 };
  // JSON Lines: a DuckDB pass proves most clean files clean (gateJsonLines.ts); on any doubt the validator runs.
  const gated = format === "jsonl" ? await gateJsonLines(engine, file, scanOpts, { progress, label }) : null;
  let scan: ScanResult = gated ?? (format === "csv" ? await scanCsv(file, scanOpts) : await scanJsonLines(file, scanOpts));
  if (scan.records === 0) throw new InvalidFileError({ file, line: null, field: null, reason: "empty-file", message: format === "csv" ? "the file has a header but no records" : "the file holds no records" });
  let readPath = file;
  const needsCopy = scan.problemCount > 0 || scan.gzipCut || scan.needsCleanCopy;
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
    problems: scan.problems,
    problemCount: scan.problemCount,
  };
  return {
    path: file,
    format,
    layout,
    columns,
    scalars: new Set(),
    report,
    readPath,
    source: (all) => textSource(readPath, format, layout ?? "long", columns, all, scan.longestLine ?? 0),
  };
}

function writeLine(out: WriteStream, text: string): void {
  out.write(text);
  out.write("\n");
}

/** SQL that reads a validated text file as long-layout token rows. */
function textSource(path: string, format: Format, layout: Layout, own: Column[], all: Column[], longest = 0): string {
  const keys = `CAST(run AS VARCHAR) AS run, CAST(step AS INTEGER) AS step, CAST(example AS VARCHAR) AS example`;
  if (format === "csv") {
    const types = [`'run': 'VARCHAR'`, `'step': 'BIGINT'`, `'example': 'VARCHAR'`, `'position': 'BIGINT'`, ...own.map((c) => `${sqlString(c.name)}: '${sqlType(c.kind)}'`)];
    return `SELECT ${keys}, CAST("position" AS INTEGER) AS "position", ${projectColumns(own, all, (c) => sqlIdent(c.name))}
FROM read_csv(${sqlString(path)}, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"', columns = {${types.join(", ")}}, nullstr = '\u0001', strict_mode = true)`;
  }
  // Example ids: JSON numbers read as VARCHAR keep their spelling (1.0, 1e0); the checker and the
  // table must agree that they are the integer 1, so numbers go through BIGINT (the checker bounds them).
  const jsonKeys = `CAST(run AS VARCHAR) AS run, CAST(step AS INTEGER) AS step, CASE WHEN json_type(example) = 'VARCHAR' THEN json_extract_string(example, '$') ELSE CAST(CAST(CAST(example AS DOUBLE) AS BIGINT) AS VARCHAR) END AS example`;
  if (layout === "long") {
    const types = [`run: 'VARCHAR'`, `step: 'BIGINT'`, `example: 'JSON'`, `"position": 'BIGINT'`, ...own.map((c) => `${sqlIdent(c.name)}: '${sqlType(c.kind)}'`)];
    return `SELECT ${jsonKeys}, CAST("position" AS INTEGER) AS "position", ${projectColumns(own, all, (c) => sqlIdent(c.name))}
FROM read_json(${sqlString(path)}, format = 'newline_delimited'${objectSize(longest)}, columns = {${types.join(", ")}})`;
  }
  // Wide: scalars broadcast, arrays unnested in step (DuckDB zips the unnests of one SELECT).
  const arrayCol = own.find((c) => c.name === REQUIRED_METRIC) ?? own.find((c) => !c.scalar)!;
  const inner = own.map((c) => (c.scalar ? sqlIdent(c.name) : `unnest(${sqlIdent(c.name)}) AS ${sqlIdent(c.name)}`)).join(", ");
  return `SELECT ${jsonKeys}, CAST(COALESCE("offset", 0) + __aligndepth_i - 1 AS INTEGER) AS "position", ${projectColumns(own, all, (c) => sqlIdent(c.name))}
FROM (SELECT run, step, example, "offset", generate_subscripts(${sqlIdent(arrayCol.name)}, 1) AS __aligndepth_i, ${inner}
      FROM read_json(${sqlString(path)}, format = 'newline_delimited'${objectSize(longest)}, columns = {${wideTypes(own)}}))`;
}

/** read_json's object size limit (default 16 MB) raised only for files with longer lines (it sizes buffers). */
function objectSize(longest: number): string {
  return longest < 8 * 1024 * 1024 ? "" : `, maximum_object_size = ${2 ** Math.ceil(Math.log2(longest + 1024))}`;
}

/** Column types for a wide JSON Lines read. */
function wideTypes(own: Column[]): string {
  return [`run: 'VARCHAR'`, `step: 'BIGINT'`, `example: 'JSON'`, `"offset": 'BIGINT'`, ...own.map((c) => `${sqlIdent(c.name)}: '${sqlType(c.kind)}${c.scalar ? "" : "[]"}'`)].join(", ");
}

