import type { UpdateMass } from "../stats/updateMass";
import { Figure, baseLayout } from "./figure";
import { RunColors, colorsFor } from "./palette";

/**
 * The caveat METRICS 3.3 requires wherever the absolute share is shown: drawn on the figure.
 */
export const ABSOLUTE_SHARE_CAVEAT = "Absolute share: |delta| of an unchanged position is its noise,<br>so this share is biased toward late positions (METRICS 3.3)";

/**
 * Cumulative absolute share of the update by position (METRICS 3.3: sum over q <= p of
 * |delta(q)| / sum of |delta|; x = token position, 0-based; y in [0, 1]), one line per run
 * (colour, marker, dash from `colors`, the dataset's map; default one made from these runs), with
 * the 50% and 90% levels. The figure carries the 3.3 caveat (`ABSOLUTE_SHARE_CAVEAT`) as an
 * annotation in the lower right of the plot. It stays the absolute share (the share of |update|
 * that the report's d50/d90 read off); the net share of comparisons (METRICS 3.4) is in the
 * summary and comparison tables.
 */
export function cumulativeShareFigure(masses: Array<{ run: string; mass: UpdateMass }>, opts: { metric?: string; title?: string; colors?: RunColors } = {}): Figure {
  const colors = colorsFor(opts.colors, masses.map((m) => m.run));
  const data: Array<Record<string, unknown>> = masses.map(({ run, mass }) => ({
    type: "scatter",
    mode: "lines+markers",
    name: `${run} (E${mass.k} ${mass.earlyShare === null ? "n/a" : mass.earlyShare.toFixed(2)})`,
    x: mass.positions,
    y: mass.cumulative,
    ...colors.trace(run, { markerSize: 5 }),
    hovertemplate: `position %{x}<br>cumulative share %{y:.3f}<extra>%{fullData.name}</extra>`,
  }));
  for (const t of data) (t.line as Record<string, unknown>).shape = "hv";
  const layout: Record<string, unknown> = baseLayout(opts.title ?? `Cumulative share of the ${opts.metric ?? "loss"} update by position`, "token position (0 = first scored token)", "cumulative share of |update|");
  layout.yaxis = { title: { text: "cumulative share of |update|" }, range: [0, 1.02] };
  layout.annotations = [
    ...((layout.annotations as unknown[] | undefined) ?? []),
    { xref: "paper", yref: "paper", x: 1, y: 0.02, xanchor: "right", yanchor: "bottom", align: "right", showarrow: false, text: ABSOLUTE_SHARE_CAVEAT, font: { size: 10, color: "#555" }, bgcolor: "rgba(255,255,255,0.85)" },
  ];
  layout.shapes = [0.5, 0.9].map((y) => ({ type: "line", xref: "paper", x0: 0, x1: 1, y0: y, y1: y, line: { dash: "dot", width: 1, color: "#888" } }));
  return { data, layout };
}
