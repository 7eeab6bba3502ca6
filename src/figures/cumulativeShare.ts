import type { UpdateMass } from "../stats/updateMass";
import { Figure, baseLayout } from "./figure";
import { RunColors, colorsFor } from "./palette";

/**
 * Cumulative share of the update by position, one line per run (colour, marker, dash from
 * `colors`, the dataset's map; default one made from these runs), with the 50% and 90% levels.
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
  layout.shapes = [0.5, 0.9].map((y) => ({ type: "line", xref: "paper", x0: 0, x1: 1, y0: y, y1: y, line: { dash: "dot", width: 1, color: "#888" } }));
  return { data, layout };
}
