import type { PositionProfileRow } from "../stats/positionProfile";
import type { ProfileSeries } from "../stats/profileSeries";
import { Figure, baseLayout, downsample, seBand } from "./figure";
import { RunColors, colorsFor, hexToRgba } from "./palette";

export interface ProfileOverlayOptions {
  /** The metric the rows hold, for the axis and title (default `loss`). */
  metric?: string;
  /** Draw a band of +-1.96 se around each line. Default true. */
  band?: boolean;
  /** Log scale on the y axis (gradient norms span decades). Default false. */
  logY?: boolean;
  title?: string;
  /** The dataset's run colours (default: a map made from the series' runs). */
  colors?: RunColors;
}

/** One panel of `profileFacetsFigure`: its title (e.g. the probe set) and its rows. */
export interface ProfilePanel {
  title: string;
  rows: readonly PositionProfileRow[];
}

const STEP_DASHES = ["solid", "dot", "dash", "dashdot"];

/**
 * The per-position mean of a metric for several (run, step) series overlaid, e.g. the KL to the
 * reference model of standard and augmented safety training at their final step: a profile that
 * stays high past the first tokens shows a deeper change. Rows come from `positionProfile` or
 * `profileSeries`; each series draws the rows of its (run, step). A run has its colour from
 * `colors`; when one run has several series, its last step is solid and earlier ones dotted.
 * @example show(profileOverlayFigure(rows, [{ run: "sft", step: 1000 }, { run: "augment", step: 1000 }], { metric: "kl", colors }))
 */
export function profileOverlayFigure(rows: readonly PositionProfileRow[], series: readonly ProfileSeries[], opts: ProfileOverlayOptions = {}): Figure {
  return profileFacetsFigure([{ title: "", rows }], series, opts);
}

/**
 * Small multiples of `profileOverlayFigure` side by side on one shared y axis, one panel per
 * entry of `panels` (e.g. the refusal and the harmful probe sets): the same series in each, one
 * legend entry per series (clicking it hides the series in every panel).
 * @example show(profileFacetsFigure([{ title: "refusal", rows: r }, { title: "harmful", rows: h }], finals, { metric: "kl", colors }))
 */
export function profileFacetsFigure(panels: readonly ProfilePanel[], series: readonly ProfileSeries[], opts: ProfileOverlayOptions = {}): Figure {
  const metric = opts.metric ?? "loss";
  const colors = colorsFor(opts.colors, series.map((s) => s.run));
  const data: Array<Record<string, unknown>> = [];
  const gap = 0.05;
  const w = (1 - gap * (panels.length - 1)) / Math.max(1, panels.length);
  const layout = baseLayout(opts.title ?? `${metric} by position`, "token position (0 = first scored token)", `mean ${metric}`);
  if (opts.logY) (layout.yaxis as Record<string, unknown>).type = "log";
  const annotations: unknown[] = [];
  panels.forEach((panel, pi) => {
    const ax = pi === 0 ? "" : String(pi + 1);
    if (panels.length > 1) {
      const x0 = pi * (w + gap);
      layout[`xaxis${ax}`] = { title: { text: pi === 0 ? "position (0 = first scored)" : "position" }, zeroline: false, domain: [x0, x0 + w], anchor: `y${ax}` };
      if (pi > 0) layout[`yaxis${ax}`] = { matches: "y", anchor: `x${ax}`, showticklabels: false, zeroline: false, ...(opts.logY ? { type: "log" } : {}) };
      annotations.push({ text: `<b>${panel.title.replace(/[<>&]/g, "")}</b>`, x: x0 + w / 2, xref: "paper", y: 1.0, yref: "paper", xanchor: "center", yanchor: "bottom", showarrow: false });
    }
    series.forEach((s) => {
      const name = s.label ?? `${s.run}, step ${s.step}`;
      const mine = series.filter((x) => x.run === s.run).map((x) => x.step).sort((a, b) => b - a);
      const st = colors.style(s.run);
      const dash = mine.length > 1 ? STEP_DASHES[mine.indexOf(s.step) % STEP_DASHES.length] : st.dash;
      const pts = downsample(panel.rows.filter((r) => r.run === s.run && r.step === s.step && r.mean !== null).sort((a, b) => a.position - b.position));
      const axes = { xaxis: `x${ax}`, yaxis: `y${ax}` };
      if (opts.band !== false && pts.some((p) => p.se !== null))
        data.push({ type: "scatter", mode: "lines", ...axes, ...seBand(pts.map((p) => ({ x: p.position, mean: p.mean, se: p.se })), hexToRgba(st.color, 0.15), name) });
      data.push({
        type: "scatter",
        mode: "lines+markers",
        name,
        legendgroup: name,
        showlegend: pi === 0,
        ...axes,
        x: pts.map((p) => p.position),
        y: pts.map((p) => p.mean),
        customdata: pts.map((p) => [p.n, p.se]),
        hovertemplate: `position %{x}<br>mean ${metric} %{y:.4g}<br>n %{customdata[0]}, se %{customdata[1]:.3g}<extra>%{fullData.name}${panels.length > 1 ? ` (${panel.title.replace(/[<>&]/g, "")})` : ""}</extra>`,
        line: { color: st.color, width: st.width, dash },
        marker: { size: 5, color: st.color, symbol: st.symbol },
      });
    });
  });
  if (annotations.length) {
    layout.annotations = annotations;
    layout.margin = { l: 60, r: 20, t: 70, b: 50 };
  }
  return { data, layout };
}
