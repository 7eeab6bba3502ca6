/**
 * A recipe's influence matrix at a step: the element-wise mean over its runs (seeds) of I(p, q)
 * (METRICS 7), for drawing one heatmap per recipe instead of one per seed. The grid is the union of
 * the runs' positions and sources; a cell a run has no record for counts as 0 in its mean, as in
 * every statistic of these logs (METRICS 3); `missingCells` counts such (run, cell) pairs. Statistics are
 * computed per run and then averaged (`dynamicsSummary`): S_k of this mean matrix is the share of
 * the summed change, which weights the seeds by their net change, not the mean of the seeds' S_k.
 */
import type { InfluenceMatrix } from "./influenceMatrix";

export interface RecipeInfluenceMatrix extends InfluenceMatrix {
  /** The recipe's name (also in `run`, so that the heatmap figure can draw it by name). */
  recipe: string;
  /** The runs averaged, sorted. */
  runNames: string[];
}

/**
 * One mean matrix per (recipe, probe set, step), sorted by recipe, probe set, step.
 * @param matrices `influenceMatrices(logs.influence)`
 * @param runs run -> recipe, e.g. `dynamicsSummary(logs).runs`; runs not listed are left out
 * @example show(influenceHeatmapFigure(recipeInfluenceMatrices(influenceMatrices(logs.influence), s.runs), { run: "sft", split: "harmful" }))
 */
export function recipeInfluenceMatrices(matrices: readonly InfluenceMatrix[], runs: ReadonlyArray<{ run: string; recipe: string }>): RecipeInfluenceMatrix[] {
  const recipeOf = new Map(runs.map((r) => [r.run, r.recipe]));
  const groups = new Map<string, InfluenceMatrix[]>();
  for (const m of matrices) {
    const recipe = recipeOf.get(m.run);
    if (recipe === undefined) continue;
    const key = JSON.stringify([recipe, m.split, m.step]);
    const g = groups.get(key) ?? [];
    g.push(m);
    groups.set(key, g);
  }
  const out: RecipeInfluenceMatrix[] = [];
  for (const [key, g] of groups) {
    const [recipe, split, step] = JSON.parse(key) as [string, string, number];
    const positions = [...new Set(g.flatMap((m) => m.positions))].sort((a, b) => a - b);
    const sources = [...new Set(g.flatMap((m) => m.sources))].sort((a, b) => a - b);
    const pi = new Map(positions.map((p, i) => [p, i]));
    const qi = new Map(sources.map((q, j) => [q, j]));
    const values = new Float64Array(positions.length * sources.length);
    let missingCells = 0;
    for (const m of g) {
      missingCells += m.missingCells + values.length - m.values.length;
      for (let i = 0; i < m.positions.length; i++)
        for (let j = 0; j < m.sources.length; j++) values[pi.get(m.positions[i])! * sources.length + qi.get(m.sources[j])!] += m.values[i * m.sources.length + j] / g.length;
    }
    out.push({ run: recipe, recipe, step, split, positions, sources, values, missingCells, runNames: g.map((m) => m.run).sort() });
  }
  const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return out.sort((a, b) => byText(a.recipe, b.recipe) || byText(a.split, b.split) || a.step - b.step);
}
