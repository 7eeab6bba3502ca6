import type { ConcentrationRow } from "../stats/concentration";
import { Figure, RUN_COLORS, baseLayout, downsample } from "./figure";

/** Early share E_k of the update from the first checkpoint, against the checkpoint, one line per run. */
export function earlyShareFigure(rows: Array<Omit<ConcentrationRow, "examples">>, opts: { k?: number; metric?: string; title?: string } = {}): Figure {
  const runs = [...new Set(rows.map((r) => r.run))];
  const k = opts.k ?? 5;
  const data = runs.map((run, i) => {
    const pts = downsample(rows.filter((r) => r.run === run).sort((a, b) => a.step - b.step));
    return {
      type: "scatter",
      mode: "lines+markers",
      name: run,
      x: pts.map((p) => p.step),
      y: pts.map((p) => p.earlyShare),
      customdata: pts.map((p) => [p.d50]),
      hovertemplate: `step %{x}<br>E${k} %{y:.3f}<br>d50 %{customdata[0]}<extra>%{fullData.name}</extra>`,
      line: { color: RUN_COLORS[i % RUN_COLORS.length] },
    };
  });
  const layout: Record<string, unknown> = baseLayout(opts.title ?? `Early share E${k} of the ${opts.metric ?? "loss"} update over training`, "step", `E${k} (share of |update| at positions < ${k})`);
  layout.yaxis = { title: { text: `E${k}` }, range: [0, 1.02] };
  return { data, layout };
}
