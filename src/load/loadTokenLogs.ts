/**
 * Loading token logs: inputs -> read and validate each file by format -> join -> the `tokens`
 * table. Text files (JSON Lines, CSV) are validated line by line while streaming; Parquet files
 * are validated by SQL. Invalid input throws `InvalidInputError` naming file, line or row, and
 * field; with `skipInvalid` the valid rows are used and the others counted by reason.
 */
import { basename } from "node:path";
import { InvalidInputError, Problem, UsageError, formatProblem } from "../errors";
import { Engine, readerArgs, sqlIdent } from "./engine";
import { detectFormat, otherRecordKind, peekFields, resolveInputs } from "./inputs";
import { checkColumnMapping, fieldOf } from "./mapping";
import { ScoredRows, applyScoredRows, scoredRowsOf } from "./scored";
import { ProgressSink, progressSink } from "../progress";
import { InvalidFileError } from "./lines";
import { Column, ColumnKind } from "./schema";
import { validateParquet, ParquetFile } from "./readParquet";
import { prepareText } from "./textFile";
import { JOINED_BY_KEY, joinFiles, unionColumns } from "./join";
import { groupProblems } from "./problems";
import { loadWarnings } from "./loadWarnings";
import { locateRows } from "./locateRows";
import { FileReport, LoadOptions, LoadReport, PreparedFile, TokenLogs } from "./tokens";
import { disjointRunSteps, metricRowsFromStats, parquetColumnStats } from "./parquetStats";
import { ValidationCache, fileIdentity, relocated, unchanged } from "./cache";
import { isParquetProof, ParquetProof } from "./readParquet";
import { isTextProof } from "./textFile";

/**
 * Loads token logs: one file, several, or globs (`"logs/*.jsonl.gz"`). Formats (JSON Lines, CSV,
 * Parquet, plain or gzip) and layouts (long, wide) are detected per file. In one call: columns
 * mapped to the fields (`columns`), rows that are not tokens of the log dropped and positions
 * re-based (`mask`, `unscored`, `span`), files joined by key, files of another record kind left out
 * (named in `report.notes`), metrics not measured everywhere kept as null (`report.metricRows`).
 *
 * @example
 * const logs = await loadTokenLogs("data/lab/tokens-*.jsonl.gz");
 * const prof = await positionProfile(logs, { metric: "loss" });
 * // a Hugging Face-style dump: own column names, prompt tokens labelled -100
 * const hf = await loadTokenLogs("hf_tokens.csv", {
 *   columns: { run: "run_name", step: "global_step", example: "sample_id", position: "token_idx", loss: "nll", token: "token_str" },
 *   unscored: { labels: -100 },
 * });
 * @throws InvalidInputError naming file, line or row, and field (METRICS 1.5); UsageError for
 * options that do not fit the files (a mapped column no input has, a span value that selects nothing).
 */
