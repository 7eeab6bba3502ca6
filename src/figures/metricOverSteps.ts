/**
 * The metric at chosen token positions against the training step: one line per position (and one
 * for the average of the later positions), the view of Qi et al.'s second figure (per-token loss of
 * harmful answers over the steps of a harmful fine-tuning attack: position 0 against later ones).
 */
import type { PositionProfileRow } from "../stats/positionProfile";
import { Figure, baseLayout, seBand, sequentialColor } from "./figure";

export interface MetricOverStepsOptions {
  /** The run (or recipe, with `recipeProfile` rows) to draw (default the first in the rows). */
  run?: string;
  /** Positions drawn one line each (default 0, 1, 2). */
  positions?: number[];
  /**
   * One more line: the average of the per-position means at positions >= this (default: one past
   * the largest of `positions`; null for none). Its hover gives the positions averaged.
   */
  laterFrom?: number | null;
  metric?: string;
  /** Band of +-1.96 se around each position's line (default true; the rows' se: over probes, or across seeds for recipe rows). */
  band?: boolean;
  /** What the band's se is over, for the axis title (e.g. "seeds"; default "probes"). */
  seOver?: string;
  title?: string;
  /** A fixed y range (e.g. one for several recipes' figures). */
  yRange?: [number, number];
}

/**
 * Per-position mean of `metric` over the steps of one run or recipe (rows from `positionProfile` or
 * `recipeProfile`).
 * @example show(metricOverStepsFigure(await positionProfile(ftLogs), { run: "sft-finetune-seed1", positions: [0, 1, 2] }))
 */
export function metricOverStepsFigure(rows: readonly PositionProfileRow[], opts: MetricOverStepsOptions = {}): Figure {
  const run = opts.run ?? rows[0]?.run;
  const metric = opts.metric ?? "loss";
  const mine = rows.filter((r) => r.run === run && r.mean !== null);
  const positions = opts.positions ?? [0, 1, 2];
  const laterFrom = opts.laterFrom === undefined ? Math.max(-1, ...positions) + 1 : opts.laterFrom;
  const steps = [...new Set(mine.map((r) => r.step))].sort((a, b) => a - b);
  const nLines = positions.length + (laterFrom === null ? 0 : 1);
  const data: Array<Record<string, unknown>> = [];
  positions.forEach((p, i) => {
    const pts = mine.filter((r) => r.position === p).sort((a, b) => a.step - b.step);
    if (!pts.length) return;
    const color = sequentialColor(nLines > 1 ? i / (nLines - 1) : 0);
    if (opts.band !== false && pts.some((r) => r.se !== null))
      data.push({ type: "scatter", ...seBand(pts.map((r) => ({ x: r.step, mean: r.mean, se: r.se })), color.replace("rgb", "rgba").replace(")", ",0.15)"), `position ${p}`) });
    data.push({
      type: "scatter",
      mode: "lines+markers",
      name: `position ${p}`,
      legendgroup: `position ${p}`,
      x: pts.map((r) => r.step),
      y: pts.map((r) => r.mean),
      customdata: pts.map((r) => [r.n, r.se]),
      hovertemplate: `position ${p}<br>step %{x}<br>mean %{y:.4f}<br>n %{customdata[0]}, se %{customdata[1]:.4f}<extra></extra>`,
      line: { color, width: 2 },
      marker: { size: 5, color },
    });
  });
  if (laterFrom !== null) {
    const xs: number[] = [];
    const ys: number[] = [];
    const spans: string[] = [];
    for (const s of steps) {
      const late = mine.filter((r) => r.step === s && r.position >= laterFrom);
      if (!late.length) continue;
      xs.push(s);
      ys.push(late.reduce((a, r) => a + (r.mean as number), 0) / late.length);
      spans.push(`positions ${laterFrom}-${Math.max(...late.map((r) => r.position))} (${late.length})`);
    }
    if (xs.length) {
      const color = sequentialColor(1);
      data.push({
        type: "scatter",
        mode: "lines+markers",
        name: `positions >= ${laterFrom} (average)`,
        x: xs,
        y: ys,
        customdata: spans,
        hovertemplate: `average over %{customdata}<br>step %{x}<br>mean %{y:.4f}<extra></extra>`,
        line: { color, width: 2, dash: "dash" },
        marker: { size: 5, color },
      });
    }
  }
  const bandText = opts.band !== false && mine.some((r) => r.se !== null) ? ` (band: ±1.96 se over ${opts.seOver ?? "probes"})` : "";
  const layout = baseLayout(opts.title ?? `${metric} by training step at positions ${positions.join(", ")}, ${run}`, "training step", `mean ${metric}${bandText}`);
  if (opts.yRange) (layout.yaxis as Record<string, unknown>).range = [...opts.yRange];
  return { data, layout };
}
