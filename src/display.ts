/**
 * Display: puts figures, tables and HTML into a tslab notebook, and writes the same figure HTML
 * for standalone reports.
 *
 * A figure is a plain plotly figure `{ data, layout, config? }` (what the figure builders return).
 * In a notebook, `show(figure)` sends ONE display output carrying three representations, because
 * each front end reads a different one:
 * - `application/vnd.plotly.v1+json`: VS Code, and JupyterLab / Notebook 7 with the plotly extension;
 * - `text/html`: classic Notebook, JupyterLab without the extension, and `jupyter nbconvert --to html`;
 * - `text/plain`: a one-line summary for terminals and diffs.
 *
 * Everything works offline: plotly.js (from `plotly.js-dist-min`) is inlined into the first figure
 * shown in a kernel session, never loaded from a CDN, and every figure's script waits for
 * `window.Plotly` before drawing (JupyterLab may render outputs out of order).
 */
import { randomBytes } from "crypto";
import { readFileSync } from "fs";
import { dirname, join } from "path";

/** A plain plotly figure. Typed arrays and bigints in it are converted to JSON numbers. */
export interface Figure {
  data: readonly object[];
  layout?: object;
  config?: object;
}

/** Options of `figureHtml` and `show`. */
export interface FigureHtmlOptions {
  /**
   * Put the plotly.js library in front of the figure: `true` for the smallest build that draws it
   * (1.5 MB for the kit's figures, 4.8 MB for trace types outside the cartesian build), or a build.
   * Default false.
   */
  includePlotly?: boolean | PlotlyBundle;
  /** Id of the figure's `<div>`; default a random `aligndepth-fig-…` id. */
  id?: string;
  /** Height of the figure in pixels when the layout sets none. Default 450. */
  height?: number;
  /** How long the figure's script waits for `window.Plotly` before it gives up, in ms. Default 60000. */
  waitMs?: number;
}

/** Options of `show`. */
export interface ShowOptions extends Omit<FigureHtmlOptions, "includePlotly"> {
  /**
   * `"auto"` (default) inlines plotly.js only into the first figure of the kernel session; `true`
   * inlines it again (e.g. after the output that carried it was cleared); `false` never.
   */
  includePlotly?: boolean | "auto";
}

/** A Jupyter `display_data` message content: one output, several representations. */
export interface DisplayMessage {
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

/** Sends one display output to the front end (tslab's `writeDisplayData` has this shape). */
export type DisplayWriter = (message: DisplayMessage, update: boolean) => void;

/** The mime type that VS Code and the JupyterLab plotly extension render. */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** The tslab version whose internal display hook `show` uses; package.json pins it exactly. */
export const TSLAB_VERSION = "1.0.22";

const DEFAULT_HEIGHT = 450;
const DEFAULT_WAIT_MS = 60_000;
// Kept on globalThis so that two copies of this module in one kernel still inline plotly.js once.
const INLINED = Symbol.for("aligndepth.display.plotlyInlined");

// ---------------------------------------------------------------------------------------------
// Figures as HTML (notebooks and reports share this writer)

/**
 * Serializes a value as JSON that is safe inside an HTML `<script>` element: `<`, `>`, `&`,
 * U+2028 and U+2029 are written as `\uXXXX` escapes, so no string in the figure can close the
 * script (`</script>`), open an HTML comment (`<!--`) or end a JavaScript line. Typed arrays
 * become arrays, bigints numbers (or strings when they exceed 2^53), NaN and ±Infinity null.
 */
export function scriptJson(value: unknown): string {
  const json = JSON.stringify(value, jsonReplacer);
  if (json === undefined) throw new TypeError("scriptJson: value is not serializable as JSON");
  return json
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") {
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<number | bigint>);
  }
  return value;
}

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/**
 * Which plotly.js build to inline. `cartesian` (plotly.js-cartesian-dist-min, 1.5 MB) draws every
 * figure the kit makes (scatter, bar, heatmap, ...) and keeps notebooks and reports light; `full`
 * (plotly.js-dist-min, 4.8 MB) is inlined only when a figure has a trace type outside it.
 */
