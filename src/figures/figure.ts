/** A plain plotly figure: what every figure builder returns, and what `show` and the report draw. */
export interface Figure {
  data: Array<Record<string, unknown>>;
  layout: Record<string, unknown>;
  config?: Record<string, unknown>;
}

/** A colour from a sequential scale (viridis-like), t in [0, 1]: early checkpoints dark, late light. */
export function sequentialColor(t: number): string {
  const stops = [
    [68, 1, 84],
    [59, 82, 139],
    [33, 145, 140],
    [94, 201, 98],
    [253, 231, 37],
  ];
  const x = Math.max(0, Math.min(1, t)) * (stops.length - 1);
  const i = Math.min(Math.floor(x), stops.length - 2);
  const f = x - i;
  const c = stops[i].map((v, j) => Math.round(v + f * (stops[i + 1][j] - v)));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/**
 * Categorical colours for runs, in the order `runColors` gives them (Okabe-Ito). Figures take their
 * run colours from a `RunColors` map (palette.ts), never by position in a list.
 */
export { RUN_COLOR_CYCLE as RUN_COLORS } from "./palette";

export function baseLayout(title: string, x: string, y: string): Record<string, unknown> {
  return {
    title: { text: title },
    xaxis: { title: { text: x }, zeroline: false },
    yaxis: { title: { text: y }, zeroline: false },
    margin: { l: 60, r: 20, t: 50, b: 50 },
    hovermode: "closest",
    template: { layout: { font: { family: "sans-serif" } } },
  };
}

/** Picks up to `count` checkpoints spread over the steps: always the first and the last. */
export function spreadSteps(steps: number[], count = 5): number[] {
  const s = [...new Set(steps)].sort((a, b) => a - b);
  if (s.length <= count) return s;
  const out = new Set<number>();
  for (let i = 0; i < count; i++) out.add(s[Math.round((i * (s.length - 1)) / (count - 1))]);
  return [...out];
}

/** Keeps at most `max` points of a line by taking evenly spaced ones (first and last kept). */
export function downsample<T>(points: T[], max = 2000): T[] {
  if (points.length <= max) return points;
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(points[Math.round((i * (points.length - 1)) / (max - 1))]);
  return out;
}

/**
 * A dropdown that shows one trace at a time (trace i for entry i), optionally changing the title.
 * Used by the figures that hold one trace per run.
 */
export function traceDropdown(labels: string[], opts: { active?: number; titles?: string[] } = {}): Record<string, unknown> {
  return {
    type: "dropdown",
    // Top left, above the plot: clear of the centred title and of the legend and colour bar.
    x: 0,
    xanchor: "left",
    y: 1.02,
    yanchor: "bottom",
    active: opts.active ?? 0,
    buttons: labels.map((label, i) => ({
      label,
      method: "update",
      args: opts.titles ? [{ visible: labels.map((_, j) => j === i) }, { "title.text": opts.titles[i] }] : [{ visible: labels.map((_, j) => j === i) }],
    })),
  };
}

/**
 * One y range for several profile figures (e.g. one per run) so that they compare: the lowest
 * mean - 1.96 se to the highest mean + 1.96 se of `rows` (se left out with `band: false`), padded
 * by 5% of the span (0.5 when flat). Undefined when no row has a mean.
 * @example const yRange = profileYRange(profile); for (const run of runs) show(metricByPositionFigure(profile, { run, yRange }));
 */
export function profileYRange(rows: ReadonlyArray<{ mean: number | null; se: number | null }>, opts: { band?: boolean } = {}): [number, number] | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of rows) {
    if (r.mean === null || !Number.isFinite(r.mean)) continue;
    const half = opts.band !== false && r.se !== null ? 1.96 * r.se : 0;
    lo = Math.min(lo, r.mean - half);
    hi = Math.max(hi, r.mean + half);
  }
  if (!Number.isFinite(lo)) return undefined;
  const pad = hi > lo ? 0.05 * (hi - lo) : 0.5;
  return [lo - pad, hi + pad];
}

/**
 * The parts of a +-1.96 se band around a line (a closed polygon, hidden from the legend and from
 * hovers) over the points that have an se; the caller adds `type` (and axes).
 */
export function seBand(points: ReadonlyArray<{ x: number; mean: number | null; se: number | null }>, fillcolor: string, legendgroup: string): Record<string, unknown> {
  const withSe = points.filter((p) => p.se !== null);
  return {
    x: [...withSe.map((p) => p.x), ...withSe.map((p) => p.x).reverse()],
    y: [...withSe.map((p) => (p.mean as number) + 1.96 * (p.se as number)), ...withSe.map((p) => (p.mean as number) - 1.96 * (p.se as number)).reverse()],
    fill: "toself",
    fillcolor,
    line: { width: 0 },
    hoverinfo: "skip",
    showlegend: false,
    legendgroup,
  };
}
