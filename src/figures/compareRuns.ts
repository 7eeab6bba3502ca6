import type { RunComparison } from "../stats/compare";
import type { Figure } from "./figure";
import { RunColors, colorsFor } from "./palette";

type Iv = [number, number] | null;

/**
 * Run comparison as a row of dot plots with intervals, one panel per quantity: early share E_k,
 * depths d50 and d90, final loss per probe set, and ASR per attack (panels without data are left
 * out). Runs are on the x axis of every panel, in the order of `rows`, each point in its run's
 * colour from `colors` (the dataset's map). Series of one panel (d50 and d90, probe sets, attacks)
 * differ by marker symbol; the legend names the runs in their colours, then the symbols.
 * @example show(compareRunsFigure(await compareRuns(logs, { attacks: records })))
 */
export function compareRunsFigure(rows: readonly RunComparison[], opts: { k?: number; title?: string; colors?: RunColors } = {}): Figure {
  const runs = rows.map((r) => r.run);
  const colors = colorsFor(opts.colors, runs);
  const runColor = runs.map((r) => colors.color(r));
  type Series = { name: string; y: Array<number | null>; ci?: Iv[]; hover?: string[] };
  const panels: Array<{ title: string; series: Series[]; range?: [number, number] }> = [];
  panels.push({
    title: `early share E${opts.k ?? ""}`,
    series: [{ name: "E_k", y: rows.map((r) => r.early_share), ci: rows.map((r) => r.ci.early_share) }],
    range: [0, 1.02],
  });
  panels.push({
    title: "depth (positions)",
    series: [
      { name: "d50", y: rows.map((r) => r.d50), ci: rows.map((r) => r.ci.d50) },
      { name: "d90", y: rows.map((r) => r.d90), ci: rows.map((r) => r.ci.d90) },
    ],
  });
  const splits = [...new Set(rows.flatMap((r) => Object.keys(r.final_loss)))].sort();
  if (splits.length) panels.push({ title: "final loss", series: splits.map((s) => ({ name: s, y: rows.map((r) => r.final_loss[s] ?? null), hover: rows.map((r) => `step ${r.final_step}`) })) });
  const attacks = [...new Set(rows.flatMap((r) => Object.keys(r.asr)))].sort();
  if (attacks.length)
    panels.push({
      title: "attack success rate",
      series: attacks.map((a) => ({ name: a, y: rows.map((r) => r.asr[a]?.asr ?? null), ci: rows.map((r) => r.asr[a]?.ci ?? null), hover: rows.map((r) => r.asr[a]?.condition ?? "") })),
      range: [0, 1.02],
    });
  const data: Array<Record<string, unknown>> = [];
  const layout: Record<string, unknown> = {
    title: { text: opts.title ?? `Runs compared${rows[0]?.split ? ` (update on the ${rows[0].split} probes)` : ""}` },
    margin: { l: 50, r: 20, t: 80, b: 40 },
    hovermode: "closest",
    // At the right, clear of the (possibly slanted) run names under the panels.
    legend: { orientation: "v", x: 1.02, xanchor: "left", y: 1, yanchor: "top", font: { size: 11 } },
    annotations: [] as unknown[],
  };
  const gap = 0.06;
  const w = (1 - gap * (panels.length - 1)) / panels.length;
  const symbols: Record<string, string> = {};
  panels.forEach((p, i) => {
    const ax = i === 0 ? "" : String(i + 1);
    const x0 = i * (w + gap);
    // Runs sit at integer positions; series of one panel are shifted apart so that their intervals do not overlap.
    layout[`xaxis${ax}`] = { domain: [x0, x0 + w], anchor: `y${ax}`, tickmode: "array", tickvals: runs.map((_, k) => k), ticktext: runs, range: [-0.5, runs.length - 0.5], zeroline: false, automargin: true };
    layout[`yaxis${ax}`] = { anchor: `x${ax}`, zeroline: false, ...(p.range ? { range: p.range } : {}) };
    (layout.annotations as unknown[]).push({ text: p.title, x: x0 + w / 2, xref: "paper", y: 1.02, yref: "paper", xanchor: "center", yanchor: "bottom", showarrow: false });
    p.series.forEach((s, j) => {
      const symbol = SERIES_SYMBOLS[j % SERIES_SYMBOLS.length];
      if (p.series.length > 1) symbols[`${p.title}: ${s.name}`] = symbol;
      const offset = p.series.length > 1 ? (j - (p.series.length - 1) / 2) * 0.15 : 0;
      data.push({
        type: "scatter",
        mode: "markers",
        name: `${p.title}: ${s.name}`,
        xaxis: `x${ax}`,
        yaxis: `y${ax}`,
        x: runs.map((_, k) => k + offset),
        y: s.y,
        showlegend: false,
        marker: { size: 10, color: runColor, symbol, line: { width: 1, color: "#fff" } },
        ...(s.ci
          ? {
              error_y: {
                type: "data",
                symmetric: false,
                array: s.y.map((v, k) => (v !== null && s.ci![k] ? s.ci![k]![1] - v : null)),
                arrayminus: s.y.map((v, k) => (v !== null && s.ci![k] ? v - s.ci![k]![0] : null)),
                color: "#555",
                thickness: 1.2,
                width: 4,
              },
            }
          : {}),
        customdata: runs.map((r, k) => [r, s.ci?.[k]?.[0] ?? null, s.ci?.[k]?.[1] ?? null, s.hover?.[k] ?? ""]),
        hovertemplate: `%{customdata[0]}<br>${s.name.replace(/[<>&]/g, "")} %{y:.4g}${s.ci ? "<br>95% CI [%{customdata[1]:.3g}, %{customdata[2]:.3g}]" : ""}<br>%{customdata[3]}<extra></extra>`,
      });
    });
  });
  // The legend: each run in its colour, then which symbol is which series.
  runs.forEach((r, k) =>
    data.push({ type: "scatter", mode: "markers", name: r, x: [null], y: [null], marker: { size: 10, color: runColor[k], symbol: "square" }, hoverinfo: "skip", legendgroup: "runs" }),
  );
  for (const [name, symbol] of Object.entries(symbols))
    data.push({ type: "scatter", mode: "markers", name, x: [null], y: [null], marker: { size: 10, color: "#777", symbol }, hoverinfo: "skip", legendgroup: "series" });
  return { data, layout };
}

const SERIES_SYMBOLS = ["circle", "diamond", "square", "triangle-up", "x", "star"];
