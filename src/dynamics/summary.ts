/**
 * Every learning-dynamics statistic of a set of logs in one plain object (what
 * `aligndepth dynamics --json` prints): per influence matrix S_k, its token-share reference, the
 * source depths and X_k; per training step the g(q) level share; the approximation check table; per
 * recipe the mean, sd and across-seed interval of each (METRICS 3.7); and the warnings, starting
 * with what the first-order influence leaves out (METRICS 7).
 */
import { pct } from "../describe";
import { ApproximationCheckRow, approximationCheck } from "./approximationCheck";
import { crossInfluence } from "./crossInfluence";
import { influenceMatrices } from "./influenceMatrix";
import type { DynamicsLogs, TokenJoin } from "./load";
import { requireInfluence } from "./load";
import { groupRecipes } from "../stats/recipes";
import { SeedInterval, seedInterval } from "./seedInterval";
import { SourceEarlyShareRow, sourceEarlyShare } from "./sourceEarlyShare";
import { TrainGradientProfileRow, trainGradientProfile } from "./trainGradientProfile";

/** The default recipe pattern: `RECIPE[-ABLATION]-seedN`, the recipe being everything before `-seed`. */
export const DEFAULT_RECIPE_PATTERN = "^(?<recipe>.+)-seed\\d+$";

/** What the influence leaves out (METRICS 7); always the first warning. */
export const LEFT_OUT_WARNING =
  "the influence is a first-order estimate that leaves out momentum (each gradient's full effect is credited to its own step), decoupled weight decay, and gradient clipping unless the logger applied its factor";

export interface DynamicsOptions {
  /** Early cut-off on both position axes (default 5). */
  k?: number;
  /**
   * Pattern over run names with a named group `recipe`. When given, it groups every run; when not,
   * runs are grouped by their `recipe` label if any run has one, else by `DEFAULT_RECIPE_PATTERN`
   * (`^(?<recipe>.+)-seed\d+$`). Runs left ungrouped are recipes of their own (warned about).
   */
  recipePattern?: string;
  /** Bootstrap replicates for recipes with R >= 5 (default 1000) and its seed (default 0). */
  replicates?: number;
  seed?: number;
}

/** One influence matrix (run, step, probe set): S_k with its references (see `SourceEarlyShareRow`), and X_k. */
export interface InfluenceRow extends Omit<SourceEarlyShareRow, "k"> {
  recipe: string;
  /** X_k's parts (see `CrossInfluenceRow`). */
  late_influence: number;
  cross_influence: number | null;
  /** The check of the first-order approximation at this (run, step, split) (METRICS 7: shown beside every influence result); null when not checked. */
  check_pearson_r: number | null;
  check_ratio_of_sums: number | null;
  check_relative_l2_error: number | null;
}

/** A recipe's influence statistics at one step and probe set, across its seeds. */
export interface RecipeInfluenceRow {
  recipe: string;
  split: string;
  step: number;
  run_names: string[];
  source_early_share: SeedInterval;
  token_share: SeedInterval;
  source_z50: SeedInterval;
  source_z90: SeedInterval;
  cross_influence: SeedInterval;
}

/** A recipe's training-gradient level share at one step, across its seeds. */
export interface RecipeTrainGradientRow {
  recipe: string;
  step: number;
  run_names: string[];
  level_early_share: SeedInterval;
  level_z50: SeedInterval;
  level_z90: SeedInterval;
}

export interface DynamicsSummary {
  k: number;
  /** How runs were grouped: the pattern used, or null when grouped by `recipe` labels. */
  recipe_pattern: string | null;
  runs: Array<{ run: string; recipe: string; seed: string | null }>;
  influence: InfluenceRow[];
  train_gradient: Array<TrainGradientProfileRow & { recipe: string }>;
  approximation: ApproximationCheckRow[];
  recipes: RecipeInfluenceRow[];
  recipe_train_gradient: RecipeTrainGradientRow[];
  left_out: string;
  warnings: string[];
  token_join?: TokenJoin;
}


