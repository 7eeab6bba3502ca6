import type { StepUpdateRow } from "../stats/concentration";
import { Figure, baseLayout, traceDropdown } from "./figure";

/**
 * Step x position heatmap of the update from the first checkpoint: the colour at (position, step)
 * is the mean change of the metric there. A dropdown switches between runs.
 */
export function updateHeatmapFigure(rows: StepUpdateRow[], opts: { metric?: string; title?: string; maxPositions?: number } = {}): Figure {
  const metric = opts.metric ?? "loss";
  const runs = [...new Set(rows.map((r) => r.run))];
  const maxPos = opts.maxPositions ?? 512;
  let zmax = 0;
  for (const r of rows) if (r.position < maxPos) zmax = Math.max(zmax, Math.abs(r.delta));
  const data = runs.map((run, i) => {
    const mine = rows.filter((r) => r.run === run && r.position < maxPos);
    const steps = [...new Set(mine.map((r) => r.step))].sort((a, b) => a - b);
    const positions = [...new Set(mine.map((r) => r.position))].sort((a, b) => a - b);
    const si = new Map(steps.map((s, j) => [s, j]));
    const pi = new Map(positions.map((p, j) => [p, j]));
    const z: Array<Array<number | null>> = steps.map(() => positions.map(() => null));
    for (const r of mine) z[si.get(r.step)!][pi.get(r.position)!] = r.delta;
    return {
      type: "heatmap",
      name: run,
      x: positions,
      y: steps,
      z,
      zmin: -zmax,
      zmax: zmax,
      colorscale: "RdBu",
      reversescale: false,
      colorbar: { title: { text: `change in ${metric}` } },
      hovertemplate: `${"run %{meta}"}<br>step %{y}<br>position %{x}<br>change %{z:.4f}<extra></extra>`,
      meta: run,
      visible: i === 0,
    };
  });
  const title = opts.title ?? `Change in ${metric} since the first checkpoint`;
  const layout: Record<string, unknown> = baseLayout(runs.length > 1 ? `${title}, ${runs[0]}` : title, "token position (0 = first scored token)", "step");
  if (runs.length > 1) layout.updatemenus = [traceDropdown(runs, { titles: runs.map((run) => `${title}, ${run}`) })];
  return { data, layout };
}