export async function loadTokenLogs(inputs: string | string[], given: LoadOptions = {}): Promise<TokenLogs> {
  const list = Array.isArray(inputs) ? inputs : [inputs];
  if (given.columns) checkColumnMapping(given.columns);
  // Mask, unscored and span columns may be named by the file's column or by the field it maps to.
  const asField = (c: string) => fieldOf(given.columns, c);
  const renameKeys = (r: Record<string, string | number> | undefined) => (r ? Object.fromEntries(Object.entries(r).map(([k, v]) => [asField(k), v])) : undefined);
  const options: LoadOptions = { ...given, mask: given.mask === undefined ? undefined : asField(given.mask), unscored: renameKeys(given.unscored), span: renameKeys(given.span) };
  const scored = scoredRowsOf(options);
  const { files, problems, repeated } = resolveInputs(list);
  if (problems.length) throw new InvalidInputError(problems);
  const progress = progressSink(options.progress);
  const cache = ValidationCache.open(options.cache !== false);
  // The options that change what validation decides (part of every cache key).
  const validationOptions = { format: options.format, layout: options.layout, skipInvalid: Boolean(options.skipInvalid), maxProblems: options.maxProblems ?? 100, columns: options.columns, mask: options.mask, unscored: options.unscored, span: options.span };
  const engine = await Engine.create(options);
  // Wall-clock seconds per stage (report.seconds), for the bench's breakdown of a load.
  const seconds = { inputs: 0, validation: 0, join: 0, scored: 0, counts: 0 };
  let mark = performance.now();
  const lap = (stage: keyof typeof seconds) => {
    const now = performance.now();
    seconds[stage] += (now - mark) / 1000;
    mark = now;
  };
  try {
    // Inputs: other record kinds left out; mapped and filter columns must exist somewhere.
    const leftOut: Array<{ path: string; kind: string }> = [];
    const tokenFiles: string[] = [];
    const fieldsOf = new Map<string, string[] | null>();
    const describe = async (file: string) => (await engine.rows<{ column_name: string }>(`DESCRIBE SELECT * FROM read_parquet(${readerArgs(file)})`)).map((r) => r.column_name);
    for (const file of files) {
      const format = options.format ?? detectFormat(file);
      const fields = format === null ? null : await peekFields(file, format, describe);
      fieldsOf.set(file, fields);
      const kind = fields === null ? null : otherRecordKind(fields, Object.values(options.columns ?? {}));
      if (kind !== null) leftOut.push({ path: file, kind });
      else tokenFiles.push(file);
    }
    if (tokenFiles.length === 0)
      throw new InvalidInputError(leftOut.map((l) => ({ file: l.path, line: null, field: null, reason: "not-a-token-log", message: `holds ${l.kind}, not token logs (no token log among the inputs)` })));
    checkNamedColumns(options, scored, tokenFiles.map((f) => [f, fieldsOf.get(f) ?? null]));
    lap("inputs");

    const prepared: PreparedFile[] = [];
    const expected = new Map<string, ColumnKind>();
    const allProblems: Problem[] = [];
    /** Each file's cache key, in order (null: the file's identity could not be read). */
    const fileKeys: Array<string | null> = [];
    for (let i = 0; i < tokenFiles.length; i++) {
      const file = tokenFiles[i];
      const format = options.format ?? detectFormat(file);
      if (format === null) {
        allProblems.push({ file, line: null, field: null, reason: "unknown-format", message: "cannot tell the format from the name or the first bytes (use --format jsonl|csv|parquet)" });
        continue;
      }
      const label = tokenFiles.length > 1 ? `loading ${basename(file)} (${i + 1}/${tokenFiles.length})` : `loading ${basename(file)}`;
      const identity = cache.enabled ? fileIdentity(file, format === "parquet") : null;
      const key = identity === null ? null : cache.key("file", { identity, format, options: validationOptions, expected: [...expected.entries()].sort() });
      fileKeys.push(key);
      let p: PreparedFile;
      try {
        if (format === "parquet") {
          const proven = key === null ? undefined : cache.get(key, isParquetProof);
          p = await prepareParquet(engine, file, options, expected, progress, label, proven && { ...proven, report: relocated(proven.report, file) });
        } else {
          const proven = key === null ? undefined : cache.get(key, isTextProof);
          p = await prepareText(engine, file, format, options, expected, progress, label, proven);
        }
        // Stored only when the file did not change while it was read.
        if (key !== null && p.proof !== undefined && identity !== null && unchanged(file, format === "parquet", identity)) cache.put(key, p.proof);
      } catch (e) {
        if (e instanceof InvalidFileError) {
          allProblems.push(e.problem);
          continue;
        }
        throw e;
      }
      if (p.report.problemCount > 0 && !options.skipInvalid) {
        allProblems.push(...p.report.problems);
      }
      for (const c of p.columns) if (!expected.has(c.name)) expected.set(c.name, c.kind);
      prepared.push(p);
    }
    progress.done();
    lap("validation");
    // A mask column of the wrong type (text; Parquet: not boolean or integer) is a usage error (the
    // option names the wrong column); bad values in a mask column are input errors (located below).
    const isType = (q: Problem) => q.reason === "bad-mask-type" || (q.reason === "bad-mask" && q.line === null);
    const badMask = allProblems.find(isType) ?? prepared.flatMap((p) => p.report.problems).find(isType);
    if (badMask) throw new UsageError(`--mask ${options.mask}: ${formatProblem(badMask)}`);
    if (allProblems.length) throw located(allProblems, prepared);
    const usable = prepared.filter((p) => p.report.tokens > 0 || p.format === "parquet");
    const columns = unionColumns(prepared);
    if (!columns.some((c) => c.kind === "metric") || prepared.every((p) => p.report.tokens === 0))
      throw noRows(prepared, options);
    const joinedName = scored ? "__aligndepth_joined" : "tokens";
    // Cross-file facts are keyed on the list of file keys (and the columns of the union).
    // Only for loads whose every file is cached (a file validated at every load makes them moot).
    const setKey = fileKeys.length === tokenFiles.length && fileKeys.every((k) => k !== null) && prepared.every((p) => p.proof !== undefined) ? (what: string) => cache.key(what, { files: fileKeys, usable: usable.map((u) => u.path), columns }) : null;
    // Parquet footers settle some questions without a scan (parquetStats.ts); read once, when needed.
    let stats: Awaited<ReturnType<typeof parquetColumnStats>> | undefined;
    const footers = async () => (stats ??= usable.every((p) => p.format === "parquet") ? await parquetColumnStats(engine, usable.map((p) => p.path)) : null);
    let joined = false;
    try {
      const sharedKey = setKey && usable.length > 1 ? setKey("shared-keys") : null;
      const known = sharedKey ? cache.get(sharedKey, (v): v is { shared: boolean } => typeof (v as { shared?: unknown })?.shared === "boolean") : undefined;
      let proven = known?.shared;
      if (proven === undefined && usable.length > 1) {
        const st = await footers();
        if (st && disjointRunSteps(usable, st, options.columns)) proven = false;
      }
      const shared = await joinFiles(engine, joinedName, usable, columns, progress, proven);
      joined = shared;
      if (sharedKey && !known) cache.put(sharedKey, { shared });
    } catch (e) {
      throw engineRejected(e, prepared);
    }
    lap("join");
    let unscored: LoadReport["unscored"];
    if (scored) {
      unscored = await applyScoredRows(engine, joinedName, "tokens", scored, columns, usable.map((p) => p.path), (want) => locateRows(engine, usable, options.columns, want));
      // The rows before the filters are not needed any more (their memory is freed).
      for (const rel of [joinedName, JOINED_BY_KEY]) await dropRelation(engine, rel);
    }
    progress.done();
    lap("scored");
    const countsKey = setKey ? setKey("metric-rows") : null;
    const cachedCounts = countsKey ? cache.get(countsKey, isMetricRows) : undefined;
    let counted = cachedCounts;
    if (!counted && !scored && !joined && prepared.every((p) => p.report.problemCount === 0)) {
      const st = await footers();
      if (st) counted = metricRowsFromStats(prepared, columns.filter((c) => c.kind === "metric").map((c) => c.name), st, options.columns) ?? undefined;
    }
    const report = await buildReport(engine, prepared, columns, options, { leftOut, unscored, rebased: Boolean(scored), counted, repeated });
    if (countsKey && !cachedCounts) cache.put(countsKey, { rows: report.tokens, metricRows: report.metricRows });
    report.cache = cache.use;
    lap("counts");
    report.seconds = seconds;
    if (report.tokens === 0) throw noRows(prepared, options);
    report.warnings = await loadWarnings(engine, "tokens", columns, prepared, options);
    return new TokenLogs(engine, "tokens", report);
  } catch (e) {
    progress.done();
    engine.close();
    throw e;
  }
}

