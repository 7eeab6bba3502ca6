import type { ConcentrationRow } from "../stats/concentration";
import { Figure, baseLayout, downsample } from "./figure";
import { RunColors, colorsFor } from "./palette";

/** Early share E_k of the update from the first checkpoint, against the checkpoint, one line per run (styles from `colors`, the dataset's map). */
export function earlyShareFigure(rows: Array<Omit<ConcentrationRow, "examples">>, opts: { k?: number; metric?: string; title?: string; colors?: RunColors } = {}): Figure {
  const runs = [...new Set(rows.map((r) => r.run))];
  const k = opts.k ?? 5;
  const colors = colorsFor(opts.colors, runs);
  const data = runs.map((run) => {
    const pts = downsample(rows.filter((r) => r.run === run).sort((a, b) => a.step - b.step));
    return {
      type: "scatter",
      mode: "lines+markers",
      name: run,
      x: pts.map((p) => p.step),
      y: pts.map((p) => p.earlyShare),
      customdata: pts.map((p) => [p.d50]),
      hovertemplate: `step %{x}<br>E${k} %{y:.3f}<br>d50 %{customdata[0]}<extra>%{fullData.name}</extra>`,
      ...colors.trace(run, { markerSize: 6 }),
    };
  });
  const layout: Record<string, unknown> = baseLayout(opts.title ?? `Early share E${k} of the ${opts.metric ?? "loss"} update over training`, "step", `E${k} (share of |update| at positions < ${k})`);
  layout.yaxis = { title: { text: `E${k}` }, range: [0, 1.02] };
  return { data, layout };
}