/**
 * Computes the summary. Throws `UsageError` when the logs hold no influence record.
 * @example const s = dynamicsSummary(await loadDynamicsLogs(files), { k: 5 }); s.recipes[0].source_early_share.mean
 */
export function dynamicsSummary(logs: DynamicsLogs, opts: DynamicsOptions = {}): DynamicsSummary {
  requireInfluence(logs);
  const k = opts.k ?? 5;
  if (!Number.isSafeInteger(k) || k < 1) throw new RangeError(`k must be an integer >= 1, got ${k}`);
  const allRuns = [...new Set([...logs.influence, ...logs.trainGradient, ...logs.probeChange].map((r) => r.run))];
  const labelled = new Map([...logs.labels].map(([run, l]) => [run, l.recipe]));
  const byLabel = opts.recipePattern === undefined && [...labelled.values()].some((v) => v !== null);
  const pattern = byLabel ? null : (opts.recipePattern ?? DEFAULT_RECIPE_PATTERN);
  const grouping = byLabel ? groupRecipes(allRuns, { labels: labelled }) : groupRecipes(allRuns, { pattern: pattern as string });
  const recipes = grouping.runsOf;
  const recipeOf = grouping.recipeOf;
  const matrices = influenceMatrices(logs.influence);
  const se = sourceEarlyShare(matrices, logs.trainGradient, { k });
  const xk = crossInfluence(matrices, { k });
  const { rows: approximation, unchecked } = approximationCheck(matrices, logs.probeChange);
  const checks = new Map(approximation.map((r) => [JSON.stringify([r.run, r.step, r.split]), r]));
  const influence: InfluenceRow[] = se.map((s, i) => {
    const c = checks.get(JSON.stringify([s.run, s.step, s.split]));
    return {
      run: s.run,
      recipe: recipeOf.get(s.run) as string,
      step: s.step,
      split: s.split,
      net_influence: s.net_influence,
      source_early_share: s.source_early_share,
      token_share: s.token_share,
      source_z50: s.source_z50,
      source_z90: s.source_z90,
      source_max_cumulative: s.source_max_cumulative,
      late_influence: xk[i].late_influence,
      cross_influence: xk[i].cross_influence,
      positions: s.positions,
      sources: s.sources,
      missing_cells: s.missing_cells,
      check_pearson_r: c ? c.pearson_r : null,
      check_ratio_of_sums: c ? c.ratio_of_sums : null,
      check_relative_l2_error: c ? c.relative_l2_error : null,
    };
  });
  const tg = trainGradientProfile(logs.trainGradient, { k }).map((r) => ({ ...r, recipe: recipeOf.get(r.run) as string }));
  const iv = { replicates: opts.replicates, seed: opts.seed };

  const recipeRows: RecipeInfluenceRow[] = [];
  const groups = new Map<string, InfluenceRow[]>();
  for (const r of influence) {
    const key = JSON.stringify([r.recipe, r.split, r.step]);
    const g = groups.get(key) ?? [];
    g.push(r);
    groups.set(key, g);
  }
  for (const g of groups.values()) {
    const col = (f: (r: InfluenceRow) => number | null) => seedInterval(g.map(f), iv);
    recipeRows.push({
      recipe: g[0].recipe,
      split: g[0].split,
      step: g[0].step,
      run_names: g.map((r) => r.run),
      source_early_share: col((r) => r.source_early_share),
      token_share: seedInterval(g.map((r) => r.token_share), { ...iv, bounds: [0, 1] }),
      source_z50: col((r) => r.source_z50),
      source_z90: col((r) => r.source_z90),
      cross_influence: col((r) => r.cross_influence),
    });
  }
  recipeRows.sort((a, b) => (a.recipe < b.recipe ? -1 : a.recipe > b.recipe ? 1 : a.split < b.split ? -1 : a.split > b.split ? 1 : a.step - b.step));
  const tgGroups = new Map<string, typeof tg>();
  for (const r of tg) {
    const key = JSON.stringify([r.recipe, r.step]);
    const g = tgGroups.get(key) ?? [];
    g.push(r);
    tgGroups.set(key, g);
  }
  const recipeTg: RecipeTrainGradientRow[] = [...tgGroups.values()].map((g) => ({
    recipe: g[0].recipe,
    step: g[0].step,
    run_names: g.map((r) => r.run),
    level_early_share: seedInterval(g.map((r) => r.level_early_share), { ...iv, bounds: [0, 1] }),
    level_z50: seedInterval(g.map((r) => r.level_z50), iv),
    level_z90: seedInterval(g.map((r) => r.level_z90), iv),
  }));
  recipeTg.sort((a, b) => (a.recipe < b.recipe ? -1 : a.recipe > b.recipe ? 1 : a.step - b.step));

  const warnings: string[] = [LEFT_OUT_WARNING];
  const single = [...recipes.entries()].filter(([, runs]) => runs.length === 1).map(([r]) => r).sort();
  if (single.length)
    warnings.push(`${single.length === 1 ? "recipe" : "recipes"} ${single.map((r) => JSON.stringify(r)).join(", ")} ${single.length === 1 ? "has" : "have"} one run: no interval, and a single seed ignores training randomness (these logs are aggregated over examples, so intervals come from seeds only)`);
  if (grouping.unmatched.length)
    warnings.push(`${grouping.unmatched.length} run${grouping.unmatched.length === 1 ? "" : "s"} ${byLabel ? "without a recipe label" : `not matched by the recipe pattern ${pattern}`}, each kept as a recipe of its own: ${grouping.unmatched.map((r) => JSON.stringify(r)).join(", ")}`);
  const holes = influence.filter((r) => r.missing_cells > 0);
  if (holes.length)
    warnings.push(`${holes.length} of ${influence.length} influence matrices lack cells (${holes.reduce((a, r) => a + r.missing_cells, 0)} (position, source_position) pairs in all); missing cells count as 0`);
  if (unchecked.length)
    warnings.push(`${unchecked.length} of ${influence.length} influence matrices have no probe-change records: the first-order approximation is not checked there (e.g. run ${JSON.stringify(unchecked[0].run)}, step ${unchecked[0].step}, split ${JSON.stringify(unchecked[0].split)})`);
  const noTokens = influence.filter((r) => r.token_share === null);
  if (noTokens.length) warnings.push(`${noTokens.length} of ${influence.length} influence matrices have no training-gradient records for their step: no token-share reference there`);
  const poor = approximation.filter((r) => r.relative_l2_error === null || r.relative_l2_error > 0.5);
  if (poor.length)
    warnings.push(`the first-order prediction misses the measured change (relative L2 error above 50%, or no measured change) in ${poor.length} of ${approximation.length} checks (e.g. run ${JSON.stringify(poor[0].run)}, step ${poor[0].step}, split ${JSON.stringify(poor[0].split)}${poor[0].relative_l2_error !== null ? `: ${pct(poor[0].relative_l2_error)}` : ""})`);
  const counter = influence.filter((r) => r.source_max_cumulative !== null);
  if (counter.length) warnings.push(`${counter.length} of ${influence.length} source profiles move against their net direction (cumulative share above 1.02): S_k is a net share and can leave [0, 1]`);
  const join = logs.report.tokenJoin;
  if (join && join.unmatched.length)
    warnings.push(`${join.unmatched.length} (run, step) pairs of the dynamics logs have no token-log checkpoint at the same step (e.g. run ${JSON.stringify(join.unmatched[0].run)}, step ${join.unmatched[0].step})`);
  if (logs.report.recordsSkipped) warnings.push(`skipped ${logs.report.recordsSkipped} of ${logs.report.records} records (${Object.entries(logs.report.skipped).map(([r, n]) => `${n} ${r}`).join(", ")})`);

  return {
    k,
    recipe_pattern: pattern,
    runs: [...recipeOf.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([run, recipe]) => ({ run, recipe, seed: logs.labels.get(run)?.seed ?? null })),
    influence,
    train_gradient: tg,
    approximation,
    recipes: recipeRows,
    recipe_train_gradient: recipeTg,
    left_out: LEFT_OUT_WARNING,
    warnings,
    ...(join ? { token_join: join } : {}),
  };
}
