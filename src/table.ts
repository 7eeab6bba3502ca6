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

/**
 * Formats a number for a table, rounding it once (callers pass unrounded values): integers as is,
 * others to 4 decimals (`toFixed`, i.e. correctly rounded from the double), |v| < 0.001 and
 * |v| >= 1e4 in scientific notation with 4 significant digits (so a tiny value never prints as 0);
 * null as "-".
 */
export function formatCell(v: unknown): string {
  if (v === null || v === undefined) return "-";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toFixed(4);
  return String(v);
}

/** Columns that identify a row: repeated at the left of every part of a table that is split. */
const KEY_COLUMNS = ["run", "recipe", "attack", "split", "step", "position", "condition"];

/** Options of `textTable`. */
export interface TextTableOptions {
  /** Widest line in characters (default 100). A wider table is split, never cut. */
  maxWidth?: number;
}

function render(cols: string[], cells: string[][]): { text: string; width: number } {
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (vals: string[]) => vals.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join("  ").trimEnd();
  return { text: [line(cols), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n"), width: widths.reduce((a, w) => a + w, 0) + 2 * (widths.length - 1) };
}

/**
 * Aligned plain-text table of rows (nested values flattened) that fits `maxWidth` (default 100)
 * columns: when it is wider, interval columns (`ci_*_lo` / `ci_*_hi`) move to a second table
 * ("intervals (lo to hi)", each interval as `lo to hi`), and a part still too wide is wrapped into blocks
 * of columns. Every part repeats the key columns (run, step, position, ... present), so each line
 * can be read alone.
 * @example textTable(await summary(logs)) // run, from, to, ... then "intervals (lo to hi):" run, ci_early_share, ...
 */
export function textTable(rows: Row[], columns?: string[], opts: TextTableOptions = {}): string {
  const maxWidth = opts.maxWidth ?? 100;
  const flat = flattenRows(rows);
  const cols = columns ?? (flat.length ? Object.keys(flat[0]) : []);
  if (cols.length === 0) return "(no rows)";
  const cellsOf = (cs: string[]) => flat.map((r) => cs.map((c) => formatCell(r[c])));
  const whole = render(cols, cellsOf(cols));
  if (whole.width <= maxWidth) return whole.text;
  const keys = cols.filter((c) => KEY_COLUMNS.includes(c));
  if (keys.length === 0) keys.push(cols[0]);
  const isInterval = (c: string) => /_lo$|_hi$/.test(c) && (cols.includes(c.replace(/_lo$/, "_hi")) || cols.includes(c.replace(/_hi$/, "_lo")));
  const main = cols.filter((c) => !keys.includes(c) && !isInterval(c));
  const intervals = [...new Set(cols.filter((c) => !keys.includes(c) && isInterval(c)).map((c) => c.replace(/_(lo|hi)$/, "")))];
  const parts: string[] = [];
  const wrap = (names: string[], cellOf: (r: Record<string, unknown>, c: string) => string, title?: string) => {
    const keyCells = flat.map((r) => keys.map((k) => formatCell(r[k])));
    let block: string[] = [];
    const flush = () => {
      if (!block.length) return;
      const cells = flat.map((r, i) => [...keyCells[i], ...block.map((c) => cellOf(r, c))]);
      parts.push((parts.length === 0 || !title ? "" : `${title}\n`) + render([...keys, ...block], cells).text);
      title = undefined;
      block = [];
    };
    for (const c of names) {
      const next = [...block, c];
      const width = render([...keys, ...next], flat.map((r, i) => [...keyCells[i], ...next.map((x) => cellOf(r, x))])).width;
      if (width > maxWidth && block.length) flush();
      block.push(c);
    }
    flush();
  };
  wrap(main, (r, c) => formatCell(r[c]));
  wrap(intervals, (r, c) => (r[`${c}_lo`] === null && r[`${c}_hi`] === null ? "-" : `${formatCell(r[`${c}_lo`])} to ${formatCell(r[`${c}_hi`])}`), "intervals (lo to hi):");
  return parts.join("\n\n");
}
