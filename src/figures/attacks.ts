/**
 * Attack figures: ASR against one condition field (prefilled tokens k, refusal-prefix length,
 * span length) per run with 95% error bars, and the prefix_len x span_len heatmap. Each interval is
 * the one its row carries (`ci_method`: Wilson, or the cluster bootstrap over examples where an
 * example has several records, METRICS 4); axes and hovers name the method.
 */
import { AsrRow, AsrTable2d, CI_METHOD_NAMES, ciMethodsText } from "../attacks/asr";
import { Figure, baseLayout, traceDropdown } from "./figure";
import { RunColors, colorsFor } from "./palette";

export interface AsrLineOptions {
  /** Only this attack (default: every attack whose rows have the field; the legend then names it). */
  attack?: string;
  /** Only these runs (default all, in the order of the rows). */
  runs?: string[];
  title?: string;
  /** The dataset's run colours (default: a map made from the rows' runs). */
  colors?: RunColors;
  /**
   * Shift each run's points sideways by up to this fraction of the smallest gap between x values,
   * so that runs with equal ASR (e.g. all 0) do not hide each other (default 0.3; 0 for none). The
   * hover shows the true value.
   */
  dodge?: number;
  /**
   * One panel per run (small multiples on one y axis) instead of one overlay: `"auto"` (default)
   * when there are more than 2 runs, where equal ASRs would put lines on top of each other.
   */
  facets?: boolean | "auto";
}

/** `k`, `prefix_len`, `span_len`, or any other numeric condition field (e.g. `ft_step`). */
type Field = string;

/** The value of a condition field of a row (standard fields, else its other conditions). */
function fieldValue(r: AsrRow, field: Field): number | null {
  const v = field === "k" || field === "prefix_len" || field === "span_len" ? r[field] : r.conditions?.[field];
  return typeof v === "number" ? v : null;
}

const DASHES = ["solid", "dot", "dash", "dashdot"];

const AXIS: Record<string, string> = {
  k: "prefilled harmful tokens k",
  prefix_len: "refusal tokens before the inserted span (prefix_len)",
  span_len: "inserted span length (span_len)",
  ft_step: "fine-tuning attack steps (ft_step)",
};

/**
 * ASR against `field`, one line per (run, attack), with asymmetric 95% error bars (the rows'
 * intervals; the y axis names their methods, the hover each point's). Runs keep
 * their colour and marker from `colors`; attacks differ by dash. With more than 2 runs each run
 * gets its own panel (`facets`), on one shared y axis; in a panel or overlay, series are dodged
 * sideways (see `dodge`). So no line or interval is hidden under another.
 */
