/**
 * Loading token logs into the DuckDB engine as one table `tokens` with the long layout:
 * `run VARCHAR, step INTEGER, example VARCHAR, position INTEGER`, one DOUBLE column per metric and
 * the label columns. Text files (JSON Lines, CSV) are validated line by line while streaming;
 * Parquet files are validated by SQL. Invalid input throws `InvalidInputError` naming file, line or
 * row, and field; with `skipInvalid` the valid rows are used and the others counted by reason.
 */
import { createWriteStream, WriteStream } from "node:fs";
import { basename, join } from "node:path";
import { InvalidInputError, Problem, UsageError } from "./errors";
import { Engine, EngineOptions, sqlIdent, sqlString } from "./engine";
import { detectFormat, resolveInputs } from "./files";
import { ProgressOption, ProgressSink, progressSink } from "./progress";
import { InvalidFileError, ScanResult, scanCsv, scanJsonLines } from "./scan";
import { Column, ColumnKind, Format, Layout, REQUIRED_METRIC } from "./schema";
import { validateParquet, ParquetFile, mayHaveDuplicateKeys } from "./parquet";
import { gateJsonLines } from "./gate";

export interface LoadOptions extends EngineOptions {
  /** Force the format of every file instead of detecting it from the name. */
  format?: Format;
  /** Force the layout instead of detecting it from the first record. */
  layout?: Layout;
  /** Use the valid rows and count the invalid ones by reason, instead of failing. Default false. */
  skipInvalid?: boolean;
  /** Progress for loads that take more than two seconds: "auto" (default), true, false, or a sink. */
  progress?: ProgressOption;
  /** Problems kept per file in the report (all are counted). Default 100. */
  maxProblems?: number;
}

/** What one file contributed. Records are lines (JSON Lines), data rows (CSV) or rows (Parquet). */
export interface FileReport {
  path: string;
  format: Format;
  layout: Layout | null;
  records: number;
  recordsUsed: number;
  recordsSkipped: number;
  /** Token rows used. */
  tokens: number;
  /** Skipped records by reason. */
  skipped: Record<string, number>;
  /** The first problems found (at most `maxProblems`). */
  problems: Problem[];
  problemCount: number;
}

export interface LoadReport {
  files: FileReport[];
  records: number;
  recordsUsed: number;
  recordsSkipped: number;
  tokens: number;
  skipped: Record<string, number>;
  /** Metric columns (numeric) and label columns found. */
  metrics: string[];
  /** Metrics that every file has: never null in the table (validation refuses nulls), so analyses skip the IS NOT NULL filter. */
  completeMetrics?: string[];
  labels: string[];
  options: { format?: Format; layout?: Layout; skipInvalid: boolean };
}

/** Token logs loaded into the engine. Query `tokens` (see `table`) or use the analysis functions. */
export class TokenLogs {
  constructor(
    readonly engine: Engine,
    /** Name of the table (or view) with the long-layout rows. */
    readonly table: string,
    readonly report: LoadReport,
  ) {}
  get metrics(): string[] {
    return this.report.metrics;
  }
  get labels(): string[] {
    return this.report.labels;
  }
  /** Checks that `metric` is a numeric column of these logs; returns it. */
  metric(name: string): string {
    if (!this.report.metrics.includes(name))
      throw new UsageError(`no metric "${name}" in these logs (numeric columns: ${this.report.metrics.join(", ") || "none"})`);
    return name;
  }
  /** Runs, sorted. */
  async runs(): Promise<string[]> {
    const rows = await this.engine.rows<{ run: string }>(`SELECT DISTINCT run FROM ${this.table} ORDER BY run`);
    return rows.map((r) => r.run);
  }
  /** Steps of a run (or of all runs), ascending. */
  async steps(run?: string): Promise<number[]> {
    const rows = run === undefined
      ? await this.engine.rows<{ step: number }>(`SELECT DISTINCT step FROM ${this.table} ORDER BY step`)
      : await this.engine.rows<{ step: number }>(`SELECT DISTINCT step FROM ${this.table} WHERE run = $run ORDER BY step`, { run });
    return rows.map((r) => r.step);
  }
  /** Counts of runs, steps, examples and token rows. */
  async counts(): Promise<{ runs: number; steps: number; examples: number; tokens: number }> {
    const [r] = await this.engine.rows<{ runs: number; steps: number; examples: number; tokens: number }>(
      `SELECT count(DISTINCT run) AS runs, count(DISTINCT step) AS steps, count(DISTINCT (run, example)) AS examples, count(*) AS tokens FROM ${this.table}`,
    );
    return r;
  }
  close(): void {
    this.engine.close();
  }
}

