/**
 * The report's learning-dynamics section (METRICS 7), from influence, training-gradient and
 * probe-change logs: the p x q influence heatmap of each recipe (mean over its seeds, a slider over
 * checkpoints), the source early share S_k over training with its across-seed intervals, and the
 * check of the first-order approximation per recipe and step, with the sentences computed from the
 * numbers (src/dynamics/describe.ts) and the warnings of `dynamicsSummary`. Pure: results in, HTML
 * out; `buildReport` adds it when it is given dynamics logs. Every string from a log reaches the
 * page through `section`/`note`/`tableBlock`/`escapeHtml` (escaped) or `figureBlock` (JSON in a script tag).
 */
import { escapeHtml } from "../display";
import { approximationByRecipe } from "../dynamics/approximationByRecipe";
import { describeApproximation, describeApproximationByRecipe, describeSourceEarlyShare, describeTrainGradient } from "../dynamics/describe";
import { influenceMatrices } from "../dynamics/influenceMatrix";
import type { DynamicsLogs } from "../dynamics/load";
import { recipeInfluenceMatrices } from "../dynamics/recipeInfluenceMatrix";
import { dynamicsSummary } from "../dynamics/summary";
import { influenceHeatmapFigure } from "../figures/influenceHeatmap";
import { RunColors, runColors } from "../figures/palette";
import { sourceEarlyShareFigure } from "../figures/sourceEarlyShareOverTraining";
import { HeaderFile, figureBlock, note, tableBlock } from "./sections";

export interface DynamicsSectionOptions {
  /** Early cut-off for S_k, X_k and L_k (default 5). */
  k?: number;
  /** Probe set to show (default `harmful` when the logs have it, else the first in name order). */
  split?: string;
  /** Pattern over run names with a named group `recipe` (default: `dynamicsSummary`'s grouping). */
  recipePattern?: string;
  /** Bootstrap replicates of the across-seed intervals for recipes with >= 5 seeds (default 1000) and the seed (default 0). */
  replicates?: number;
  seed?: number;
  /** The report's colour map: used for a recipe it knows by name; otherwise a map over the recipes is made. */
  colors?: RunColors;
  /** Most recipes that get an influence heatmap, in name order (default 8). */
  maxHeatmaps?: number;
}

/** The section's parts, for `section(id, title, intro, body)`. */
export interface DynamicsSectionParts {
  id: string;
  title: string;
  intro: string;
  body: string;
}

const fmt = (x: number | null, d: number) => (x === null ? "n/a" : x.toFixed(d));

/**
 * Builds the section. Throws `UsageError` (from `dynamicsSummary`) when the logs hold no influence record.
 * @example const logs = await loadDynamicsLogs(files); out.push(section(...Object.values(dynamicsSection(logs, { k: 5 }))));
 */
