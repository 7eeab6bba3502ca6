/**
 * One example's tokens as text, each coloured by a metric at a step or by its change between two
 * steps, with the value printed under each token and a colour-scale legend. Byte-level BPE markers
 * are decoded for display (`displayToken`); the raw token stays in the hover text. The result is
 * self-contained HTML (inline CSS, no script); token text is always escaped, so any text a model
 * wrote is shown, never run.
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

// GPT-2's byte-level BPE writes each byte as a printable character (bytes_to_unicode in OpenAI's
// gpt-2 encoder.py): printable ASCII and Latin-1 stand for themselves, the 68 others are shifted to
// U+0100..U+0143 (space -> U+0120 "Ġ", newline -> U+010A "Ċ", tab -> U+0109 "ĉ").
const BYTE_OF_CHAR: Map<string, number> = (() => {
  const keep: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) keep.push(b);
  for (let b = 0xa1; b <= 0xac; b++) keep.push(b);
  for (let b = 0xae; b <= 0xff; b++) keep.push(b);
  const m = new Map<string, number>();
  for (const b of keep) m.set(String.fromCharCode(b), b);
  let n = 0;
  for (let b = 0; b < 256; b++) if (!keep.includes(b)) m.set(String.fromCharCode(0x100 + n++), b);
  return m;
})();

/**
 * A token's text as a reader should see it. Byte-level BPE (GPT-2, Llama 3, Qwen): a token made of
 * byte characters with a shifted one (U+0100..U+0143, e.g. `Ġ`) or a non-ASCII one, whose bytes are
 * valid UTF-8, is decoded (`Ġthe` -> ` the`, `cafÃ©` -> `café`); `é` alone (not valid UTF-8 as one
 * byte) stays as it is. SentencePiece (Llama 2, Gemma): `▁` (U+2581) ->
 * space, `<0x0A>` -> newline. A newline is shown as `↵` followed by a line break, a tab as `⇥`.
 * Text without markers is returned as is.
 * @example displayToken("Ġthe") // " the";  displayToken("Ċ") // "↵
"
 */
export function displayToken(raw: string): string {
  let text = raw;
  // Decode when the token is made of byte characters and holds a shifted one or a non-ASCII one
  // (`Ã©` is how byte-level BPE writes "é"), and the bytes are valid UTF-8; else keep the text.
  if (/[\u0080-\u0143]/.test(raw) && [...raw].every((c) => BYTE_OF_CHAR.has(c))) {
    const bytes = Buffer.from([...raw].map((c) => BYTE_OF_CHAR.get(c)!));
    const decoded = new TextDecoder("utf-8", { fatal: true });
    try {
      text = decoded.decode(bytes);
    } catch {
      text = raw.replace(/\u0120/g, " ").replace(/\u010a/g, "\n").replace(/\u0109/g, "\t");
    }
  }
  text = text.replace(/\u2581/g, " ").replace(/<0x0A>/g, "\n").replace(/<0x09>/g, "\t");
  return text.replace(/\r?\n/g, "\u21b5\n").replace(/\t/g, "\u21e5");
}

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

const CSS = `.ad-tv{font-family:sans-serif;font-size:14px;max-width:60em}
.ad-tv-head{font-size:12px;color:#444;margin-bottom:6px;display:flex;align-items:center;flex-wrap:wrap;gap:4px}
.ad-tv-key{display:inline-block;padding:0 6px;border:1px solid #ccc;border-radius:2px;font-family:monospace}
.ad-tv-bar{display:inline-block;width:120px;height:12px;border:1px solid #ccc;border-radius:2px}
.ad-tv-text{font-family:monospace;line-height:1.2}
.ad-tv-tok{display:inline-flex;flex-direction:column;align-items:center;vertical-align:top;margin:0 2px 6px 0;padding:2px 3px;border-radius:3px;box-shadow:inset 0 0 0 1px rgba(0,0,0,.12);cursor:default}
.ad-tv-tok:hover{outline:1px solid #333}
.ad-tv-t{white-space:pre}
.ad-tv-v{font-size:10px;color:#333;margin-top:2px;font-family:sans-serif}
.ad-tv-none{color:#999}`;

/** A value as printed under its token: 3 significant digits. */
function short(v: number | null): string {
  if (v === null) return "\u2013";
  if (v === 0) return "0";
  return Math.abs(v) >= 1e4 || Math.abs(v) < 1e-2 ? v.toExponential(1) : String(Number(v.toPrecision(3)));
}

/**
 * The tokens of one example as coloured boxes, in order, each with its decoded text (see
 * `displayToken`) above its value. Value mode: white (lowest) to red (highest). Change mode: blue
 * where the metric fell, red where it rose, white for no change. A legend bar shows the scale; hover
 * shows position, the raw token and the value at full precision.
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
    const shown = c.token === null ? `[${c.position}]` : c.token === "" ? "\u2205" : displayToken(c.token);
    const lines = shown.split("\n");
    const text = lines[0] === "" && lines.length > 1 ? "\u21b5" : lines[0];
    const hover = `position ${c.position}\ntoken ${JSON.stringify(c.token)}\n${mode === "change" ? `change in ${metric}` : metric} ${fmt(c.value)}`;
    const bg = c.value === null ? "transparent" : color(c.value);
    const cls = c.value === null ? "ad-tv-tok ad-tv-none" : "ad-tv-tok";
    const box = `<span class="${cls}" style="background:${bg}" title="${escapeHtml(hover).replace(/\n/g, "&#10;")}"><span class="ad-tv-t">${escapeHtml(text)}</span><span class="ad-tv-v">${short(c.value)}</span></span>`;
    return lines.length > 1 ? `${box}<br>` : box;
  });
  const keys =
    mode === "change"
      ? `<span class="ad-tv-key" style="background:${mix(WHITE, BLUE, 1)};color:#fff">${fmt(lo)}</span><span class="ad-tv-bar" style="background:linear-gradient(to right,${mix(WHITE, BLUE, 1)},#fff,${mix(WHITE, RED, 1)})"></span><span class="ad-tv-key" style="background:${mix(WHITE, RED, 1)};color:#fff">+${fmt(hi)}</span>`
      : `<span class="ad-tv-key" style="background:#fff">${fmt(lo)}</span><span class="ad-tv-bar" style="background:linear-gradient(to right,#fff,${mix(WHITE, RED, 1)})"></span><span class="ad-tv-key" style="background:${mix(WHITE, RED, 1)};color:#fff">${fmt(hi)}</span>`;
  const title = opts.title ? `<div class="ad-tv-title"><b>${escapeHtml(opts.title)}</b></div>` : "";
  return `<div class="ad-tv"><style>${CSS}</style>${title}<div class="ad-tv-head"><span>${escapeHtml(label)}:</span> ${keys} <span>(value under each token; hover for the raw token)</span></div><div class="ad-tv-text">${spans.join("")}</div></div>`;
}