interface PreparedFile {
  path: string;
  format: Format;
  layout: Layout | null;
  columns: Column[];
  /** Scalar (per-record) fields of the wide layout. */
  scalars: Set<string>;
  /** SQL that reads the file's token rows in the long layout (before the union). */
  source: (all: Column[]) => string;
  report: FileReport;
  /** The path DuckDB reads (a clean copy in skip mode), to map engine errors back to the file. */
  readPath?: string;
}

/**
 * Loads token logs: one file, several, or globs (`"logs/*.jsonl.gz"`). Formats (JSON Lines, CSV,
 * Parquet, plain or gzip) and layouts (long, wide) are detected per file.
 *
 * @example
 * const logs = await loadTokenLogs("data/lab/tokens-*.jsonl.gz");
 * const prof = await positionProfile(logs, { metric: "loss" });
 */
export async function loadTokenLogs(inputs: string | string[], options: LoadOptions = {}): Promise<TokenLogs> {
  const list = Array.isArray(inputs) ? inputs : [inputs];
  const { files, problems } = resolveInputs(list);
  if (problems.length) throw new InvalidInputError(problems);
  const progress = progressSink(options.progress);
  const engine = await Engine.create(options);
  try {
    const prepared: PreparedFile[] = [];
    const expected = new Map<string, ColumnKind>();
    const allProblems: Problem[] = [];
    let totalProblems = 0;
    for (let i = 0; i < files.length; i++) {
      const file = files[i];
      const format = options.format ?? detectFormat(file);
      if (format === null) {
        allProblems.push({ file, line: null, field: null, reason: "unknown-format", message: "cannot tell the format from the name or the first bytes (use --format jsonl|csv|parquet)" });
        totalProblems++;
        continue;
      }
      const label = files.length > 1 ? `loading ${basename(file)} (${i + 1}/${files.length})` : `loading ${basename(file)}`;
      let p: PreparedFile;
      try {
        p = format === "parquet"
          ? await prepareParquet(engine, file, options, expected, progress, label)
          : await prepareText(engine, file, format, options, expected, progress, label);
      } catch (e) {
        if (e instanceof InvalidFileError) {
          allProblems.push(e.problem);
          totalProblems++;
          continue;
        }
        throw e;
      }
      if (p.report.problemCount > 0 && !options.skipInvalid) {
        allProblems.push(...p.report.problems);
        totalProblems += p.report.problemCount;
      }
      for (const c of p.columns) if (!expected.has(c.name)) expected.set(c.name, c.kind);
      prepared.push(p);
    }
    progress.done();
    if (allProblems.length) throw new InvalidInputError(allProblems.slice(0, options.maxProblems ?? 100), totalProblems);
    const usable = prepared.filter((p) => p.report.tokens > 0 || p.format === "parquet");
    const columns = unionColumns(prepared);
    if (!columns.some((c) => c.name === REQUIRED_METRIC && c.kind === "metric") || prepared.every((p) => p.report.tokens === 0))
      throw noRows(prepared, options);
    const union = usable.map((p) => p.source(columns)).join("\nUNION ALL\n");
    const materialize = usable.some((p) => p.format !== "parquet");
    try {
      await engine.rows(`CREATE ${materialize ? "TABLE" : "VIEW"} tokens AS ${union}`, undefined, progress, "building the token table");
    } catch (e) {
      throw engineRejected(e, prepared);
    }
    progress.done();
    if (usable.length > 1) await checkCrossFileDuplicates(engine, usable, columns);
    const report = buildReport(prepared, columns, options);
    if (report.tokens === 0) throw noRows(prepared, options);
    return new TokenLogs(engine, "tokens", report);
  } catch (e) {
    progress.done();
    engine.close();
    throw e;
  }
}

