/**
 * Loading token logs: inputs -> read and validate each file by format -> join -> the `tokens`
 * table. Text files (JSON Lines, CSV) are validated line by line while streaming; Parquet files
 * are validated by SQL. Invalid input throws `InvalidInputError` naming file, line or row, and
 * field; with `skipInvalid` the valid rows are used and the others counted by reason.
 */
import { basename } from "node:path";
import { InvalidInputError, Problem } from "../errors";
import { Engine } from "./engine";
import { detectFormat, resolveInputs } from "./inputs";
import { ProgressSink, progressSink } from "../progress";
import { InvalidFileError } from "./lines";
import { Column, ColumnKind, REQUIRED_METRIC } from "./schema";
import { validateParquet, ParquetFile } from "./readParquet";
import { prepareText } from "./textFile";
import { checkCrossFileDuplicates, unionColumns } from "./join";
import { FileReport, LoadOptions, LoadReport, PreparedFile, TokenLogs } from "./tokens";

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