export type PlotlyBundle = "cartesian" | "full";

const BUNDLE_PACKAGES: Record<PlotlyBundle, string> = { cartesian: "plotly.js-cartesian-dist-min", full: "plotly.js-dist-min" };

/** The trace types of the cartesian build (Plotly.PlotSchema of plotly.js-cartesian-dist-min 4.1). */
export const CARTESIAN_TRACE_TYPES: readonly string[] = [
  "scatter", "bar", "box", "heatmap", "histogram", "histogram2d", "histogram2dcontour", "contour", "scatterternary", "violin", "image", "pie",
];

/** The smallest build that draws every trace of the figures (a trace without `type` is a scatter). */
export function plotlyBundleFor(...figures: Figure[]): PlotlyBundle {
  for (const f of figures)
    for (const t of f?.data ?? []) {
      const type = (t as { type?: unknown }).type ?? "scatter";
      if (typeof type !== "string" || !CARTESIAN_TRACE_TYPES.includes(type)) return "full";
    }
  return "cartesian";
}

const plotlySources = new Map<PlotlyBundle, { version: string; code: string }>();

function loadPlotly(bundle: PlotlyBundle): { version: string; code: string } {
  const cached = plotlySources.get(bundle);
  if (cached) return cached;
  let file: string;
  try {
    file = require.resolve(BUNDLE_PACKAGES[bundle]);
  } catch {
    throw new Error(`aligndepth display: the npm package ${BUNDLE_PACKAGES[bundle]} is not installed (run \`npm install\`).`);
  }
  const code = readFileSync(file, "utf8");
  // Inside a <script>, only "</script" ends the element, and "<!--" followed by "<script" changes how
  // it ends. The library has neither today; refuse to inline a version that does.
  if (/<\/?script/i.test(code)) {
    throw new Error(`aligndepth display: ${file} contains "<script" or "</script" and cannot be inlined safely.`);
  }
  const pkg = JSON.parse(readFileSync(join(dirname(file), "package.json"), "utf8")) as { version?: string };
  const source = { version: pkg.version ?? "unknown", code };
  plotlySources.set(bundle, source);
  return source;
}

/**
 * The plotly.js library as one inline `<script>` tag (no network). It is wrapped so that it does
 * not see require.js's `define` or a CommonJS `module` (classic Notebook and nbconvert pages load
 * require.js) and always sets `window.Plotly`. It does nothing when the page already has plotly.js,
 * except that the full build replaces a cartesian one (figures already drawn stay drawn).
 */
export function plotlyScript(bundle: PlotlyBundle = "cartesian"): string {
  const { version, code } = loadPlotly(bundle);
  const guard = bundle === "full" ? `!window.Plotly || window.__aligndepthPlotly !== "full"` : `!window.Plotly`;
  return (
    `<script type="text/javascript">/* plotly.js ${version} (${bundle}), inlined by aligndepth */\n` +
    `if (${guard}) { (function (define, module, exports, require) {\n${code}\n}).call(window); window.__aligndepthPlotly = ${JSON.stringify(bundle)}; }\n` +
    `</script>`
  );
}

/**
 * The HTML of one figure: a `<div class="aligndepth-figure">` and a script that draws it with
 * `Plotly.newPlot` once `window.Plotly` exists (polling every 50 ms, up to `waitMs`). The figure
 * JSON is escaped with `scriptJson`. Pass `includePlotly: true` for the first figure of a page, or
 * put `plotlyScript()` once in the page's head.
 *
 * @example
 *   const page = `<html><head>${plotlyScript()}</head><body>${figureHtml(fig)}</body></html>`;
 */
