/**
 * Paired comparison of two runs or two recipes on the update statistics, from token logs
 * (METRICS.md 4): N_k, z90, E_k and, with a level metric, L_k; per probe set as `updateSummary`
 * analyses them. The arithmetic is in pairedComparison.ts.
 */
import { UsageError } from "../errors";
import type { TokenLogs } from "../load";
import { ComparisonSide, PairedComparison, pairedComparison } from "./pairedComparison";
import { groupRecipes, recipeLabelsOf } from "./recipes";
import { loadRunData } from "./runData";
import { RowFilter } from "./source";
import { SummaryOptions, probeSetsOf } from "./summary";
import type { UpdateStatistic } from "./updateStatistics";

export interface UpdateComparisonOptions extends Omit<SummaryOptions, "bootstrap" | "interval"> {
  /** Bootstrap replicates (default max(2000, 20 m / 0.05) for m statistics). */
  bootstrap?: number;
  /** Statistics to compare (default N_k, z90, E_k, and L_k with a level metric). */
  statistics?: UpdateStatistic[];
}

export interface UpdateComparison extends PairedComparison {
  /** The probe set compared (null: all rows pooled). */
  probe_set: string | null;
  /** "run" or "recipe", per side. */
  kind: [string, string];
  /** Runs of each side. */
  runs: [string[], string[]];
}

/**
 * Compares A and B (run names, or recipe names when runs are grouped by `recipePattern` or a
 * `recipe` label): paired bootstrap difference, percentile interval, p and Holm-adjusted p.
 * @example const [c] = await compareUpdates(logs, "sft", "augmented", { where: { split: "harmful" } });
 * @throws UsageError when A or B is neither a run nor a recipe.
 */
export async function compareUpdates(logs: TokenLogs, a: string, b: string, opts: UpdateComparisonOptions = {}): Promise<UpdateComparison[]> {
  const allRuns = await logs.runs();
  const labels = await recipeLabelsOf(logs, opts.recipeField, opts.recipePattern);
  const g = groupRecipes(allRuns, { pattern: opts.recipePattern, labels });
  const resolve = (name: string): { kind: string; runs: string[] } => {
    if (allRuns.includes(name)) return { kind: "run", runs: [name] };
    const r = g.runsOf.get(name);
    if (r) return { kind: "recipe", runs: r };
    throw new UsageError(`compare: "${name}" is neither a run (${allRuns.join(", ")}) nor a recipe${g.source === "none" ? " (no recipe pattern or recipe label given)" : ` (${[...g.runsOf.keys()].join(", ")})`}`);
  };
  const A = resolve(a);
  const B = resolve(b);
  if (a === b) throw new UsageError("compare: A and B are the same");
  const sets = await probeSetsOf(logs, opts);
  const out: UpdateComparison[] = [];
  for (const value of sets.values) {
    const where: RowFilter | undefined = value === null ? opts.where : { ...(opts.where ?? {}), [sets.field!]: value };
    const { runs } = await loadRunData(logs, { ...opts, where, runs: [...A.runs, ...B.runs] });
    const byName = new Map(runs.map((r) => [r.run, r]));
    const side = (name: string, s: { runs: string[] }): ComparisonSide => {
      const have = s.runs.filter((r) => byName.has(r));
      return { name, runs: have, data: have.map((r) => byName.get(r)!.data) };
    };
    const sa = side(a, A);
    const sb = side(b, B);
    if (sa.runs.length === 0 || sb.runs.length === 0) continue;
    const nonNegative = runs.every((r) => r.nonNegative);
    const c = pairedComparison(sa, sb, { k: opts.k, minPairs: opts.minPairs, nonNegative, B: opts.bootstrap, seed: opts.seed, statistics: opts.statistics });
    out.push({ ...c, probe_set: value, kind: [A.kind, B.kind], runs: [sa.runs, sb.runs] });
  }
  return out;
}