export function asrLineFigure(rows: readonly AsrRow[], field: Field, opts: AsrLineOptions = {}): Figure {
  const mine = rows.filter((r) => fieldValue(r, field) !== null && r.asr !== null && (opts.attack === undefined || r.attack === opts.attack) && (!opts.runs || opts.runs.includes(r.run)));
  const series: Array<{ run: string; attack: string }> = [];
  for (const r of mine) if (!series.some((s) => s.run === r.run && s.attack === r.attack)) series.push({ run: r.run, attack: r.attack });
  if (opts.runs) series.sort((a, b) => opts.runs!.indexOf(a.run) - opts.runs!.indexOf(b.run));
  const attacks = [...new Set(series.map((s) => s.attack))].sort();
  const runs = [...new Set(series.map((s) => s.run))].sort();
  const colors = colorsFor(opts.colors, runs);
  const xs = [...new Set(mine.map((r) => fieldValue(r, field) as number))].sort((a, b) => a - b);
  let gapX = 1;
  for (let i = 1; i < xs.length; i++) gapX = i === 1 ? xs[1] - xs[0] : Math.min(gapX, xs[i] - xs[i - 1]);
  const width = (opts.dodge ?? 0.3) * gapX;
  const facets = opts.facets === "auto" || opts.facets === undefined ? runs.length > 2 : opts.facets;
  // Panels: a grid of about square shape, runs in name order.
  const cols = facets ? (runs.length <= 3 ? runs.length : Math.ceil(Math.sqrt(runs.length))) : 1;
  const nrows = facets ? Math.ceil(runs.length / cols) : 1;
  const panelOf = (run: string) => (facets ? runs.indexOf(run) : 0);
  const slots = series.map((s) => (facets ? s.attack : `${s.run}\u0000${s.attack}`));
  const slotsIn = (s: { run: string }) => [...new Set(series.filter((x) => panelOf(x.run) === panelOf(s.run)).map((x) => (facets ? x.attack : `${x.run}\u0000${x.attack}`)))].sort();
  const data = series.map((s, si) => {
    const pts = mine.filter((r) => r.run === s.run && r.attack === s.attack).sort((a, b) => (fieldValue(a, field) as number) - (fieldValue(b, field) as number));
    const st = colors.style(s.run);
    const mySlots = slotsIn(s);
    const slot = mySlots.indexOf(slots[si]);
    const shift = mySlots.length > 1 ? (slot / (mySlots.length - 1) - 0.5) * width : 0;
    const pi = panelOf(s.run);
    const ax = pi === 0 ? "" : String(pi + 1);
    return {
      xaxis: `x${ax}`,
      yaxis: `y${ax}`,
      type: "scatter",
      mode: "lines+markers",
      name: attacks.length > 1 ? `${s.run} (${s.attack})` : s.run,
      legendgroup: s.run,
      x: pts.map((p) => (fieldValue(p, field) as number) + shift),
      y: pts.map((p) => p.asr),
      error_y: {
        type: "data",
        symmetric: false,
        array: pts.map((p) => (p.ci ? p.ci[1] - (p.asr as number) : 0)),
        arrayminus: pts.map((p) => (p.ci ? (p.asr as number) - p.ci[0] : 0)),
        thickness: 1.5,
        width: 5,
        color: st.color,
      },
      customdata: pts.map((p) => [p.harmful, p.n, p.ci?.[0] ?? null, p.ci?.[1] ?? null, fieldValue(p, field), p.ci_method ? CI_METHOD_NAMES[p.ci_method] : ""]),
      hovertemplate: `${field} %{customdata[4]}<br>ASR %{y:.3f} (%{customdata[0]}/%{customdata[1]})<br>95% CI [%{customdata[2]:.3f}, %{customdata[3]:.3f}] %{customdata[5]}<extra>%{fullData.name}</extra>`,
      line: { color: st.color, width: st.width, dash: attacks.length > 1 ? DASHES[attacks.indexOf(s.attack) % DASHES.length] : st.dash },
      marker: { size: 8, color: st.color, symbol: st.symbol, line: { width: 1, color: "#fff" } },
    };
  });
  const what = opts.attack ?? (attacks.length === 1 ? attacks[0] : "attacks");
  const layout = baseLayout(opts.title ?? `Attack success rate (${what}) by ${field}`, AXIS[field] ?? field, "attack success rate");
  const xrange = xs.length ? [xs[0] - 0.6 * gapX, xs[xs.length - 1] + 0.6 * gapX] : undefined;
  const ticks = xs.length > 12 && facets ? xs.filter((_, i) => i % Math.ceil(xs.length / 6) === 0) : xs;
  const methods = ciMethodsText(mine);
  const ciText = `95% CI${methods ? `: ${methods}` : ""}`;
  layout.yaxis = { title: { text: `attack success rate (${ciText})` }, range: [-0.04, 1.04], zeroline: false };
  layout.xaxis = { title: { text: AXIS[field] ?? field }, zeroline: false, tickmode: "array", tickvals: ticks, range: xrange };
  if (facets) {
    const gx = 0.04;
    const gy = 0.12;
    const w = (1 - gx * (cols - 1)) / cols;
    const h = (1 - gy * (nrows - 1)) / nrows;
    const annotations: unknown[] = [];
    runs.forEach((run, i) => {
      const ax = i === 0 ? "" : String(i + 1);
      const c = i % cols;
      const r = Math.floor(i / cols);
      const x0 = c * (w + gx);
      const y1 = 1 - r * (h + gy);
      const bottom = r === nrows - 1 || i + cols >= runs.length;
      layout[`xaxis${ax}`] = { domain: [x0, x0 + w], anchor: `y${ax}`, zeroline: false, tickmode: "array", tickvals: ticks, range: xrange, ...(bottom ? { title: { text: field } } : {}) };
      layout[`yaxis${ax}`] = { domain: [y1 - h, y1], anchor: `x${ax}`, range: [-0.04, 1.04], zeroline: false, ...(c === 0 ? { title: { text: r === 0 || nrows === 1 ? `ASR (${ciText})` : "ASR" } } : { showticklabels: false }) };
      annotations.push({ text: `<b>${run.replace(/[<>&]/g, "")}</b>`, font: { color: colors.color(run) }, x: x0 + w / 2, xref: "paper", y: y1, yref: "paper", xanchor: "center", yanchor: "bottom", showarrow: false });
    });
    layout.annotations = annotations;
    layout.margin = { l: 60, r: 20, t: 70, b: 50 };
    if (nrows > 1) layout.height = 260 * nrows + 120;
  }
  return { data, layout };
}

