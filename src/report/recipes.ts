/**
 * The report's view of replicate runs (METRICS.md 3.7): how runs group into recipes, the recipe
 * table of the update statistics with its paired test, and the recipe-level attack curves (greedy
 * and sampled decoding apart, the fine-tuning attack over its steps). `build.ts` calls these when
 * some recipe has more than one run; with one run per recipe it keeps its per-run views.
 */
import type { TokenLogs } from "../load";
import type { AttackRecord } from "../attacks/load";
import { RecipeAsrRow, recipeAsr, recipeAsrAsRuns } from "../attacks/recipeAsr";
import { asrByKFigure, asrByPrefixLenFigure, asrBySpanLenFigure, asrLineFigure } from "../figures/attacks";
import type { RunColors } from "../figures/palette";
import { describeAsr, describePairedComparison, describeRecipe } from "../describe";
import { RecipeGrouping, groupRecipes, recipeLabelsOf } from "../stats/recipes";
import { updateSummary, RecipeSummary } from "../stats/summary";
import { compareUpdates } from "../stats/updateComparison";
import type { RowFilter } from "../stats/source";
import { figureBlock } from "./sections";

/** The recipes of a report: token-log runs grouped, and every attack run mapped to a recipe. */
export interface ReportRecipes {
  /** The token logs' runs grouped (pattern, else `recipe` label, else one run per recipe). */
  grouping: RecipeGrouping;
  /** True when some recipe has several runs: the report then shows recipes. */
  replicated: boolean;
  /** run -> recipe for every run of the token logs, gradient logs and attack results. */
  recipeOf: Map<string, string>;
}

/**
 * Groups the runs: by `recipePattern` (a regular expression with a named group `recipe`) when
 * given, else by the token logs' `recipe` label; attack and gradient runs the label does not name
 * are their own recipe (give a pattern to group them too).
 */
export async function reportRecipes(logs: TokenLogs, otherRuns: readonly string[], recipePattern?: string): Promise<ReportRecipes> {
  const labels = await recipeLabelsOf(logs, "recipe", recipePattern);
  const grouping = groupRecipes(await logs.runs(), { pattern: recipePattern, labels });
  const all = groupRecipes([...(await logs.runs()), ...otherRuns], { pattern: recipePattern, labels });
  const replicated = [...grouping.runsOf.values()].some((rs) => rs.length > 1);
  return { grouping, replicated, recipeOf: all.recipeOf };
}

/**
 * The recipe table of `updateSummary(...).recipes` for display (`showTable(toDataFrame(...))`, the
 * report): per recipe (and probe set, when several), R runs, N_k with its sd across runs and 95%
 * interval, z50, z90 with its interval, H_k, the absolute E_k, and the interval rule (METRICS.md 3.7).
 * @example showTable(toDataFrame(recipeTableRows(result.recipes, { k: 5 })))
 */
export function recipeTableRows(recipes: readonly RecipeSummary[], opts: { k: number }): Array<Record<string, unknown>> {
  const bySet = new Set(recipes.map((r) => r.probe_set)).size > 1;
  return recipes.map((r) => recipeRow(r, opts.k, bySet));
}

function recipeRow(r: RecipeSummary, k: number, bySet: boolean): Record<string, unknown> {
  const iv = (x: [number, number] | null, d: number) => (x ? `${x[0].toFixed(d)}\u2013${x[1].toFixed(d)}` : "");
  return {
    recipe: r.recipe,
    ...(bySet ? { "probe set": r.probe_set } : {}),
    runs: r.runs,
    [`N${k}`]: r.net_early_share,
    [`N${k} sd`]: r.sd.net_early_share,
    [`N${k} 95% CI`]: iv(r.ci.net_early_share, 3),
    z50: r.z50,
    z90: r.z90,
    "z90 95% CI": iv(r.ci.z90, 2),
    [`H${k}`]: r.headroom_early_share,
    [`E${k} (absolute)`]: r.early_share,
    interval: r.ci_info.rule,
  };
}

/**
 * The recipe table of the update statistics (seed means, sd across seeds, intervals over seeds and
 * examples), its sentences, and the paired test of the most against the least front-loaded recipe
 * of each probe set (never overlapping intervals).
 */