export function figureHtml(figure: Figure, options: FigureHtmlOptions = {}): string {
  const id = options.id ?? newFigureId();
  const spec = plotlySpec(figure);
  const layoutHeight = (spec.layout as { height?: unknown }).height;
  const height = typeof layoutHeight === "number" ? layoutHeight : (options.height ?? DEFAULT_HEIGHT);
  const waitMs = options.waitMs ?? DEFAULT_WAIT_MS;
  const div =
    `<div id="${escapeHtml(id)}" class="aligndepth-figure" ` +
    `style="width:100%;min-width:300px;height:${Math.round(height)}px;"></div>`;
  const script =
    `<script type="text/javascript">\n(function () {\n` +
    `  var id = ${scriptJson(id)};\n` +
    `  var figure = ${scriptJson(spec)};\n` +
    `  var waited = 0;\n` +
    `  function draw() {\n` +
    `    var el = document.getElementById(id);\n` +
    `    if (el && window.Plotly) { window.Plotly.newPlot(el, figure.data, figure.layout, figure.config); return; }\n` +
    `    if (waited >= ${waitMs}) {\n` +
    `      if (el) el.textContent = "This figure needs plotly.js, which is not loaded in this page: run the notebook from the top " +\n` +
    `        "(its first figure carries the library) or show the figure with { includePlotly: true }.";\n` +
    `      return;\n` +
    `    }\n` +
    `    waited += 50;\n` +
    `    setTimeout(draw, 50);\n` +
    `  }\n` +
    `  draw();\n` +
    `})();\n</script>`;
  const lib = options.includePlotly === true ? plotlyBundleFor(figure) : options.includePlotly || null;
  return (lib ? plotlyScript(lib) + "\n" : "") + div + "\n" + script;
}

/**
 * A complete standalone HTML page with one figure and the inlined library: opens offline from a
 * `file:` URL.
 */
export function figurePage(figure: Figure, options: { title?: string; id?: string } = {}): string {
  const title = options.title ?? (figureTitle(figure) || "aligndepth figure");
  return (
    `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>${escapeHtml(title)}</title>\n` +
    `${plotlyScript(plotlyBundleFor(figure))}\n</head>\n<body>\n${figureHtml(figure, { id: options.id })}\n</body>\n</html>\n`
  );
}

/**
 * Config entries that keep every figure offline whatever the figure's own config says. plotly.js 4
 * shows a "Share chart..." modebar button by default (`showSendToCloud`, dflt true) that uploads the
 * figure's data to a plotly server: a hazard for unpublished safety data. It and the other
 * network-capable actions (`showLink` "Edit chart", `showEditInChartStudio`, button
 * `sendChartToCloud`) are switched off, and `plotlyServerURL` is emptied.
 */
export const OFFLINE_CONFIG = {
  showSendToCloud: false,
  showEditInChartStudio: false,
  showLink: false,
  sendData: false,
  plotlyServerURL: "",
} as const;

/** Modebar buttons that talk to a server: always removed. */
export const NETWORK_MODEBAR_BUTTONS: readonly string[] = ["sendChartToCloud", "sendDataToCloud", "editInChartStudio"];

/** The figure's config with the offline entries forced (see `OFFLINE_CONFIG`). */
export function offlineConfig(config: object | undefined): Record<string, unknown> {
  const c = { responsive: true, displaylogo: false, ...(config ?? {}) } as Record<string, unknown>;
  const remove = Array.isArray(c.modeBarButtonsToRemove) ? (c.modeBarButtonsToRemove as unknown[]) : [];
  return { ...c, ...OFFLINE_CONFIG, modeBarButtonsToRemove: [...new Set([...remove, ...NETWORK_MODEBAR_BUTTONS])] };
}

/** The figure as plain JSON (typed arrays and bigints converted), with a default config (offline). */
function plotlySpec(figure: Figure): { data: unknown[]; layout: object; config: object } {
  if (figure === null || typeof figure !== "object" || !Array.isArray(figure.data)) {
    throw new TypeError("aligndepth display: a figure is an object { data: [...traces], layout?, config? }");
  }
  const plain = JSON.parse(JSON.stringify(figure, jsonReplacer)) as Figure;
  return {
    data: plain.data as unknown[],
    layout: { autosize: true, ...(plain.layout ?? {}) },
    config: offlineConfig(plain.config),
  };
}

function newFigureId(): string {
  return `aligndepth-fig-${randomBytes(6).toString("hex")}`;
}

