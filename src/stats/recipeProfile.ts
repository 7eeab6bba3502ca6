/**
 * The position profile of recipes (replicate runs, METRICS.md 3.7): for each (recipe, step,
 * position), the mean over the recipe's runs of each run's per-position mean (3.1), the sd across
 * those runs, and se = sd / sqrt(R). Rows keep the `PositionProfileRow` shape with `run` = the
 * recipe and `n` = R (runs with a mean there), so every profile figure and sentence draws them.
 * Their bands (mean +/- 1.96 se) are across seeds only: the seeds are scored on the same probes,
 * so the variance of sampling probes is not in them, and with R = 1 there is no band.
 */
import type { PositionProfileRow } from "./positionProfile";
import type { StepUpdateRow } from "./concentration";
import type { ProfileSeries } from "./profileSeries";

export interface RecipeProfileRow extends PositionProfileRow {
  /** The recipe's runs with a mean at this (step, position). */
  run_names: string[];
}

/**
 * Recipe-level position profile from run-level rows (`positionProfile`), grouped by `recipeOf`
 * (run -> recipe, e.g. `groupRecipes(runs, { pattern }).recipeOf`; runs missing from it are their
 * own recipe). Sorted by recipe, step, position.
 * @example recipeProfile(await positionProfile(logs), groupRecipes(await logs.runs(), { pattern: "^(?<recipe>.+)-seed\\d+$" }).recipeOf)
 */
export function recipeProfile(rows: readonly PositionProfileRow[], recipeOf: ReadonlyMap<string, string>): RecipeProfileRow[] {
  const groups = new Map<string, { recipe: string; step: number; position: number; runs: string[]; means: number[] }>();
  for (const r of rows) {
    if (r.mean === null) continue;
    const recipe = recipeOf.get(r.run) ?? r.run;
    const key = JSON.stringify([recipe, r.step, r.position]);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { recipe, step: r.step, position: r.position, runs: [], means: [] }));
    g.runs.push(r.run);
    g.means.push(r.mean);
  }
  const out: RecipeProfileRow[] = [...groups.values()].map((g) => {
    const R = g.means.length;
    const mean = g.means.reduce((a, b) => a + b, 0) / R;
    const sd = R > 1 ? Math.sqrt(g.means.reduce((a, b) => a + (b - mean) ** 2, 0) / (R - 1)) : null;
    return { run: g.recipe, step: g.step, position: g.position, n: R, mean, sd, se: sd === null ? null : sd / Math.sqrt(R), run_names: [...g.runs].sort() };
  });
  return out.sort((a, b) => (a.run < b.run ? -1 : a.run > b.run ? 1 : a.step - b.step || a.position - b.position));
}

/**
 * Recipe-level update by step (rows of `updateByStep`): per (recipe, step, position), the mean over
 * the recipe's runs of each run's mean change since its first checkpoint; `n` = the runs averaged,
 * `from` = their earliest first step. Shares computed from these rows (`concentrationFromUpdates`)
 * are shares of the recipe's mean update, not means of the runs' shares.
 * @example recipeUpdateByStep(await updateByStep(logs), grouping.recipeOf)
 */
export function recipeUpdateByStep(rows: readonly StepUpdateRow[], recipeOf: ReadonlyMap<string, string>): StepUpdateRow[] {
  const groups = new Map<string, { run: string; from: number; step: number; position: number; deltas: number[] }>();
  for (const r of rows) {
    const recipe = recipeOf.get(r.run) ?? r.run;
    const key = JSON.stringify([recipe, r.step, r.position]);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { run: recipe, from: r.from, step: r.step, position: r.position, deltas: [] }));
    g.from = Math.min(g.from, r.from);
    g.deltas.push(r.delta);
  }
  return [...groups.values()]
    .map((g) => ({ run: g.run, from: g.from, step: g.step, position: g.position, n: g.deltas.length, delta: g.deltas.reduce((a, b) => a + b, 0) / g.deltas.length }))
    .sort((a, b) => (a.run < b.run ? -1 : a.run > b.run ? 1 : a.step - b.step || a.position - b.position));
}

/**
 * The series of recipe rows for the overlay figures (`profileOverlayFigure`, `profileFacetsFigure`):
 * each recipe at its last step, labelled with its number of seeds.
 * @example const rows = recipeProfile(await profileSeries(logs, { metric: "kl", series: await finalSteps(logs) }), recipeOf); recipeSeries(rows)
 */
export function recipeSeries(rows: readonly RecipeProfileRow[]): ProfileSeries[] {
  const last = new Map<string, { step: number; n: number }>();
  for (const r of rows) {
    const cur = last.get(r.run);
    if (!cur || r.step > cur.step) last.set(r.run, { step: r.step, n: r.n });
    else if (r.step === cur.step) cur.n = Math.max(cur.n, r.n);
  }
  return [...last].map(([run, { step, n }]) => ({ run, step, label: `${run} (${n} seed${n === 1 ? "" : "s"}), step ${step}` }));
}