/**
 * ASR against prefilled harmful tokens k, per run: rows from `asrByK` (or `attackSuccess`).
 * @example show(asrByKFigure(asrByK(records)))
 */
export function asrByKFigure(rows: readonly AsrRow[], opts: AsrLineOptions = {}): Figure {
  return asrLineFigure(rows, "k", opts);
}

/** ASR against the refusal-prefix length, per run: rows from `asrByPrefixLen` (pooled over span lengths). */
export function asrByPrefixLenFigure(rows: readonly AsrRow[], opts: AsrLineOptions = {}): Figure {
  return asrLineFigure(rows, "prefix_len", opts);
}

/** ASR against the inserted span length, per run: rows from `asrBySpanLen` (pooled over prefix lengths). */
export function asrBySpanLenFigure(rows: readonly AsrRow[], opts: AsrLineOptions = {}): Figure {
  return asrLineFigure(rows, "span_len", opts);
}

/**
 * The table `asrHeatmapFigure` opens on: the one whose cells' ASR varies most (population variance
 * over the cells with outcomes; ties: the first), so that the first view is not an all-0 run.
 */
export function mostInformativeTable(tables: readonly AsrTable2d[]): number {
  let best = 0;
  let bestVar = -1;
  tables.forEach((t, i) => {
    const v = t.asr.flat().filter((x): x is number => x !== null && Number.isFinite(x));
    if (!v.length) return;
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    const variance = v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length;
    if (variance > bestVar + 1e-12) {
      best = i;
      bestVar = variance;
    }
  });
  return best;
}

/**
 * Heatmap of ASR over prefix_len (rows) x span_len (columns), one per (run, attack) of `tables`
 * (from `asrTable2d`), with a dropdown to switch; `run` picks the one shown first (default the one
 * whose ASR varies most over its cells, `mostInformativeTable`). Each cell is labelled with its ASR.
 * @example show(asrHeatmapFigure(asrTable2d(records), { run: "sft" }))
 */
export function asrHeatmapFigure(tables: readonly AsrTable2d[], opts: { run?: string; title?: string } = {}): Figure {
  const first = opts.run !== undefined && tables.some((t) => t.run === opts.run) ? tables.findIndex((t) => t.run === opts.run) : mostInformativeTable(tables);
  const label = (t: AsrTable2d) => (new Set(tables.map((x) => x.attack)).size > 1 ? `${t.run} (${t.attack})` : t.run);
  const data = tables.map((t, i) => ({
    type: "heatmap",
    name: label(t),
    visible: i === first,
    x: t.colValues.map(String),
    y: t.rowValues.map(String),
    z: t.asr,
    zmin: 0,
    zmax: 1,
    colorscale: "Reds",
    texttemplate: "%{z:.2f}",
    colorbar: { title: { text: "ASR" } },
    customdata: t.cells.map((row) => row.map((c) => (c ? [c.harmful, c.n, c.ci?.[0] ?? null, c.ci?.[1] ?? null, c.ci_method ? CI_METHOD_NAMES[c.ci_method] : ""] : [null, 0, null, null, ""]))),
    hovertemplate: `${t.rowField} %{y}, ${t.colField} %{x}<br>ASR %{z:.3f} (%{customdata[0]}/%{customdata[1]})<br>95% CI [%{customdata[2]:.3f}, %{customdata[3]:.3f}] %{customdata[4]}<extra>${label(t).replace(/[<>&]/g, "")}</extra>`,
    xgap: 1,
    ygap: 1,
  }));
  const title = (t: AsrTable2d | undefined) => opts.title ?? `Attack success rate by ${t?.rowField ?? "prefix_len"} x ${t?.colField ?? "span_len"}${t ? `, ${label(t)}` : ""}`;
  const t0 = tables[first];
  const layout = baseLayout(title(t0), AXIS[(t0?.colField ?? "span_len") as Field] ?? t0?.colField, AXIS[(t0?.rowField ?? "prefix_len") as Field] ?? t0?.rowField);
  (layout.xaxis as Record<string, unknown>).type = "category";
  (layout.yaxis as Record<string, unknown>).type = "category";
  if (tables.length > 1) layout.updatemenus = [traceDropdown(tables.map(label), { active: first, titles: tables.map(title) })];
  return { data, layout };
}
