/**
 * A fast path for clean JSON Lines token logs: one DuckDB pass proves a file clean, so that the
 * line-by-line JS validator (readJsonLines.ts + checkRecord.ts, the authority) need not run. The gate only ever
 * says "clean" for files the validator accepts; on any doubt it returns null and the caller runs
 * the validator, which names the problems.
 *
 * How: the first line is checked by the validator's own RecordChecker, which fixes the layout, the
 * fields (in that line's order) and their kinds. Every line must then match one regular expression
 * built from them: the same keys in the same order, each value of its kind in a strict subset of
 * JSON (strings without escapes or control characters, numbers with bounded digits so that they are
 * finite, indices of at most 9 digits, no null, NaN, Infinity, booleans or nesting). Strings in
 * metric arrays, numbers in text fields, missing, extra or repeated keys, blank lines and CR bytes
 * all fail the match (DuckDB's line reader refuses CR and invalid UTF-8 outright). The same pass
 * extracts the keys and counts array elements, for equal lengths and duplicate keys.
 */
import { createReadStream, statSync } from "node:fs";
import { createGunzip } from "node:zlib";
import { Engine, readerArgs, sqlString } from "./engine";
import type { ProgressSink } from "../progress";
import { RecordChecker } from "./checkRecord";
import { readLines, ScanOptions, ScanResult } from "./lines";
import { Column, Layout, OFFSET_FIELD, REQUIRED_METRIC } from "./schema";
import { mayHaveDuplicateKeys } from "./readParquet";

const WS = "[ \\t]*";
const STRING = `"[^"\\\\\\x00-\\x1f]*"`;
const NONEMPTY_STRING = `"[^"\\\\\\x00-\\x1f]+"`;
/** Integers that are exact in a double (|x| < 1e15) and have one spelling (no -0, no leading zeros). */
const SAFE_INT = "(?:0|-?[1-9][0-9]{0,14})";
const INT64 = "(?:0|-?[1-9][0-9]{0,17})";
/** Indices below 10^9 (INTEGER range, no CAST can overflow). */
const INDEX = "(?:0|[1-9][0-9]{0,8})";
/** JSON numbers that are finite as doubles: at most 20 integer digits and a 2-digit exponent. */
const NUMBER = "-?(?:0|[1-9][0-9]{0,19})(?:\\.[0-9]{1,30})?(?:[eE][+-]?[0-9]{1,2})?";

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const array = (el: string) => `\\[${WS}${el}(?:${WS},${WS}${el})*${WS}\\]`;

/** Returns the scan result of a clean file, or null when the validator must decide. */
export async function gateJsonLines(engine: Engine, file: string, opts: ScanOptions, watch?: { progress: ProgressSink; label: string }): Promise<ScanResult | null> {
  try {
    return await gate(engine, file, opts, watch);
  } catch {
    return null;
  }
}

function groupsHasOffset(rec: Record<string, unknown>): boolean {
  return OFFSET_FIELD in rec;
}

/**
 * Bytes of a gzip file once decompressed, counted by Node's zlib (all members of a multi-member
 * file); null when the stream is corrupt or cut. It runs in libuv's thread pool, beside DuckDB's pass.
 */
function gunzippedSize(file: string): Promise<number | null> {
  return new Promise((resolve) => {
    let n = 0;
    const z = createReadStream(file).on("error", () => resolve(null)).pipe(createGunzip());
    z.on("data", (b: Buffer) => (n += b.length));
    z.on("error", () => resolve(null));
    z.on("end", () => resolve(n));
  });
}