function figureTitle(figure: Figure): string {
  const title = (figure.layout as { title?: unknown } | undefined)?.title;
  if (typeof title === "string") return title;
  if (title && typeof title === "object" && typeof (title as { text?: unknown }).text === "string") {
    return (title as { text: string }).text;
  }
  return "";
}

/** A one-line text summary of a figure: its title and its traces with their point counts. */
export function figureText(figure: Figure): string {
  const traces = figure.data.map((trace) => {
    const t = trace as { type?: unknown; name?: unknown; x?: unknown; y?: unknown; z?: unknown };
    const type = typeof t.type === "string" ? t.type : "scatter";
    const name = typeof t.name === "string" || typeof t.name === "number" ? ` "${t.name}"` : "";
    const values = [t.y, t.x, t.z].find((v) => v !== null && typeof v === "object" && "length" in (v as object));
    const points = values ? ` (${(values as ArrayLike<unknown>).length} points)` : "";
    return `${type}${name}${points}`;
  });
  const title = figureTitle(figure);
  const n = traces.length;
  return `Figure${title ? ` "${title}"` : ""}: ${n} trace${n === 1 ? "" : "s"}${n ? ": " + traces.join(", ") : ""}`;
}

/**
 * The mime bundle of one figure output: plotly JSON, HTML (with the library when
 * `includePlotly`), and a text summary.
 */
export function figureBundle(figure: Figure, options: FigureHtmlOptions = {}): Record<string, unknown> {
  return {
    [PLOTLY_MIME]: plotlySpec(figure),
    "text/html": figureHtml(figure, options),
    "text/plain": figureText(figure),
  };
}

// ---------------------------------------------------------------------------------------------
// Tables

/** Rows of records, or a danfo.js DataFrame (anything with `columns` and row-major `values`). */
export type TableInput = readonly object[] | { columns: readonly string[]; values: readonly unknown[] };

/** Options of `tableHtml` and `showTable`. */
export interface TableOptions {
  /** Show at most this many rows (default 50); the output says how many were left out. */
  maxRows?: number;
  /** Significant digits of non-integer numbers (default 4). */
  digits?: number;
}

interface Cells {
  columns: string[];
  rows: string[][];
  total: number;
}

function tableCells(input: TableInput, options: TableOptions): Cells {
  const maxRows = options.maxRows ?? 50;
  const digits = options.digits ?? 4;
  let columns: string[];
  let rows: unknown[][];
  if (Array.isArray(input)) {
    const records = input as readonly Record<string, unknown>[];
    const seen = new Set<string>();
    for (const r of records) for (const k of Object.keys(r)) seen.add(k);
    columns = [...seen];
    rows = records.map((r) => columns.map((c) => r[c]));
  } else {
    const frame = input as { columns: readonly string[]; values: readonly unknown[] };
    if (!frame || !Array.isArray(frame.columns) || !Array.isArray(frame.values)) {
      throw new TypeError("showTable: pass an array of records or a DataFrame (with columns and values)");
    }
    columns = frame.columns.map(String);
    rows = frame.values.map((v) => (Array.isArray(v) ? v : [v]));
  }
  return {
    columns,
    rows: rows.slice(0, maxRows).map((r) => r.map((v) => formatCell(v, digits))),
    total: rows.length,
  };
}

function formatCell(value: unknown, digits: number): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") {
    if (Number.isInteger(value) || !Number.isFinite(value)) return String(value);
    return String(Number(value.toPrecision(digits)));
  }
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "object") return JSON.stringify(value, jsonReplacer) ?? "";
  return String(value);
}

