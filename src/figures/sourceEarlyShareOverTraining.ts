import type { InfluenceRow, RecipeInfluenceRow } from "../dynamics/summary";
import { LEFT_OUT_NOTE, noteAnnotation } from "./dynamicsNote";
import { Figure, RUN_COLORS, baseLayout } from "./figure";
import type { RunColors } from "./palette";

export interface SourceEarlyShareFigureOptions {
  /** Probe set to draw (default the first in the rows). */
  split?: string;
  /** The k of the rows, for the labels (default 5). */
  k?: number;
  title?: string;
  /** Recipes to draw, in this order of the legend (default every recipe of the rows, sorted). */
  recipes?: readonly string[];
  /**
   * The dataset's colour map (`runColors` over the recipe names): a recipe keeps its colour across
   * figures that draw different subsets of recipes. Default: colours by the drawn recipes' sorted order.
   */
  colors?: RunColors;
  /**
   * The y axis range (default: plotly's, from every point). S_k is a net share: near a step with
   * almost no net change it can reach far outside [0, 1] and flatten every other line; a range such
   * as [-1, 2] keeps them readable, and the note under the title counts the seed and mean points
   * (and interval ends) left off the scale (zoom out or hover to see them).
   */
  yRange?: [number, number];
}

/**
 * Source early share S_k over training (METRICS 7), one colour per recipe: each seed as a thin line,
 * the recipe's mean over seeds as a thick line with its across-seed 95% interval (METRICS 3.7) as
 * error bars where it has one, and the recipe's token-share reference n_tokens(q < k) / n_tokens(all)
 * as a dotted line; under the title, what the first-order influence leaves out. Run and recipe names reach plotly only as trace names (never inside a hover
 * template). Rows are `dynamicsSummary(...).influence` and `.recipes`.
 * @example const s = dynamicsSummary(logs); show(sourceEarlyShareFigure(s.influence, s.recipes, { split: "harmful", k: s.k }))
 */
export function sourceEarlyShareFigure(runs: readonly InfluenceRow[], recipes: readonly RecipeInfluenceRow[], opts: SourceEarlyShareFigureOptions = {}): Figure {
  const split = opts.split ?? runs[0]?.split;
  const k = opts.k ?? 5;
  const mine = runs.filter((r) => r.split === split);
  const present = new Set(mine.map((r) => r.recipe));
  const names = opts.recipes ? opts.recipes.filter((r) => present.has(r)) : [...present].sort();
  const data: Array<Record<string, unknown>> = [];
  names.forEach((recipe, c) => {
    const color = opts.colors ? opts.colors.color(recipe) : RUN_COLORS[c % RUN_COLORS.length];
    const seeds = [...new Set(mine.filter((r) => r.recipe === recipe).map((r) => r.run))].sort();
    for (const run of seeds) {
      const pts = mine.filter((r) => r.run === run && r.source_early_share !== null).sort((a, b) => a.step - b.step);
      data.push({
        type: "scatter",
        mode: "lines",
        name: run,
        legendgroup: recipe,
        showlegend: false,
        x: pts.map((p) => p.step),
        y: pts.map((p) => p.source_early_share),
        line: { color, width: 1 },
        opacity: 0.5,
        hovertemplate: `step %{x}<br>S${k} %{y:.3f}<extra>%{fullData.name}</extra>`,
      });
    }
    const rows = recipes.filter((r) => r.recipe === recipe && r.split === split && r.source_early_share.mean !== null).sort((a, b) => a.step - b.step);
    const withCi = rows.some((r) => r.source_early_share.ci !== null);
    data.push({
      type: "scatter",
      mode: "lines+markers",
      name: `${recipe} (mean of ${Math.max(0, ...rows.map((r) => r.source_early_share.runs))} seed${rows.some((r) => r.source_early_share.runs > 1) ? "s" : ""})`,
      legendgroup: recipe,
      x: rows.map((r) => r.step),
      y: rows.map((r) => r.source_early_share.mean),
      ...(withCi
        ? {
            error_y: {
              type: "data",
              symmetric: false,
              array: rows.map((r) => (r.source_early_share.ci ? r.source_early_share.ci[1] - (r.source_early_share.mean as number) : 0)),
              arrayminus: rows.map((r) => (r.source_early_share.ci ? (r.source_early_share.mean as number) - r.source_early_share.ci[0] : 0)),
              color,
              thickness: 1,
            },
          }
        : {}),
      line: { color, width: 3, dash: opts.colors ? opts.colors.style(recipe).dash : "solid" },
      marker: { color, size: 6 },
      hovertemplate: `step %{x}<br>mean S${k} %{y:.3f}<extra>%{fullData.name}</extra>`,
    });
    const ref = recipes.filter((r) => r.recipe === recipe && r.split === split && r.token_share.mean !== null).sort((a, b) => a.step - b.step);
    if (ref.length)
      data.push({
        type: "scatter",
        mode: "lines",
        name: `${recipe}: token share`,
        legendgroup: recipe,
        x: ref.map((r) => r.step),
        y: ref.map((r) => r.token_share.mean),
        line: { color, width: 1.5, dash: "dot" },
        hovertemplate: `step %{x}<br>token share %{y:.3f}<extra>%{fullData.name}</extra>`,
      });
  });
  const layout = baseLayout(opts.title ?? `Source early share S${k} over training (${split})`, "training step", `S${k} (share of the change from q < ${k})`);
  (layout.xaxis as Record<string, unknown>).tickformat = "d";
  let note = LEFT_OUT_NOTE;
  if (opts.yRange) {
    const [lo, hi] = opts.yRange;
    (layout.yaxis as Record<string, unknown>).range = [lo, hi];
    (layout.yaxis as Record<string, unknown>).autorange = false;
    let off = 0;
    for (const t of data) {
      const ys = (t.y as Array<number | null>).filter((y): y is number => y !== null);
      off += ys.filter((y) => y < lo || y > hi).length;
      const e = t.error_y as { array: number[]; arrayminus: number[] } | undefined;
      if (e) ys.forEach((y, i) => (off += (y + e.array[i] > hi ? 1 : 0) + (y - e.arrayminus[i] < lo ? 1 : 0)));
    }
    if (off) note = `${off} point${off === 1 ? "" : "s"} or interval end${off === 1 ? "" : "s"} outside ${lo} to ${hi} off the scale (zoom out); ${LEFT_OUT_NOTE}`;
  }
  layout.annotations = [noteAnnotation(note)];
  return { data, layout };
}