/** Skip mode left nothing: the problems that removed the rows, then one line saying so. */
function noRows(prepared: PreparedFile[], options: LoadOptions): InvalidInputError {
  const max = options.maxProblems ?? 100;
  const problems = prepared.flatMap((p) => p.report.problems).slice(0, max);
  const total = prepared.reduce((a, p) => a + p.report.problemCount, 0);
  const files = prepared.map((p) => p.path).join(", ");
  problems.push({ file: files, line: null, field: null, reason: "no-rows", message: "no valid token rows to load" });
  return new InvalidInputError(problems, total + 1);
}

/**
 * DuckDB refused a file the checker passed (a gap in the checker): still a clean, one-line input
 * error naming the file and line when DuckDB says them, never an internal error.
 */
function engineRejected(e: unknown, prepared: PreparedFile[]): unknown {
  const msg = e instanceof Error ? e.message : String(e);
  if (!/^(Invalid Input|Conversion|Out of Range|Binder|Parser) Error/.test(msg)) return e;
  const m = /in file "(.*?)", (?:in|at) (?:line|byte \d+ in line) (\d+)/.exec(msg);
  const hit = m ? prepared.find((p) => p.readPath === m[1] || p.path === m[1]) : undefined;
  const file = hit?.path ?? (prepared.length === 1 ? prepared[0].path : prepared.map((p) => p.path).join(", "));
  const first = msg.split("\n")[0].replace(/ in file ".*?",/, "").replace(/^[A-Za-z ]*Error: /, "");
  return new InvalidInputError([{ file, line: m && hit && hit.readPath === hit.path ? Number(m[2]) : null, field: null, reason: "rejected", message: `DuckDB cannot read this input: ${first}` }]);
}

/**
 * A key (run, step, example, position) at most once across all files too. Cheap check on the
 * loaded table; only when it fails, a second query names the files. Always an error, also with
 * skipInvalid: which of two files is right (the same file twice, or a resumed run) is the user's call.
 */
async function checkCrossFileDuplicates(engine: Engine, usable: PreparedFile[], columns: Column[]): Promise<void> {
  // At scale the GROUP BY over every key is the cost (and needs memory): first two cheap exact
  // tests. Parquet files whose (run, step) sets are disjoint cannot share a key (each file's own
  // duplicates are handled by its validation); otherwise a bitmap test over (run, step, example).
  if (usable.every((p) => p.format === "parquet")) {
    const steps = usable.map((p, i) => `SELECT DISTINCT ${i} AS __aligndepth_f, run, step FROM (${p.source(columns)})`).join("\nUNION ALL\n");
    const [{ shared }] = await engine.rows<{ shared: number }>(`SELECT count(*) AS shared FROM (SELECT 1 FROM (${steps}) GROUP BY run, step HAVING count(*) > 1)`);
    if (Number(shared) === 0) return;
  }
  if (!(await mayHaveDuplicateKeys(engine, `SELECT run, step, example, "position" FROM tokens`))) return;
  const [{ n }] = await engine.rows<{ n: number }>(
    `SELECT count(*) AS n FROM (SELECT 1 FROM tokens GROUP BY run, step, example, "position" HAVING count(*) > 1)`,
  );
  if (Number(n) === 0) return;
  const union = usable.map((p, i) => `SELECT ${i} AS __aligndepth_f, run, step, example, "position" FROM (${p.source(columns)})`).join("\nUNION ALL\n");
  const rows = await engine.rows<{ run: string; step: number; example: string; position: number; files: number[] }>(
    `SELECT run, step, example, "position", list(DISTINCT __aligndepth_f ORDER BY __aligndepth_f) AS files FROM (${union})
     GROUP BY run, step, example, "position" HAVING count(*) > 1 ORDER BY min(__aligndepth_f), run, step, example, "position" LIMIT 10`,
  );
  const problems: Problem[] = rows.map((r) => {
    const fs = r.files.map((f) => usable[Number(f)].path);
    return {
      file: fs[fs.length - 1],
      line: null,
      field: null,
      reason: "duplicate-key",
      message: `duplicate key across files: run ${JSON.stringify(r.run)}, step ${r.step}, example ${JSON.stringify(r.example)}, position ${r.position} is also in ${fs.slice(0, -1).join(", ")} (the same file twice, or a resumed run? pass one of them)`,
    };
  });
  throw new InvalidInputError(problems, Number(n));
}