/**
 * Every column the options name must be a column of some input: a mapped column (`columns`), the
 * mask, unscored and span columns (after mapping). Files whose fields could not be read are not
 * judged here (their loader says what is wrong).
 * @throws UsageError naming the option, the column and the columns the inputs have.
 */
function checkNamedColumns(options: LoadOptions, scored: ScoredRows | undefined, files: Array<[string, string[] | null]>): void {
  const known = files.filter(([, f]) => f !== null) as Array<[string, string[]]>;
  if (known.length === 0 || known.length < files.length) return;
  const all = new Set(known.flatMap(([, f]) => f));
  const example = `columns of ${known[0][0]}: ${known[0][1].join(", ")}`;
  for (const [field, column] of Object.entries(options.columns ?? {}))
    if (!all.has(column)) throw new UsageError(`--columns ${field}=${column}: no input has a column "${column}" (${example})`);
  const mappedFields = new Set([...all].map((c) => fieldOf(options.columns, c)));
  const named: Array<[string, string]> = [
    ...(scored?.mask ? [["--mask", scored.mask] as [string, string]] : []),
    ...Object.keys(scored?.unscored ?? {}).map((k) => ["--unscored", k] as [string, string]),
    ...Object.keys(scored?.span ?? {}).map((k) => ["--span", k] as [string, string]),
  ];
  for (const [opt, col] of named)
    if (!mappedFields.has(col) && !all.has(col)) throw new UsageError(`${opt} ${col}: no input has a column "${col}" (${example})`);
}

