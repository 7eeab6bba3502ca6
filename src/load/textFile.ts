/**
 * Text files (JSON Lines, CSV) as DuckDB sources: the file is validated by its format's scanner
 * (readJsonLines.ts, readCsv.ts; a clean JSON Lines file may be proven clean by gateJsonLines.ts),
 * then read by DuckDB as long-layout token rows (a clean copy of the valid records in skip mode).
 */
import { createWriteStream, WriteStream } from "node:fs";
import { join } from "node:path";
import { Engine, readerArgs, sqlIdent, sqlString } from "./engine";
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

/**
 * Text files declare a mask column as text and read it with this expression, which agrees with the
 * checker's `maskValue` on every value it accepts (true/false in any case, 1/0 however written:
 * `1.0`, `0.0` as pandas writes a float column), where DuckDB's own BOOLEAN cast refuses `1.0`.
 */
function maskText(col: string): string {
  const t = `lower(trim(CAST(${col} AS VARCHAR)))`;
  return `CASE WHEN ${t} = 'true' OR TRY_CAST(${t} AS DOUBLE) = 1 THEN true WHEN ${t} = 'false' OR TRY_CAST(${t} AS DOUBLE) = 0 THEN false END`;
}

/** The type a text file's column is declared with (a mask is read as text: see `maskText`). */
const declared = (kind: ColumnKind) => (kind === "mask" ? "VARCHAR" : sqlType(kind));

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
  proven?: TextProof,
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
  // A file the validation cache proved clean (for these options) is not scanned again.
  const gated = proven ? { ...proven, file, problems: [], needsCleanCopy: false, rewrites: false } : format === "jsonl" && plain ? await gateJsonLines(engine, file, scanOpts, { progress, label }) : null;
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
  // Wide records without an offset hold positions 0, 1, ... of each list: every (run, step,
  // example) starts at position 0 (positionStart.ts need not look). Proven only by the gate, whose
  // pattern gives every line the first line's keys (the validator's fields are the first record's,
  // and a later record may carry an offset); kept with the proof for a warm load.
  const startsAtZero = proven ? proven.startsAtZero === true : gated !== null && layout === "wide" && !raw.has(src(OFFSET_FIELD)) && scan.problemCount === 0 && Object.keys(scan.droppedValues ?? {}).length === 0;
  return {
    startsAtZero,
    path: file,
    format,
    layout,
    columns,
    scalars: new Set(),
    report,
    readPath,
    rawFields: scan.rawFields,
    // Only a file read as it is can be cached (a clean copy lives as long as the engine).
    proof: readPath === file && scan.problemCount === 0 ? textProof(scan, startsAtZero) : undefined,
    source: (all) => textSource(readPath, format, layout ?? "long", columns, all, src, scan.rawFields, scan.longestLine ?? 0, scan.exampleText === true),
  };
}

/**
 * What validating a clean text file proved, for the validation cache: its layout, columns and
 * counts. Only files that DuckDB reads as they are (no problems, no clean copy) are cached; a file
 * with problems in skip mode, a BOM or CR line ends, or a cut gzip stream is validated at every load.
 */
export interface TextProof {
  layout: Layout;
  columns: Column[];
  records: number;
  validRecords: number;
  tokens: number;
  problemCount: 0;
  skippedByReason: Record<string, number>;
  droppedValues: Record<string, Record<string, number>>;
  problemGroups: Record<string, number>;
  rawFields: string[];
  longestLine: number;
  header?: string;
  /** Every example id is a JSON string (see ScanResult.exampleText). */
  exampleText?: boolean;
  /** Every (run, step, example) starts at position 0, proven by the gate (see PreparedFile.startsAtZero). */
  startsAtZero?: boolean;
}

function textProof(scan: ScanResult, startsAtZero: boolean): TextProof | undefined {
  if (scan.layout === null) return undefined;
  return { ...(startsAtZero ? { startsAtZero } : {}), layout: scan.layout, columns: scan.columns, records: scan.records, validRecords: scan.validRecords, tokens: scan.tokens, problemCount: 0, skippedByReason: scan.skippedByReason, droppedValues: scan.droppedValues, problemGroups: scan.problemGroups, rawFields: scan.rawFields, longestLine: scan.longestLine ?? 0, ...(scan.exampleText ? { exampleText: true } : {}), ...(scan.header !== undefined ? { header: scan.header } : {}) };
}

/** Whether a cached value has the shape of a TextProof. */
export function isTextProof(v: unknown): v is TextProof {
  const p = v as TextProof;
  const kinds = ["metric", "label-integer", "label-string", "mask"];
  return (
    typeof p === "object" && p !== null && (p.layout === "long" || p.layout === "wide") && p.problemCount === 0 &&
    ["records", "validRecords", "tokens", "longestLine"].every((k) => typeof (p as unknown as Record<string, unknown>)[k] === "number") &&
    Array.isArray(p.columns) && p.columns.every((c) => typeof c?.name === "string" && kinds.includes(c.kind)) &&
    Array.isArray(p.rawFields) && p.rawFields.every((f) => typeof f === "string") &&
    typeof p.skippedByReason === "object" && typeof p.droppedValues === "object" && typeof p.problemGroups === "object"
  );
}

