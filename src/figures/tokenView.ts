/**
 * One example's tokens as text, each coloured by a metric at a step or by its change between two
 * steps, with the value on hover. The result is self-contained HTML (inline CSS, no script); token
 * text is always escaped, so any text a model wrote is shown, never run.
 */
import { escapeHtml } from "../display";
import type { TokenRow } from "../stats/tokens";

export interface TokenViewOptions {
  /** Colour by the value at this step (default: the only step of the rows, or the last). */
  step?: number;
  /** With `to`: colour by the change value(to) - value(from) instead. */
  from?: number;
  to?: number;
  /** Name of the metric, for the legend and hover (default `loss`). */
  metric?: string;
  /**
   * Colour domain: [min, max] for values (default the rows' range); for changes the largest |change|
   * mapped to full colour (default the rows' largest).
   */
  domain?: [number, number];
  /** A heading (escaped). */
  title?: string;
}

/** One token as the view shows it. */
export interface TokenCell {
  position: number;
  token: string | null;
  value: number | null;
}

function fmt(v: number | null): string {
  if (v === null) return "n/a";
  return Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toFixed(4);
}

function mix(a: number[], b: number[], t: number): string {
  const c = a.map((x, i) => Math.round(x + (b[i] - x) * Math.max(0, Math.min(1, t))));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

const WHITE = [255, 255, 255];
const RED = [214, 39, 40];
const BLUE = [31, 119, 180];
const ORANGE = [253, 141, 60];

/** The cells the view draws: values at a step, or changes between two steps (positions present at both). */
export function tokenCells(rows: readonly TokenRow[], opts: TokenViewOptions = {}): { mode: "value" | "change"; cells: TokenCell[]; label: string } {
  const metric = opts.metric ?? "loss";
  if (opts.from !== undefined && opts.to !== undefined) {
    const a = new Map(rows.filter((r) => r.step === opts.from).map((r) => [r.position, r]));
    const cells = rows
      .filter((r) => r.step === opts.to)
      .sort((x, y) => x.position - y.position)
      .map((r) => {
        const before = a.get(r.position);
        const value = before && before.value !== null && r.value !== null ? r.value - before.value : null;
        return { position: r.position, token: r.token ?? before?.token ?? null, value };
      });
    return { mode: "change", cells, label: `change in ${metric}, step ${opts.from} \u2192 ${opts.to}` };
  }
  const steps = [...new Set(rows.map((r) => r.step))].sort((x, y) => x - y);
  const step = opts.step ?? steps[steps.length - 1];
  const cells = rows.filter((r) => r.step === step).sort((x, y) => x.position - y.position).map((r) => ({ position: r.position, token: r.token, value: r.value }));
  return { mode: "value", cells, label: `${metric} at step ${step}` };
}

const CSS = `.ad-tv{font-family:sans-serif;font-size:14px;line-height:1.9;max-width:60em}
.ad-tv-head{font-size:12px;color:#444;margin-bottom:4px}
.ad-tv-key{display:inline-block;padding:0 6px;margin-left:4px;border:1px solid #ccc;border-radius:2px}
.ad-tv-text{white-space:pre-wrap;word-break:break-word;font-family:monospace}
.ad-tv-tok{border-radius:2px;padding:1px 0;box-shadow:inset 0 0 0 1px rgba(0,0,0,.06);cursor:default}
.ad-tv-tok:hover{outline:1px solid #333}
.ad-tv-none{color:#999}`;

/**
 * The tokens of one example as coloured text. Value mode: white (lowest) to red (highest). Change
 * mode: blue where the metric fell, red where it rose, white for no change. Hover shows position,
 * token and value.
 * @example
 * const rows = await exampleTokens(logs, { run: "sft", example: 17, steps: [0, 1000] });
 * showHtml(tokenViewHtml(rows, { from: 0, to: 1000 }));
 */
export function tokenViewHtml(rows: readonly TokenRow[], opts: TokenViewOptions = {}): string {
  const metric = opts.metric ?? "loss";
  const { mode, cells, label } = tokenCells(rows, opts);
  const vals = cells.map((c) => c.value).filter((v): v is number => v !== null);
  let lo = 0;
  let hi = 0;
  let color: (v: number) => string;
  if (mode === "change") {
    hi = opts.domain ? Math.max(Math.abs(opts.domain[0]), Math.abs(opts.domain[1])) : Math.max(0, ...vals.map(Math.abs));
    lo = -hi;
    color = (v) => (hi === 0 ? "rgb(255,255,255)" : v < 0 ? mix(WHITE, BLUE, -v / hi) : mix(WHITE, RED, v / hi));
  } else {
    lo = opts.domain?.[0] ?? (vals.length ? Math.min(...vals) : 0);
    hi = opts.domain?.[1] ?? (vals.length ? Math.max(...vals) : 0);
    color = (v) => (hi === lo ? mix(WHITE, ORANGE, 0.5) : mix(WHITE, RED, (v - lo) / (hi - lo)));
  }
  const spans = cells.map((c) => {
    const text = c.token === null ? `[${c.position}]` : c.token === "" ? "\u2205" : c.token;
    const hover = `position ${c.position}\ntoken ${JSON.stringify(c.token)}\n${mode === "change" ? `change in ${metric}` : metric} ${fmt(c.value)}`;
    const bg = c.value === null ? "transparent" : color(c.value);
    const cls = c.value === null ? "ad-tv-tok ad-tv-none" : "ad-tv-tok";
    return `<span class="${cls}" style="background:${bg}" title="${escapeHtml(hover).replace(/\n/g, "&#10;")}">${escapeHtml(text)}</span>`;
  });
  const keys =
    mode === "change"
      ? `<span class="ad-tv-key" style="background:${mix(WHITE, BLUE, 1)};color:#fff">${fmt(lo)}</span><span class="ad-tv-key">0</span><span class="ad-tv-key" style="background:${mix(WHITE, RED, 1)};color:#fff">+${fmt(hi)}</span>`
      : `<span class="ad-tv-key" style="background:#fff">${fmt(lo)}</span><span class="ad-tv-key" style="background:${mix(WHITE, RED, 1)};color:#fff">${fmt(hi)}</span>`;
  const title = opts.title ? `<div class="ad-tv-title"><b>${escapeHtml(opts.title)}</b></div>` : "";
  return `<div class="ad-tv"><style>${CSS}</style>${title}<div class="ad-tv-head">${escapeHtml(label)} ${keys} (hover a token for its value)</div><div class="ad-tv-text">${spans.join("")}</div></div>`;
}
