/**
 * Attack figures: ASR against one condition field (prefilled tokens k, refusal-prefix length,
 * span length) per run with Wilson error bars, and the prefix_len x span_len heatmap.
 */
import type { AsrRow, AsrTable2d } from "../attacks/asr";
import { Figure, RUN_COLORS, baseLayout, traceDropdown } from "./figure";

export interface AsrLineOptions {
  /** Only this attack (default: every attack whose rows have the field; the legend then names it). */
  attack?: string;
  /** Only these runs (default all, in the order of the rows). */
  runs?: string[];
  title?: string;
}

type Field = "k" | "prefix_len" | "span_len";

const DASHES = ["solid", "dot", "dash", "dashdot"];

const AXIS: Record<Field, string> = {
  k: "prefilled harmful tokens k",
  prefix_len: "refusal tokens before the inserted span (prefix_len)",
  span_len: "inserted span length (span_len)",
};

/** ASR against `field`, one line per (run, attack), with asymmetric Wilson error bars. */
export function asrLineFigure(rows: readonly AsrRow[], field: Field, opts: AsrLineOptions = {}): Figure {
  const mine = rows.filter((r) => r[field] !== null && r.asr !== null && (opts.attack === undefined || r.attack === opts.attack) && (!opts.runs || opts.runs.includes(r.run)));
  const series: Array<{ run: string; attack: string }> = [];
  for (const r of mine) if (!series.some((s) => s.run === r.run && s.attack === r.attack)) series.push({ run: r.run, attack: r.attack });
  if (opts.runs) series.sort((a, b) => opts.runs!.indexOf(a.run) - opts.runs!.indexOf(b.run));
  const attacks = new Set(series.map((s) => s.attack));
  const runs = [...new Set(series.map((s) => s.run))];
  const data = series.map((s) => {
    const pts = mine.filter((r) => r.run === s.run && r.attack === s.attack).sort((a, b) => (a[field] as number) - (b[field] as number));
    const color = RUN_COLORS[runs.indexOf(s.run) % RUN_COLORS.length];
    return {
      type: "scatter",
      mode: "lines+markers",
      name: attacks.size > 1 ? `${s.run} (${s.attack})` : s.run,
      x: pts.map((p) => p[field]),
      y: pts.map((p) => p.asr),
      error_y: {
        type: "data",
        symmetric: false,
        array: pts.map((p) => (p.ci ? p.ci[1] - (p.asr as number) : 0)),
        arrayminus: pts.map((p) => (p.ci ? (p.asr as number) - p.ci[0] : 0)),
        thickness: 1.2,
        width: 4,
        color,
      },
      customdata: pts.map((p) => [p.harmful, p.n, p.ci?.[0] ?? null, p.ci?.[1] ?? null]),
      hovertemplate: `${field} %{x}<br>ASR %{y:.3f} (%{customdata[0]}/%{customdata[1]})<br>95% CI [%{customdata[2]:.3f}, %{customdata[3]:.3f}]<extra>%{fullData.name}</extra>`,
      line: { color, width: 2, dash: DASHES[[...attacks].indexOf(s.attack) % DASHES.length] },
      marker: { size: 7, color },
    };
  });
  const what = opts.attack ?? (attacks.size === 1 ? [...attacks][0] : "attacks");
  const layout = baseLayout(opts.title ?? `Attack success rate (${what}) by ${field}`, AXIS[field], "attack success rate");
  layout.yaxis = { title: { text: "attack success rate (95% Wilson CI)" }, range: [-0.02, 1.02], zeroline: false };
  layout.xaxis = { title: { text: AXIS[field] }, zeroline: false, tickmode: "array", tickvals: [...new Set(mine.map((r) => r[field]))].sort((a, b) => (a as number) - (b as number)) };
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
 * Heatmap of ASR over prefix_len (rows) x span_len (columns), one per (run, attack) of `tables`
 * (from `asrTable2d`), with a dropdown to switch; `run` picks the one shown first.
 * @example show(asrHeatmapFigure(asrTable2d(records), { run: "sft" }))
 */
export function asrHeatmapFigure(tables: readonly AsrTable2d[], opts: { run?: string; title?: string } = {}): Figure {
  const first = Math.max(0, tables.findIndex((t) => t.run === opts.run));
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
    colorbar: { title: { text: "ASR" } },
    customdata: t.cells.map((row) => row.map((c) => (c ? [c.harmful, c.n, c.ci?.[0] ?? null, c.ci?.[1] ?? null] : [null, 0, null, null]))),
    hovertemplate: `${t.rowField} %{y}, ${t.colField} %{x}<br>ASR %{z:.3f} (%{customdata[0]}/%{customdata[1]})<br>95% CI [%{customdata[2]:.3f}, %{customdata[3]:.3f}]<extra>${label(t).replace(/[<>&]/g, "")}</extra>`,
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