/** Drops a table or view if it exists. */
async function dropRelation(engine: Engine, name: string): Promise<void> {
  const [{ v }] = await engine.rows<{ v: number }>(`SELECT count(*) AS v FROM duckdb_views() WHERE view_name = $n`, { n: name });
  await engine.run(`DROP ${Number(v) > 0 ? "VIEW" : "TABLE"} IF EXISTS ${name}`);
}

/** The problems as METRICS 1.5 reports them: one per (file, field, reason), with the first locations and the count. */
function located(problems: Problem[], prepared: PreparedFile[]): InvalidInputError {
  const byPath = new Map(prepared.map((p) => [p.path, p]));
  const grouped = groupProblems(problems, (file, group) => byPath.get(file)?.report.problemGroups?.[group], (file) => (byPath.get(file)?.format === "parquet" ? "rows" : "lines"));
  return new InvalidInputError(grouped);
}

/** Skip mode left nothing: the problems that removed the rows, then one line saying so. */
function noRows(prepared: PreparedFile[], _options: LoadOptions): InvalidInputError {
  const problems = located(prepared.flatMap((p) => p.report.problems), prepared).problems;
  const files = prepared.map((p) => p.path).join(", ");
  problems.push({ file: files, line: null, field: null, reason: "no-rows", message: "no valid token rows to load" });
  return new InvalidInputError(problems);
}

/**
 * DuckDB refused a file the checker passed (a gap in the checker): still a clean, one-line input
 * error naming the file and line when DuckDB says them, never an internal error.
 */
function engineRejected(e: unknown, prepared: PreparedFile[]): unknown {
  const msg = e instanceof Error ? e.message : String(e);
  // DuckDB's gzip reader refuses data after the end of the stream (zero padding, which gzip -t
  // accepts and the checker reads past); its message names no file, so name the gzip inputs.
  if (/^IO Error: Input is not a GZIP stream/.test(msg)) {
    const gz = prepared.filter((p) => (p.readPath ?? p.path).endsWith(".gz"));
    const file = (gz.length ? gz : prepared).map((p) => p.path).join(", ");
    return new InvalidInputError([{ file, line: null, field: null, reason: "rejected", message: "DuckDB cannot read this gzip file: it has data after the end of its gzip stream (such as zero padding); decompress it (gunzip drops the padding) and load the result" }]);
  }
  if (!/^(Invalid Input|Conversion|Out of Range|Binder|Parser) Error/.test(msg)) return e;
  const m = /in file "(.*?)", (?:in|at) (?:line|byte \d+ in line) (\d+)/.exec(msg);
  const hit = m ? prepared.find((p) => p.readPath === m[1] || p.path === m[1]) : undefined;
  const file = hit?.path ?? (prepared.length === 1 ? prepared[0].path : prepared.map((p) => p.path).join(", "));
  const first = msg.split("\n")[0].replace(/ in file ".*?",/, "").replace(/^[A-Za-z ]*Error: /, "");
  return new InvalidInputError([{ file, line: m && hit && hit.readPath === hit.path ? Number(m[2]) : null, field: null, reason: "rejected", message: `DuckDB cannot read this input: ${first}` }]);
}

