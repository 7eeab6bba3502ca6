import type { PositionProfileRow } from "../stats/positionProfile";
import type { ProfileSeries } from "../stats/profileSeries";
import { Figure, RUN_COLORS, baseLayout, downsample } from "./figure";

export interface ProfileOverlayOptions {
  /** The metric the rows hold, for the axis and title (default `loss`). */
  metric?: string;
  /** Draw a band of +-1.96 se around each line. Default true. */
  band?: boolean;
  /** Log scale on the y axis (gradient norms span decades). Default false. */
  logY?: boolean;
  title?: string;
}

/**
 * The per-position mean of a metric for several (run, step) series overlaid, e.g. the KL to the
 * reference model of standard and augmented safety training at their final step: a profile that
 * stays high past the first tokens shows a deeper change. Rows come from `positionProfile` or
 * `profileSeries`; each series draws the rows of its (run, step).
 * @example show(profileOverlayFigure(rows, [{ run: "sft", step: 1000 }, { run: "augment", step: 1000 }], { metric: "kl" }))
 */
export function profileOverlayFigure(rows: readonly PositionProfileRow[], series: readonly ProfileSeries[], opts: ProfileOverlayOptions = {}): Figure {
  const metric = opts.metric ?? "loss";
  const data: Array<Record<string, unknown>> = [];
  series.forEach((s, i) => {
    const name = s.label ?? `${s.run}, step ${s.step}`;
    const color = RUN_COLORS[i % RUN_COLORS.length];
    const pts = downsample(rows.filter((r) => r.run === s.run && r.step === s.step && r.mean !== null).sort((a, b) => a.position - b.position));
    const withSe = pts.filter((p) => p.se !== null);
    if (opts.band !== false && withSe.length) {
      data.push({
        type: "scatter",
        mode: "lines",
        x: [...withSe.map((p) => p.position), ...withSe.map((p) => p.position).reverse()],
        y: [...withSe.map((p) => (p.mean as number) + 1.96 * (p.se as number)), ...withSe.map((p) => (p.mean as number) - 1.96 * (p.se as number)).reverse()],
        fill: "toself",
        fillcolor: hexToRgba(color, 0.15),
        line: { width: 0 },
        hoverinfo: "skip",
        showlegend: false,
        legendgroup: name,
      });
    }
    data.push({
      type: "scatter",
      mode: "lines+markers",
      name,
      legendgroup: name,
      x: pts.map((p) => p.position),
      y: pts.map((p) => p.mean),
      customdata: pts.map((p) => [p.n, p.se]),
      hovertemplate: `position %{x}<br>mean ${metric} %{y:.4g}<br>n %{customdata[0]}, se %{customdata[1]:.3g}<extra>%{fullData.name}</extra>`,
      line: { color, width: 2 },
      marker: { size: 4, color },
    });
  });
  const layout = baseLayout(opts.title ?? `${metric} by position`, "token position (0 = first scored token)", `mean ${metric}`);
  if (opts.logY) (layout.yaxis as Record<string, unknown>).type = "log";
  return { data, layout };
}

function hexToRgba(hex: string, alpha: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}