export function dynamicsSection(logs: DynamicsLogs, opts: DynamicsSectionOptions = {}): DynamicsSectionParts {
  const s = dynamicsSummary(logs, { k: opts.k, recipePattern: opts.recipePattern, replicates: opts.replicates, seed: opts.seed });
  const k = s.k;
  const splits = [...new Set(s.influence.map((r) => r.split))].sort();
  const split = opts.split !== undefined && splits.includes(opts.split) ? opts.split : splits.includes("harmful") ? "harmful" : splits[0];
  const recipes = [...new Set(s.runs.map((r) => r.recipe))].sort();
  const known = opts.colors && recipes.every((r) => opts.colors!.keys.includes(r));
  const colors = known ? opts.colors : runColors(recipes);
  const seedsOf = (recipe: string) => s.runs.filter((r) => r.recipe === recipe).length;
  const blocks: string[] = [];

  // 1. The p x q heatmap of each recipe, mean over its seeds.
  const max = opts.maxHeatmaps ?? 8;
  const mean = recipeInfluenceMatrices(influenceMatrices(logs.influence), s.runs).filter((m) => m.split === split);
  const drawn = recipes.filter((r) => mean.some((m) => m.recipe === r)).slice(0, max);
  drawn.forEach((recipe, i) => {
    const n = seedsOf(recipe);
    blocks.push(figureBlock(`fig-influence-${i}`, influenceHeatmapFigure(mean, { run: recipe, split, scale: "each", title: `I(p, q), mean over the ${n} seed${n === 1 ? "" : "s"} of ${recipe}, ${split} probes` })));
  });
  const more = recipes.length - drawn.length;
  if (more > 0) blocks.push(note(`Heatmaps of ${drawn.length} of ${recipes.length} recipes are shown (the first in name order); the S${k} figure and table below cover all of them.`));

  // 2. S_k over training, every recipe, with its sentences.
  const skRows = { ...s, recipes: s.recipes.filter((r) => r.split === split) };
  blocks.push(
    figureBlock("fig-source-early-share", sourceEarlyShareFigure(s.influence, s.recipes, { split, k, colors, yRange: [-1, 2], title: `Source early share S${k} over training, ${split} probes` }), [
      ...describeSourceEarlyShare(skRows),
      ...describeTrainGradient(s),
    ]),
  );

  // 3. The approximation check per recipe and step.
  const check = approximationByRecipe(s.approximation, s.runs).filter((r) => r.split === split);
  const range = (x: { median: number | null; min: number | null; max: number | null }, d: number) => (x.median === null ? "n/a" : `${fmt(x.median, d)} (${fmt(x.min, d)} to ${fmt(x.max, d)})`);
  blocks.push(
    check.length
      ? tableBlock(
          check.map((r) => ({ recipe: r.recipe, step: r.step, seeds: r.runs, "Pearson r": range(r.pearson_r, 2), "ratio of sums": range(r.ratio_of_sums, 2), "relative L2 error": range(r.relative_l2_error, 3), "poor seeds": r.poor })),
          [...describeApproximationByRecipe(check), describeApproximation(s.approximation.filter((r) => r.split === split))],
          200,
        )
      : note(`No probe-change log matches the influence logs on the ${split} probes: the first-order approximation is not checked.`),
  );
  if (s.warnings.length) blocks.push(`<ul class="findings">${s.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join("")}</ul>`);

  return {
    id: "dynamics",
    title: "Learning dynamics: where the training gradient acts",
    intro:
      `From the learning-dynamics logs (${s.runs.length} run${s.runs.length === 1 ? "" : "s"} in ${recipes.length} recipe${recipes.length === 1 ? "" : "s"}; probe sets ${splits.join(", ")}; shown: the ${split} probes). ` +
      `I(p, q) = -lr <grad lbar_p, P G_q> is the first-order change, in nats per step, of the probe set's mean loss at probe position p caused by the training tokens at training position q of one logged step (P: the optimizer's preconditioner; blue lowers the loss). ` +
      `The heatmaps show each recipe's mean over its seeds (a slider over the logged steps; each step's colour scale is centred on 0 at its own largest |I|). ` +
      `S${k} is the share of the step's summed first-order change that comes from training positions q < ${k}, beside the token share n_tokens(q < ${k}) / n_tokens(all) (dotted; the y axis shows -1 to 2, and the note under the title counts points beyond it: a net share is unstable where the net change is near 0); thin lines are seeds, thick ones the recipe mean with its 95% interval across seeds (bootstrap over seeds with 5 or more, t with 2 to 4). ` +
      `The table checks the approximation: per recipe and step, the median over seeds (and range) of the Pearson r between predicted (sum over q of I) and measured change across probe positions, their ratio of sums and the relative L2 error; a seed is poor above 50%. ` +
      `${s.left_out[0].toUpperCase()}${s.left_out.slice(1)}.`,
    body: blocks.join("\n"),
  };
}

/** The dynamics files as the report's header lists them. */
export function dynamicsHeaderFiles(logs: DynamicsLogs, displayPath: (path: string) => string = (p) => p): HeaderFile[] {
  const kind = { influence: "influence log", trainGradient: "training-gradient log", probeChange: "probe-change log" } as const;
  return logs.report.files.map((f) => ({ path: displayPath(f.path), kind: kind[f.kind], records: f.records, used: f.recordsUsed, skipped: f.recordsSkipped, rows: f.recordsUsed, skippedByReason: f.skipped }));
}