function writeLine(out: WriteStream, text: string): void {
  out.write(text);
  out.write("\n");
}

/**
 * SQL that reads a validated text file as long-layout token rows, named by their fields: `src`
 * gives the file's own column for a field (the column mapping), `header` the CSV header.
 */
function textSource(path: string, format: Format, layout: Layout, own: Column[], all: Column[], src: (field: string) => string, header: string[], longest = 0, exampleText = false): string {
  const q = (field: string) => sqlIdent(src(field));
  const value = (c: Column) => (c.kind === "mask" ? maskText(q(c.name)) : q(c.name));
  const keys = `CAST(${q("run")} AS VARCHAR) AS run, CAST(${q("step")} AS INTEGER) AS step, CAST(${q("example")} AS VARCHAR) AS example`;
  const keyTypes: Record<string, string> = { run: "VARCHAR", step: "BIGINT", example: "VARCHAR", position: "BIGINT" };
  if (format === "csv") {
    // Every header column is declared (columns never given a value are read as text and not used).
    const byField = new Map(own.map((c) => [c.name, c]));
    const fieldOfColumn = new Map<string, string>();
    for (const f of [...Object.keys(keyTypes), ...own.map((c) => c.name)]) fieldOfColumn.set(src(f), f);
    const types = header.map((h) => {
      const f = fieldOfColumn.get(h);
      const t = f === undefined ? "VARCHAR" : keyTypes[f] ?? (byField.has(f) ? declared(byField.get(f)!.kind) : "VARCHAR");
      return `${sqlString(h)}: '${t}'`;
    });
    const notNull = own.filter((c) => c.kind === "label-string").map((c) => sqlString(src(c.name)));
    return `SELECT ${keys}, CAST(${q("position")} AS INTEGER) AS "position", ${projectColumns(own, all, value)}
FROM read_csv(${readerArgs(path, "text")}, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"', columns = {${types.join(", ")}}, nullstr = ''${notNull.length ? `, force_not_null = [${notNull.join(", ")}]` : ""}, strict_mode = true)`;
  }
  // Example ids: JSON numbers read as VARCHAR keep their spelling (1.0, 1e0); the checker and the
  // table must agree that they are the integer 1, so numbers go through BIGINT (the checker bounds them).
  const ex = q("example");
  // Ids known to be JSON strings (the gate's pass) are read as text, without the per-row type test.
  const exampleSql = exampleText ? `CAST(${ex} AS VARCHAR)` : `CASE WHEN json_type(${ex}) = 'VARCHAR' THEN json_extract_string(${ex}, '$') ELSE CAST(CAST(CAST(${ex} AS DOUBLE) AS BIGINT) AS VARCHAR) END`;
  const jsonKeys = `CAST(${q("run")} AS VARCHAR) AS run, CAST(${q("step")} AS INTEGER) AS step, ${exampleSql} AS example`;
  const baseTypes = [`${q("run")}: 'VARCHAR'`, `${q("step")}: 'BIGINT'`, `${ex}: '${exampleText ? "VARCHAR" : "JSON"}'`];
  if (layout === "long") {
    const types = [...baseTypes, `${q("position")}: 'BIGINT'`, ...own.map((c) => `${q(c.name)}: '${declared(c.kind)}'`)];
    return `SELECT ${jsonKeys}, CAST(${q("position")} AS INTEGER) AS "position", ${projectColumns(own, all, value)}
FROM read_json(${readerArgs(path, "text")}, format = 'newline_delimited'${objectSize(longest)}, columns = {${types.join(", ")}})`;
  }
  // Wide: scalars broadcast, arrays unnested in step (DuckDB zips the unnests of one SELECT). The
  // positions come from the first metric array the record has (a metric not measured is null).
  const arrays = own.filter((c) => !c.scalar);
  const metricArrays = arrays.filter((c) => c.kind === "metric");
  const lead = (metricArrays.length ? metricArrays : arrays.slice(0, 1)).map((c) => q(c.name));
  const inner = own.map((c) => (c.scalar ? q(c.name) : `unnest(${q(c.name)}) AS ${q(c.name)}`)).join(", ");
  const off = q(OFFSET_FIELD);
  const wideTypes = [...baseTypes, `${off}: 'BIGINT'`, ...own.map((c) => `${q(c.name)}: '${declared(c.kind)}${c.scalar ? "" : "[]"}'`)].join(", ");
  return `SELECT ${jsonKeys}, CAST(COALESCE(${off}, 0) + __aligndepth_i - 1 AS INTEGER) AS "position", ${projectColumns(own, all, value)}
FROM (SELECT ${q("run")}, ${q("step")}, ${ex}, ${off}, generate_subscripts(${lead.length > 1 ? `COALESCE(${lead.join(", ")})` : lead[0]}, 1) AS __aligndepth_i, ${inner}
      FROM read_json(${readerArgs(path, "text")}, format = 'newline_delimited'${objectSize(longest)}, columns = {${wideTypes}}))`;
}

/** read_json's object size limit (default 16 MB) raised only for files with longer lines (it sizes buffers). */
function objectSize(longest: number): string {
  return longest < 8 * 1024 * 1024 ? "" : `, maximum_object_size = ${2 ** Math.ceil(Math.log2(longest + 1024))}`;
}