async function gate(engine: Engine, file: string, opts: ScanOptions, watch?: { progress: ProgressSink; label: string }): Promise<ScanResult | null> {
  // Byte accounting (below) needs the file's real size: for gzip, the decompressed size, counted
  // while DuckDB reads the file (a cut or corrupt stream: the validator decides).
  const gz = file.endsWith(".gz");
  let first: Buffer | null = null;
  for await (const { bytes } of readLines(file)) {
    first = bytes;
    break;
  }
  if (first === null || (first.length >= 3 && first[0] === 0xef && first[1] === 0xbb && first[2] === 0xbf)) return null;
  const text = new TextDecoder("utf-8", { fatal: true }).decode(first);
  const rec = JSON.parse(text);
  if (rec === null || typeof rec !== "object" || Array.isArray(rec)) return null;
  const checker = new RecordChecker(file, opts.layout ?? null, opts.expected ?? null);
  if (checker.check(rec, 1).problems.length || checker.layout === null || checker.columns === null) return null;
  const layout: Layout = checker.layout;
  const columns: Column[] = checker.columns;
  const kind = new Map(columns.map((c) => [c.name, c]));
  const arrays: Column[] = [];
  const value = (key: string): string | null => {
    if (key === "run") return NONEMPTY_STRING;
    if (key === "step") return INDEX;
    if (key === "example") return `(?:${NONEMPTY_STRING}|${SAFE_INT})`;
    if (layout === "long" && key === "position") return INDEX;
    if (layout === "wide" && key === OFFSET_FIELD) return INDEX;
    const c = kind.get(key);
    if (!c) return null;
    const el = c.kind === "metric" ? NUMBER : c.kind === "label-integer" ? INT64 : STRING;
    if (layout === "long" || c.scalar) return el;
    arrays.push(c);
    return array(el);
  };
  const parts: string[] = [];
  for (const key of Object.keys(rec)) {
    const v = value(key);
    if (v === null) return null;
    parts.push(`${escapeRe(JSON.stringify(key))}${WS}:${WS}${v}`);
  }
  if (layout === "wide" && arrays.length === 0) return null;
  const pattern = `${WS}\\{${WS}${parts.join(`${WS},${WS}`)}${WS}\\}${WS}`;
  const lines = `read_csv(${readerArgs(file, "text")}, columns = {'line': 'VARCHAR'}, delim = '\\x01', quote = '', escape = '', header = false, auto_detect = false, new_line = '\\n', strict_mode = true)`;
  // Lines that match are strict JSON: DuckDB's JSON functions read their keys and array lengths.
  const path = (name: string) => sqlString(`$.${JSON.stringify(name)}`);
  const keyPaths = ["run", "step", "example", ...(layout === "long" ? ["position"] : groupsHasOffset(rec) ? [OFFSET_FIELD] : [])];
  const lead = arrays.find((c) => c.name === REQUIRED_METRIC) ?? arrays[0];
  const ordered = lead ? [lead, ...arrays.filter((c) => c !== lead)] : [];
  // The one pass over the file: DuckDB's own progress feeds the bar.
  const decompressed = gz ? gunzippedSize(file) : null;
  await engine.rows(
    `CREATE OR REPLACE TEMP TABLE __aligndepth_gate AS SELECT ok, ex_text, k[1] AS run, CAST(k[2] AS INTEGER) AS step, k[3] AS example, ${layout === "long" ? "CAST(k[4] AS INTEGER)" : "0"} AS "position",
       ${layout === "wide" ? "l[1]" : "1"} AS n, ${layout === "wide" ? ordered.map((_, i) => `l[${i + 1}] = l[1]`).join(" AND ") : "true"} AS same_length, bytes
     FROM (SELECT ok, bytes, ex_text,
                  CASE WHEN ok THEN json_extract_string(line, [${keyPaths.map(path).join(", ")}]) END AS k,
                  ${layout === "wide" ? `CASE WHEN ok THEN json_array_length(line, [${ordered.map((c) => path(c.name)).join(", ")}]) END` : "NULL"} AS l
           FROM (SELECT line, regexp_full_match(line, ${sqlString(pattern)}) AS ok, regexp_matches(line, ${sqlString(`"example"${WS}:${WS}"`)}) AS ex_text, strlen(line) AS bytes FROM ${lines}))`,
    undefined,
    watch?.progress,
    watch?.label,
  );
  try {
    const [s] = await engine.rows<{ records: number; bad: number; ex_numbers: number; tokens: number; longest: number; total: number }>(
      `SELECT count(*) AS records, count(*) FILTER (WHERE ok IS NOT TRUE OR same_length IS NOT TRUE OR n < 1) AS bad, count(*) FILTER (WHERE NOT ex_text) AS ex_numbers, COALESCE(sum(n), 0) AS tokens, max(bytes) AS longest, COALESCE(sum(bytes), 0) AS total FROM __aligndepth_gate`,
    );
    if (Number(s.records) === 0 || Number(s.bad) > 0) return null;
    // DuckDB's line reader skips lines it cannot hold (over max_line_size) without an error: every
    // byte of the file must be in a line read (plus one newline per line; the last may lack it).
    const size = gz ? await decompressed : statSync(file).size;
    if (size === null) return null;
    const read = Number(s.total) + Number(s.records);
    if (read !== size && read - 1 !== size) return null;
    // Duplicate keys: long, by the exact bitmap test; wide, any repeated (run, step, example) sends
    // the file to the validator (which allows disjoint position spans).
    if (layout === "long") {
      if (await mayHaveDuplicateKeys(engine, `SELECT run, step, example, "position" FROM __aligndepth_gate`)) return null;
    } else {
      const [{ d }] = await engine.rows<{ d: number }>(`SELECT count(*) AS d FROM (SELECT 1 FROM __aligndepth_gate GROUP BY run, step, example HAVING count(*) > 1)`);
      if (Number(d) > 0) return null;
    }
    const records = Number(s.records);
    return { file, layout, columns, records, validRecords: records, tokens: Number(s.tokens), problems: [], problemCount: 0, skippedByReason: {}, needsCleanCopy: false, droppedValues: {}, rewrites: false, rawFields: Object.keys(rec), problemGroups: {}, longestLine: Number(s.longest), exampleText: Number(s.ex_numbers) === 0 };
  } finally {
    await engine.run(`DROP TABLE IF EXISTS __aligndepth_gate`);
  }
}
