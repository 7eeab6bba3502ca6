import type { PositionProfileRow } from "../stats/positionProfile";
import { Figure, baseLayout, downsample, sequentialColor, spreadSteps } from "./figure";

export interface MetricByPositionSliderOptions {
  /** Run to draw (default the first in the rows). */
  run?: string;
  /** The metric the rows hold, for the axis and title (default `loss`). */
  metric?: string;
  /** Checkpoints, one slider stop each (default every step of the run, at most `maxSteps`). */
  steps?: number[];
  /** Most checkpoints when `steps` is not given, spread over the run (default 40). */
  maxSteps?: number;
  /** Error bars of +-1.96 se on each point. Default true. */
  band?: boolean;
  /** Keep the first checkpoint drawn as a grey dotted line under every stop. Default true. */
  reference?: boolean;
  /** The checkpoint shown first (default the last). */
  active?: number;
  /**
   * The y range, e.g. one range shared by the figures of several runs so that they compare
   * (default: the range of this run's shown checkpoints, ±1.96 se, padded by 5%).
   */
  yRange?: [number, number];
  /** Words for the probes in the title, e.g. "refusal probes". */
  what?: string;
  title?: string;
}

/** A figure with one trace per checkpoint is stored twice in a notebook: keep its numbers short. */
const round = (x: number, digits: number) => Number(x.toPrecision(digits));

/**
 * The metric by position, one checkpoint at a time: one trace per checkpoint and a slider that
 * shows one of them (under it, the first checkpoint as a grey dotted reference). The y axis is
 * fixed over all checkpoints, so moving the slider shows how the profile moves over training.
 * Means are rounded to 5 significant digits, error bars to 3. Rows come from `positionProfile`.
 * @example show(metricByPositionSliderFigure(await positionProfile(logs, { where: { split: "refusal" } }), { run: "sft" }))
 */
export function metricByPositionSliderFigure(rows: readonly PositionProfileRow[], opts: MetricByPositionSliderOptions = {}): Figure {
  const run = opts.run ?? rows[0]?.run;
  const metric = opts.metric ?? "loss";
  const mine = rows.filter((r) => r.run === run && r.mean !== null);
  const all = [...new Set(mine.map((r) => r.step))].sort((a, b) => a - b);
  const steps = opts.steps ? opts.steps.filter((s) => all.includes(s)) : spreadSteps(all, opts.maxSteps ?? 40);
  const band = opts.band !== false;
  const points = (step: number) => downsample(mine.filter((r) => r.step === step).sort((a, b) => a.position - b.position));
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of mine) {
    if (!steps.includes(r.step)) continue;
    const half = band && r.se !== null ? 1.96 * r.se : 0;
    lo = Math.min(lo, (r.mean as number) - half);
    hi = Math.max(hi, (r.mean as number) + half);
  }
  const pad = hi > lo ? 0.05 * (hi - lo) : 0.5;
  const active = opts.active !== undefined && steps.includes(opts.active) ? steps.indexOf(opts.active) : steps.length - 1;
  const data: Array<Record<string, unknown>> = steps.map((step, i) => {
    const pts = points(step);
    // The scale stops short of its light yellow end, which is hard to see on white.
    const color = sequentialColor(steps.length > 1 ? (0.85 * i) / (steps.length - 1) : 0);
    return {
      type: "scatter",
      mode: "lines+markers",
      name: `step ${step}`,
      visible: i === active,
      x: pts.map((p) => p.position),
      y: pts.map((p) => round(p.mean as number, 5)),
      ...(band ? { error_y: { type: "data", array: pts.map((p) => (p.se === null ? 0 : round(1.96 * p.se, 3))), thickness: 1, width: 2, color } } : {}),
      hovertemplate: `position %{x}<br>mean %{y:.4f}<extra>step ${step}</extra>`,
      line: { color, width: 2 },
      marker: { size: 5, color },
    };
  });
  const withReference = opts.reference !== false && steps.length > 1;
  if (withReference) {
    const pts = points(steps[0]);
    data.push({
      type: "scatter",
      mode: "lines",
      name: `step ${steps[0]} (first)`,
      x: pts.map((p) => p.position),
      y: pts.map((p) => round(p.mean as number, 5)),
      hovertemplate: `position %{x}<br>mean %{y:.4f}<extra>step ${steps[0]}</extra>`,
      line: { color: "#999", width: 1.5, dash: "dot" },
    });
  }
  const what = opts.what ? ` (${opts.what})` : "";
  const layout = baseLayout(opts.title ?? `${metric} by position${what}, ${run}`, "token position (0 = first scored token)", `mean ${metric}`);
  if (opts.yRange) (layout.yaxis as Record<string, unknown>).range = [...opts.yRange];
  else if (Number.isFinite(lo)) (layout.yaxis as Record<string, unknown>).range = [lo - pad, hi + pad];
  layout.margin = { l: 60, r: 20, t: 50, b: 100 };
  layout.sliders = [
    {
      active,
      currentvalue: { prefix: "checkpoint: step ", font: { size: 12 } },
      pad: { t: 50 },
      steps: steps.map((step, i) => ({
        label: String(step),
        method: "update",
        args: [{ visible: [...steps.map((_, j) => j === i), ...(withReference ? [true] : [])] }],
      })),
    },
  ];
  return { data, layout };
}
