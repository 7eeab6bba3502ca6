/**
 * Converting token logs between layouts (long, wide) and formats (JSON Lines, CSV, Parquet),
 * losing nothing: every row and every value comes back bit for bit when the output is loaded again.
 *
 * - The input is loaded (and so validated) with `loadTokenLogs`; `skipInvalid` drops invalid rows
 *   as usual and the report says how many.
 * - Doubles: JSON Lines and CSV print the shortest text that reads back as the same double
 *   (JavaScript's number printing), and -0 as `-0.0`; Parquet stores them as DOUBLE (via DuckDB COPY).
 *   Integer labels (`token_id`) are printed from 64-bit integers, never through a double.
 * - Rows are written ordered by (run, step, example, position). Example ids are written as strings
 *   (the loaded table's type: 1 and "1" are the same example).
 * - Wide layout: one record per (run, step, example) and run of contiguous positions, every
 *   non-key column as a per-token array and `offset` = the first position. Positions with gaps
 *   (e.g. 0, 1, 5, 6) do not fit one record: they are split into several records with offsets
 *   (0 and 5), never refused and never renumbered.
 * - CSV holds only the long layout. A value missing for some rows (inputs with different columns)
 *   cannot be written to a valid token log: that is refused with an error naming the column.
 *   CSV has no types: a text label whose every value looks like a number ("0.04") reads back as a
 *   number; the result's `warnings` name such labels (JSON Lines and Parquet keep them text).
 */
import { createWriteStream, WriteStream } from "node:fs";
import { InvalidInputError, UsageError } from "./errors";
import { readerArgs, sqlIdent, sqlString } from "./load/engine";
import { LoadOptions, LoadReport, TokenLogs, loadTokenLogs } from "./load";
import { Format, Layout } from "./load/schema";

export interface ConvertOptions extends LoadOptions {
  /** Output file. */
  out: string;
  /** Output layout. Default: long. */
  toLayout?: Layout;
  /** Output format. Default: from the name of `out` (.jsonl, .csv, .parquet), else JSON Lines. */
  toFormat?: Format;
}

export interface ConvertResult {
  out: string;
  format: Format;
  layout: Layout;
  /** Token rows written (= the loaded rows). */
  tokens: number;
  /** Records written: rows (long) or per-token-array records (wide). */
  records: number;
  load: LoadReport;
  /**
   * What the output cannot keep, one sentence each: CSV has no types, so a text label whose values
   * all look like numbers (the lab's `derail: "0.04"`) reads back as a number.
   */
  warnings: string[];
}

/** The output format from a file name, or null. */
export function formatOfName(out: string): Format | null {
  const n = out.toLowerCase().replace(/\.gz$/, "");
  if (/\.(jsonl|ndjson|json)$/.test(n)) return "jsonl";
  if (n.endsWith(".csv")) return "csv";
  if (/\.(parquet|pq)$/.test(n)) return "parquet";
  return null;
}

/** Loads `inputs` and writes them to `options.out` in the chosen layout and format. */
export async function convertTokenLogs(inputs: string | string[], options: ConvertOptions): Promise<ConvertResult> {
  const format = options.toFormat ?? formatOfName(options.out) ?? "jsonl";
  const layout = options.toLayout ?? "long";
  if (format === "csv" && layout === "wide") throw new UsageError("convert: CSV holds only the long layout (per-token arrays need JSON Lines or Parquet)");
  if (options.out.endsWith(".gz")) throw new UsageError("convert: compressed output is not supported (write the plain file, then gzip it)");
  const logs = await loadTokenLogs(inputs, options);
  try {
    return await writeTokenLogs(logs, options.out, format, layout);
  } finally {
    logs.close();
  }
}