function unionColumns(prepared: PreparedFile[]): Column[] {
  const out: Column[] = [];
  for (const p of prepared) for (const c of p.columns) if (!out.some((o) => o.name === c.name)) out.push(c);
  return out;
}

function buildReport(prepared: PreparedFile[], columns: Column[], options: LoadOptions): LoadReport {
  const skipped: Record<string, number> = {};
  for (const p of prepared) for (const [k, v] of Object.entries(p.report.skipped)) skipped[k] = (skipped[k] ?? 0) + v;
  const sum = (f: (r: FileReport) => number) => prepared.reduce((a, p) => a + f(p.report), 0);
  return {
    files: prepared.map((p) => p.report),
    records: sum((r) => r.records),
    recordsUsed: sum((r) => r.recordsUsed),
    recordsSkipped: sum((r) => r.recordsSkipped),
    tokens: sum((r) => r.tokens),
    skipped,
    metrics: columns.filter((c) => c.kind === "metric").map((c) => c.name),
    completeMetrics: columns.filter((c) => c.kind === "metric" && prepared.every((p) => p.report.tokens === 0 || p.columns.some((o) => o.name === c.name))).map((c) => c.name),
    labels: columns.filter((c) => c.kind !== "metric").map((c) => c.name),
    options: { format: options.format, layout: options.layout, skipInvalid: Boolean(options.skipInvalid) },
  };
}

export function sqlType(kind: ColumnKind): string {
  return kind === "metric" ? "DOUBLE" : kind === "label-integer" ? "BIGINT" : "VARCHAR";
}

/** The SELECT list that maps a file's own columns onto the union's (NULL where a file lacks one). */
export function projectColumns(own: Column[], all: Column[], expr: (c: Column) => string): string {
  return all
    .map((c) => (own.some((o) => o.name === c.name) ? `CAST(${expr(c)} AS ${sqlType(c.kind)}) AS ${sqlIdent(c.name)}` : `CAST(NULL AS ${sqlType(c.kind)}) AS ${sqlIdent(c.name)}`))
    .join(", ");
}

async function prepareText(
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
  // JSON Lines: a DuckDB pass proves most clean files clean (src/gate.ts); on any doubt the validator runs.
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

async function prepareParquet(
  engine: Engine,
  file: string,
  options: LoadOptions,
  expected: Map<string, ColumnKind>,
  progress: ProgressSink,
  label: string,
): Promise<PreparedFile> {
  const pq: ParquetFile = await validateParquet(engine, file, { skipInvalid: Boolean(options.skipInvalid), layout: options.layout, expected, maxProblems: options.maxProblems ?? 100, progress, label });
  return { path: file, format: "parquet", layout: pq.layout, columns: pq.columns, scalars: new Set(), report: pq.report, source: pq.source };
}