export async function recipeSummaryBlock(
  logs: TokenLogs,
  opts: { metric: string; where: RowFilter | undefined; k: number; bootstrap: number; seed: number; recipePattern?: string },
): Promise<{ rows: Array<Record<string, unknown>>; sentences: string[] }> {
  const { metric, where, k, bootstrap, seed, recipePattern } = opts;
  const res = await updateSummary(logs, { metric, where, k, bootstrap, seed, recipePattern });
  const bySet = new Set(res.recipes.map((r) => r.probe_set)).size > 1;
  const rows = recipeTableRows(res.recipes, { k });
  const sentences = res.recipes.map((r) => describeRecipe(r, { k, metric }));
  for (const set of [...new Set(res.recipes.map((r) => r.probe_set))]) {
    const ok = res.recipes.filter((r) => r.probe_set === set && r.net_early_share !== null).sort((a, b) => (b.net_early_share as number) - (a.net_early_share as number));
    if (ok.length < 2 || bootstrap === 0) continue;
    const setWhere = set === null ? where : { ...(where ?? {}), split: set };
    const [c] = await compareUpdates(logs, ok[0].recipe, ok[ok.length - 1].recipe, { metric, k, seed, where: setWhere, statistics: ["net_early_share"], probeSets: "pooled", recipePattern });
    if (c) sentences.push(`The most and the least front-loaded recipes${set !== null && bySet ? ` on the ${set} probes` : ""}: ${describePairedComparison({ ...c, probe_set: set }, { k })}`);
  }
  return { rows, sentences: [...sentences, ...res.warnings.map((w) => `Note: ${w}`)] };
}

/** The value of a record's `decoding` condition, or null. */
const decodingOf = (r: AttackRecord) => r.conditions.decoding ?? null;

/**
 * Recipe-level attack figures: ASR by k, by prefix length and by span length (each pooled over the
 * other fields), one set per decoding (greedy and sampled are never pooled), and the fine-tuning
 * attack's ASR over `ft_step`; with their sentences. Also returns every recipe row (all condition
 * fields) for the table.
 */
export function recipeAttackBlocks(
  records: readonly AttackRecord[],
  opts: { notJudged: readonly AttackRecord[]; recipeOf: ReadonlyMap<string, string>; colors: RunColors; seed: number },
): { blocks: string[]; table: RecipeAsrRow[] } {
  const labels = new Map([...opts.recipeOf].map(([run, recipe]) => [run, recipe] as [string, string | null]));
  const base = { recipeLabels: labels, notJudged: opts.notJudged, seed: opts.seed };
  const decodings = [...new Set(records.map(decodingOf))];
  const blocks: string[] = [];
  const fields = [
    { field: "k" as const, figure: asrByKFigure, title: "Prefilling ASR by k" },
    { field: "prefix_len" as const, figure: asrByPrefixLenFigure, title: "Insertion ASR by refusal-prefix length" },
    { field: "span_len" as const, figure: asrBySpanLenFigure, title: "Insertion ASR by span length" },
  ];
  for (const { field, figure, title } of fields)
    decodings.forEach((d, i) => {
      const mine = records.filter((r) => decodingOf(r) === d && r[field] !== null);
      if (!mine.length) return;
      const rows = recipeAsrAsRuns(recipeAsr(mine, { ...base, by: [field] }));
      const what = d === null ? "" : `, ${d} decoding`;
      blocks.push(figureBlock(`fig-asr-${field.replace("_", "-")}${i ? `-${i}` : ""}`, figure(rows, { colors: opts.colors, title: `${title}, mean over seeds${what}` }), describeAsr(rows, field).map((s) => (d === null ? s : `${d}: ${s}`))));
    });
  const ft = records.filter((r) => typeof r.conditions.ft_step === "number");
  if (ft.length) {
    const rows = recipeAsrAsRuns(recipeAsr(ft, { ...base, by: ["ft_step"] }));
    blocks.push(figureBlock("fig-asr-ft-step", asrLineFigure(rows, "ft_step", { colors: opts.colors, title: "Fine-tuning attack: ASR by fine-tuning step, mean over seeds" }), describeAsr(rows, "ft_step")));
  }
  return { blocks, table: recipeAsr(records, base) };
}