async function buildReport(
  engine: Engine,
  prepared: PreparedFile[],
  columns: Column[],
  options: LoadOptions,
  extra: { leftOut: Array<{ path: string; kind: string }>; unscored?: LoadReport["unscored"]; rebased: boolean; counted?: MetricRows; repeated?: string[] },
): Promise<LoadReport> {
  const skipped: Record<string, number> = {};
  for (const p of prepared) for (const [k, v] of Object.entries(p.report.skipped)) skipped[k] = (skipped[k] ?? 0) + v;
  const droppedValues: Record<string, Record<string, number>> = {};
  for (const p of prepared)
    for (const [m, by] of Object.entries(p.report.droppedValues ?? {}))
      for (const [reason, n] of Object.entries(by)) (droppedValues[m] ??= {})[reason] = (droppedValues[m]?.[reason] ?? 0) + n;
  const sum = (f: (r: FileReport) => number) => prepared.reduce((a, p) => a + f(p.report), 0);
  const metrics = columns.filter((c) => c.kind === "metric").map((c) => c.name);
  // Rows with each metric: one scan of the table (a metric may be measured at some rows only), or
  // the validation cache's counts for these files and options.
  let rows: number;
  const metricRows: Record<string, number> = {};
  if (extra.counted && metrics.every((m) => typeof extra.counted!.metricRows[m] === "number")) {
    rows = extra.counted.rows;
    for (const m of metrics) metricRows[m] = extra.counted.metricRows[m];
  } else {
    const [counts] = await engine.rows<Record<string, number>>(
      `SELECT count(*) AS __rows${metrics.map((m, i) => `, count(${sqlIdent(m)}) AS m${i}`).join("")} FROM tokens`,
    );
    rows = Number(counts.__rows);
    metrics.forEach((m, i) => (metricRows[m] = Number(counts[`m${i}`])));
  }
  const notes: string[] = [];
  for (const r of extra.repeated ?? []) notes.push(r);
  for (const l of extra.leftOut) notes.push(`left out ${l.path}: it holds ${l.kind}, not token logs`);
  if (extra.unscored && extra.unscored.rows > 0)
    notes.push(`${extra.unscored.rows} rows not scored, dropped (${Object.entries(extra.unscored.byOption).map(([o, n]) => `${o}: ${n}`).join(", ")}); positions re-based so that each example's first scored token is position 0`);
  else if (extra.rebased) notes.push("positions re-based so that each example's first scored token is position 0 (no row dropped)");
  for (const [m, by] of Object.entries(droppedValues))
    notes.push(`dropped ${Object.values(by).reduce((a, b) => a + b, 0)} invalid values of "${m}" (${Object.entries(by).map(([r, n]) => `${n} ${r}`).join(", ")}); the rest of their records kept`);
  const partial = metrics.filter((m) => metricRows[m] < rows && metricRows[m] > 0);
  for (const m of partial) notes.push(`"${m}" is measured at ${metricRows[m]} of ${rows} rows (not measured elsewhere); analyses of "${m}" use those rows`);
  return {
    files: prepared.map((p) => p.report),
    records: sum((r) => r.records),
    recordsUsed: sum((r) => r.recordsUsed),
    recordsSkipped: sum((r) => r.recordsSkipped),
    tokens: rows,
    skipped,
    metrics,
    completeMetrics: metrics.filter((m) => metricRows[m] === rows),
    // Every file's every (run, step, example) has position 0, so every group of the union has it too.
    startsAtZero: !extra.rebased && prepared.length > 0 && prepared.every((p) => p.startsAtZero === true),
    metricRows,
    ...(Object.keys(droppedValues).length ? { droppedValues } : {}),
    ...(extra.unscored ? { unscored: extra.unscored } : {}),
    rebased: extra.rebased,
    leftOut: extra.leftOut,
    notes,
    labels: columns.filter((c) => c.kind !== "metric" && c.kind !== "mask").map((c) => c.name),
    options: {
      format: options.format,
      layout: options.layout,
      skipInvalid: Boolean(options.skipInvalid),
      ...(options.columns ? { columns: options.columns } : {}),
      ...(options.mask ? { mask: options.mask } : {}),
      ...(options.unscored ? { unscored: options.unscored } : {}),
      ...(options.span ? { span: options.span } : {}),
    },
  };
}

/** Rows of the table and rows with each metric (cached per list of files). */
interface MetricRows {
  rows: number;
  metricRows: Record<string, number>;
}

function isMetricRows(v: unknown): v is MetricRows {
  const m = v as MetricRows;
  return typeof m === "object" && m !== null && typeof m.rows === "number" && typeof m.metricRows === "object" && m.metricRows !== null;
}

async function prepareParquet(
  engine: Engine,
  file: string,
  options: LoadOptions,
  expected: Map<string, ColumnKind>,
  progress: ProgressSink,
  label: string,
  proven?: ParquetProof,
): Promise<PreparedFile> {
  const pq: ParquetFile = await validateParquet(engine, file, { skipInvalid: Boolean(options.skipInvalid), layout: options.layout, expected, maxProblems: options.maxProblems ?? 100, progress, label, mapping: options.columns, scored: scoredRowsOf(options), proven });
  return { path: file, format: "parquet", layout: pq.layout, columns: pq.columns, scalars: new Set(), report: pq.report, source: pq.source, rawFields: pq.rawFields, proof: pq.proof, readsWith: pq.readsWith, startsAtZero: pq.startsAtZero };
}