/** Writes loaded token logs to `out`. */
export async function writeTokenLogs(logs: TokenLogs, out: string, format: Format, layout: Layout): Promise<ConvertResult> {
  const e = logs.engine;
  const t = logs.table;
  const cols = await e.rows<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${t}`);
  const keys = ["run", "step", "example", "position"];
  const data = cols.filter((c) => !keys.includes(c.column_name));
  // A metric's NULL is a value not measured (METRICS 1.2) and is written as such; a label's NULL
  // can only come from a column one input lacks: not writable as a valid log.
  const labels = data.filter((c) => !logs.metrics.includes(c.column_name));
  if (labels.length) {
    const [nulls] = await e.rows<Record<string, number>>(`SELECT ${labels.map((c, i) => `count(*) - count(${sqlIdent(c.column_name)}) AS c${i}`).join(", ")} FROM ${t}`);
    const bad = labels.filter((_, i) => Number(nulls[`c${i}`]) > 0).map((c) => c.column_name);
    if (bad.length)
      throw new InvalidInputError([{ file: logs.report.files.map((f) => f.path).join(", "), line: null, field: bad[0], reason: "missing-column", message: `missing in some inputs (${bad.length > 1 ? `also ${bad.slice(1).join(", ")}; ` : ""}a converted log needs every label in every row): convert those inputs separately` }]);
  }
  const order = `ORDER BY run, step, example, "position"`;
  const names = data.map((c) => c.column_name);
  const typeOf = new Map(cols.map((c) => [c.column_name, c.column_type]));
  let select: string;
  if (layout === "long") select = `SELECT run, step, example, "position", ${names.map(sqlIdent).join(", ")} FROM ${t} ${order}`;
  else {
    // Gaps and islands: positions p - row_number() are constant along a contiguous run of positions.
    // A metric not measured for a whole record is a null list; measured at some of its positions
    // only, it cannot be written wide (a null element inside an array is invalid).
    const metricNames = names.filter((n) => logs.metrics.includes(n));
    const islands = `(SELECT *, "position" - row_number() OVER (PARTITION BY run, step, example ORDER BY "position") AS __aligndepth_island FROM ${t})`;
    if (metricNames.length) {
      const partial = await e.rows<{ m: string }>(
        `SELECT m FROM (SELECT ${metricNames.map((_, i) => `bool_or(c${i} > 0 AND c${i} < n) AS p${i}`).join(", ")} FROM (SELECT count(*) AS n, ${metricNames.map((n, i) => `count(${sqlIdent(n)}) AS c${i}`).join(", ")} FROM ${islands} GROUP BY run, step, example, __aligndepth_island))
         UNPIVOT (partial FOR m IN (${metricNames.map((_, i) => `p${i}`).join(", ")})) WHERE partial`,
      );
      if (partial.length) {
        const m = metricNames[Number(partial[0].m.slice(1))];
        throw new InvalidInputError([{ file: logs.report.files.map((f) => f.path).join(", "), line: null, field: m, reason: "partly-measured", message: "measured at some positions of a (run, step, example) only: the wide layout cannot hold that (a null element inside an array is invalid); convert to the long layout" }]);
      }
    }
    const list = (n: string) => (metricNames.includes(n) ? `CASE WHEN count(${sqlIdent(n)}) = 0 THEN NULL ELSE list(${sqlIdent(n)} ORDER BY "position") END` : `list(${sqlIdent(n)} ORDER BY "position")`);
    select = `SELECT run, step, example, min("position") AS "offset", ${names.map((n) => `${list(n)} AS ${sqlIdent(n)}`).join(", ")}
      FROM ${islands}
      GROUP BY run, step, example, __aligndepth_island ORDER BY run, step, example, "offset"`;
  }
  const warnings: string[] = [];
  if (format === "csv") {
    // Text labels that a CSV reader will take for numbers: every value parses as a number.
    const text = labels.filter((c) => c.column_type === "VARCHAR").map((c) => c.column_name);
    if (text.length) {
      const [r] = await e.rows<Record<string, boolean | null>>(
        `SELECT ${text.map((n, i) => `bool_and(TRY_CAST(${sqlIdent(n)} AS DOUBLE) IS NOT NULL) AS t${i}`).join(", ")} FROM ${t}`,
      );
      for (const [i, n] of text.entries())
        if (r[`t${i}`] === true) warnings.push(`label ${n}: every value is text that looks like a number; CSV has no types, so it reads back as a number (JSON Lines and Parquet keep it text)`);
    }
  }
  let records = 0;
  if (format === "parquet") {
    await e.run(`COPY (${select}) TO ${sqlString(out)} (FORMAT parquet)`);
    const [r] = await e.rows<{ n: number }>(`SELECT count(*) AS n FROM read_parquet(${readerArgs(out)})`);
    records = Number(r.n);
  } else {
    const stream = createWriteStream(out);
    const done = new Promise<void>((res, rej) => {
      stream.on("error", rej);
      stream.on("finish", () => res());
    });
    try {
      const result = await e.conn.stream(select);
      const header = ["run", "step", "example", layout === "long" ? "position" : "offset", ...names];
      const isInt = header.map((h) => /INT/.test(typeOf.get(h) ?? (h === "offset" ? "BIGINT" : "")));
      if (format === "csv") await write(stream, `${header.map(csvCell).join(",")}\n`);
      let buf = "";
      for await (const rows of result.yieldRowsJs()) {
        for (const row of rows) {
          records++;
          // A metric not measured: an empty cell (a quoted "" would be an empty text).
          if (format === "csv") buf += `${row.map((v, i) => (v === null ? "" : csvCell(printValue(v, isInt[i])))).join(",")}\n`;
          else {
            const parts: string[] = [];
            for (let i = 0; i < header.length; i++) {
              if (layout === "wide" && header[i] === "offset" && Number(row[i]) === 0) continue;
              parts.push(`${JSON.stringify(header[i])}:${jsonValue(row[i], isInt[i])}`);
            }
            buf += `{${parts.join(",")}}\n`;
          }
          if (buf.length > 1 << 20) {
            await write(stream, buf);
            buf = "";
          }
        }
      }
      await write(stream, buf);
    } finally {
      stream.end();
    }
    await done;
  }
  return { out, format, layout, tokens: logs.report.tokens, records, load: logs.report, warnings };
}

function write(s: WriteStream, text: string): Promise<void> {
  return new Promise((res, rej) => (text.length === 0 ? res() : s.write(text, (err) => (err ? rej(err) : res()))));
}

/** A double as the shortest text that reads back as the same double; -0 keeps its sign. */
export function printDouble(x: number): string {
  if (Object.is(x, -0)) return "-0.0";
  return String(x);
}

function printValue(v: unknown, integer: boolean): string {
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") return integer ? String(v) : printDouble(v);
  return String(v);
}

function jsonValue(v: unknown, integer: boolean): string {
  if (Array.isArray(v)) return `[${v.map((x) => jsonValue(x, integer)).join(",")}]`;
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "bigint" || typeof v === "number") return printValue(v, integer);
  if (v === null) return "null";
  return JSON.stringify(v);
}

/** RFC 4180: quote a cell holding a comma, quote, CR, LF or leading/trailing space. */
function csvCell(s: string): string {
  return /[",\r\n]|^\s|\s$/.test(s) || s === "" ? `"${s.replace(/"/g, '""')}"` : s;
}
