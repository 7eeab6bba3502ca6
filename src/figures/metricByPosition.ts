import type { PositionProfileRow } from "../stats/positionProfile";
import { Figure, baseLayout, downsample, seBand, sequentialColor, spreadSteps } from "./figure";

export interface MetricByPositionOptions {
  /** Checkpoints to draw (default up to 5 spread over the run). */
  steps?: number[];
  /** Run to draw (default the first in the rows). */
  run?: string;
  metric?: string;
  /** Draw a band of +-1.96 se. Default true. */
  band?: boolean;
  /** A fixed y range, e.g. `profileYRange(rows)` shared by one figure per run (default: automatic). */
  yRange?: [number, number];
  title?: string;
}

/**
 * The metric by position at chosen checkpoints, one line per checkpoint: the view of the published
 * per-token fine-tuning figures.
 */
export function metricByPositionFigure(rows: PositionProfileRow[], opts: MetricByPositionOptions = {}): Figure {
  const run = opts.run ?? rows[0]?.run;
  const mine = rows.filter((r) => r.run === run && r.mean !== null);
  const steps = opts.steps ?? spreadSteps(mine.map((r) => r.step));
  const metric = opts.metric ?? "loss";
  const data: Array<Record<string, unknown>> = [];
  steps.forEach((step, i) => {
    const pts = downsample(mine.filter((r) => r.step === step).sort((a, b) => a.position - b.position));
    const color = sequentialColor(steps.length > 1 ? i / (steps.length - 1) : 0);
    if (opts.band !== false && pts.some((p) => p.se !== null))
      data.push({ type: "scatter", ...seBand(pts.map((p) => ({ x: p.position, mean: p.mean, se: p.se })), color.replace("rgb", "rgba").replace(")", ",0.15)"), `step ${step}`) });
    data.push({
      type: "scatter",
      mode: "lines+markers",
      name: `step ${step}`,
      legendgroup: `step ${step}`,
      x: pts.map((p) => p.position),
      y: pts.map((p) => p.mean),
      customdata: pts.map((p) => [p.n, p.se]),
      hovertemplate: `step ${step}<br>position %{x}<br>mean %{y:.4f}<br>n %{customdata[0]}, se %{customdata[1]:.4f}<extra></extra>`,
      line: { color, width: 2 },
      marker: { size: 4, color },
    });
  });
  const layout = baseLayout(opts.title ?? `${metric} by position, ${run}`, "token position (0 = first scored token)", `mean ${metric}`);
  if (opts.yRange) (layout.yaxis as Record<string, unknown>).range = [...opts.yRange];
  return { data, layout };
}
