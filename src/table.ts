/**
 * Tables at the edge: statistics are plain records; these turn them into danfo.js DataFrames (for
 * notebooks) or aligned text (for the terminal).
 */
import type { DataFrame } from "danfojs/dist/danfojs-browser/src/index";

/** Any plain record (statistic rows are interfaces, which TypeScript does not see as index signatures). */
type Row = object;

/** Flattens nested values (intervals, objects) into columns a table can show: `ci.d50` -> `ci_d50_lo`, `ci_d50_hi`. */
export function flattenRows(rows: Row[]): Array<Record<string, string | number | boolean | null>> {
  return rows.map((r) => {
    const out: Record<string, string | number | boolean | null> = {};
    const put = (prefix: string, v: unknown) => {
      if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === "number" || x === null)) {
        out[`${prefix}_lo`] = v[0] as number | null;
        out[`${prefix}_hi`] = v[1] as number | null;
      } else if (v !== null && typeof v === "object" && !Array.isArray(v)) {
        for (const [k, x] of Object.entries(v)) put(prefix ? `${prefix}_${k}` : k, x);
      } else if (v === null && prefix.startsWith("ci_")) {
        out[`${prefix}_lo`] = null;
        out[`${prefix}_hi`] = null;
      } else out[prefix] = v === undefined ? null : (v as string | number | boolean | null);
    };
    for (const [k, v] of Object.entries(r as Record<string, unknown>)) put(k, v);
    return out;
  });
}

/**
 * A danfo.js DataFrame of statistic rows (nested intervals flattened). danfo.js is loaded on first
 * use: it is slow to load and not needed outside notebooks.
 */
export function toDataFrame(rows: Row[]): DataFrame {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const dfd: typeof import("danfojs/dist/danfojs-browser/src/index") = require("danfojs");
  const flat = flattenRows(rows);
  if (flat.length === 0) return new dfd.DataFrame([]);
  const columns = Object.keys(flat[0]);
  const data: Record<string, Array<string | number | boolean | null>> = {};
  for (const c of columns) data[c] = flat.map((r) => (r[c] === undefined ? null : r[c]));
  return new dfd.DataFrame(data, { columns });
}

/** Formats a number for a table: integers as is, others with 4 significant decimals; null as "-". */
export function formatCell(v: unknown): string {
  if (v === null || v === undefined) return "-";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toFixed(4);
  return String(v);
}

/** Aligned plain-text table of rows (nested values flattened). */
export function textTable(rows: Row[], columns?: string[]): string {
  const flat = flattenRows(rows);
  const cols = columns ?? (flat.length ? Object.keys(flat[0]) : []);
  if (cols.length === 0) return "(no rows)";
  const cells = flat.map((r) => cols.map((c) => formatCell(r[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (vals: string[]) => vals.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join("  ").trimEnd();
  return [line(cols), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}
