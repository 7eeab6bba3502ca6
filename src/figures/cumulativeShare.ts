import type { UpdateMass } from "../stats/updateMass";
import { Figure, RUN_COLORS, baseLayout } from "./figure";

/** Cumulative share of the update by position, one line per run, with the 50% and 90% levels. */
export function cumulativeShareFigure(masses: Array<{ run: string; mass: UpdateMass }>, opts: { metric?: string; title?: string } = {}): Figure {
  const data: Array<Record<string, unknown>> = masses.map(({ run, mass }, i) => ({
    type: "scatter",
    mode: "lines+markers",
    name: `${run} (E${mass.k} ${mass.earlyShare === null ? "n/a" : mass.earlyShare.toFixed(2)})`,
    x: mass.positions,
    y: mass.cumulative,
    line: { shape: "hv", color: RUN_COLORS[i % RUN_COLORS.length] },
    marker: { size: 4 },
    hovertemplate: `position %{x}<br>cumulative share %{y:.3f}<extra>%{fullData.name}</extra>`,
  }));
  const layout: Record<string, unknown> = baseLayout(opts.title ?? `Cumulative share of the ${opts.metric ?? "loss"} update by position`, "token position (0 = first scored token)", "cumulative share of |update|");
  layout.yaxis = { title: { text: "cumulative share of |update|" }, range: [0, 1.02] };
  layout.shapes = [0.5, 0.9].map((y) => ({ type: "line", xref: "paper", x0: 0, x1: 1, y0: y, y1: y, line: { dash: "dot", width: 1, color: "#888" } }));
  return { data, layout };
}