/** An escaped HTML `<table>` of rows or a DataFrame. */
export function tableHtml(input: TableInput, options: TableOptions = {}): string {
  const { columns, rows, total } = tableCells(input, options);
  const head = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`).join("\n");
  const more = total > rows.length ? `\n<p>${total - rows.length} more rows not shown (${total} in all).</p>` : "";
  return `<table class="aligndepth-table">\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>${more}`;
}

/** The same table as aligned plain text. */
export function tableText(input: TableInput, options: TableOptions = {}): string {
  const { columns, rows, total } = tableCells(input, options);
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  const lines = [line(columns), ...rows.map(line)];
  if (total > rows.length) lines.push(`... ${total - rows.length} more rows (${total} in all)`);
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------
// Sending outputs to the notebook

let writerOverride: DisplayWriter | undefined;

/**
 * Replaces the function that sends display outputs (default: tslab's kernel hook). For tests and
 * for other kernels; pass `undefined` to restore the default.
 */
export function setDisplayWriter(writer: DisplayWriter | undefined): void {
  writerOverride = writer;
}

/** Forgets that plotly.js was inlined, so the next `show` inlines it again (tests, new pages). */
export function resetPlotlyInlined(): void {
  (globalThis as Record<symbol, unknown>)[INLINED] = false;
}

function tslabWriter(): DisplayWriter {
  // tslab's public `display` sends one mime type per output; a multi-mime output needs the hook
  // that its public API wraps. That is internal API, hence the exact version pin.
  let kernel: { lastWriteDisplayData?: unknown };
  try {
    kernel = require("tslab/dist/jupyter") as { lastWriteDisplayData?: unknown };
  } catch (err) {
    throw new Error(
      `aligndepth show(): cannot load tslab (tslab/dist/jupyter). Install the pinned version with ` +
        `\`npm install\` (tslab ${TSLAB_VERSION}) and open the notebook with the tslab kernel. (${(err as Error).message})`,
    );
  }
  const write = kernel.lastWriteDisplayData;
  if (typeof write !== "function") {
    throw new Error(
      `aligndepth show(): no running tslab notebook kernel to display to (tslab's display hook is ` +
        `${write === null ? "not set: not inside a notebook cell" : "missing: tslab is not version " + TSLAB_VERSION}). ` +
        `Outside a notebook, write HTML with figureHtml() or figurePage().`,
    );
  }
  return write as DisplayWriter;
}

/** Sends one output with several representations (a mime bundle). */
export function displayBundle(data: Record<string, unknown>): void {
  const write = writerOverride ?? tslabWriter();
  write({ data, metadata: {} }, false);
}

/**
 * Shows a plotly figure in a tslab notebook as one output (plotly JSON + HTML + text). The first
 * figure of a kernel session carries the plotly.js library (offline: the 1.5 MB cartesian build, or
 * the 4.8 MB full build when a figure needs a trace type outside it);
 * later figures wait for it.
 *
 * @example
 *   import { show } from "../dist/index";
 *   show({ data: [{ x: [0, 1, 2], y: [3.1, 2.4, 2.2], name: "loss" }], layout: { title: { text: "Loss" } } });
 */
export function show(figure: Figure, options: ShowOptions = {}): void {
  const state = globalThis as Record<symbol, unknown>;
  const inlined = state[INLINED] as PlotlyBundle | false | undefined;
  const needed = plotlyBundleFor(figure);
  const mode = options.includePlotly ?? "auto";
  // "auto": the first figure carries the library; a later figure only if it needs the full build
  // and the kernel session has inlined only the cartesian one.
  const include = mode === "auto" ? (!inlined || (needed === "full" && inlined !== "full")) : mode;
  const bundle = figureBundle(figure, { ...options, includePlotly: include ? needed : false });
  displayBundle(bundle);
  if (include && inlined !== "full") state[INLINED] = needed;
}

/** Shows raw HTML (trusted: it is not escaped) with a text fallback of its visible text. */
export function showHtml(html: string): void {
  const text = html
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, "")
    .replace(/<[^>]*>/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  displayBundle({ "text/html": html, "text/plain": text });
}

/**
 * Shows rows of records or a danfo.js DataFrame as an escaped HTML table plus aligned text.
 * Defaults: at most 50 rows, 4 significant digits.
 *
 * @example
 *   showTable([{ position: 0, mean: 2.31 }, { position: 1, mean: 1.87 }]);
 */
export function showTable(input: TableInput, options: TableOptions = {}): void {
  displayBundle({ "text/html": tableHtml(input, options), "text/plain": tableText(input, options) });
}
