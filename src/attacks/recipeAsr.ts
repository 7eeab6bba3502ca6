/**
 * Recipe-level attack success (METRICS.md 3.7): the ASR of a recipe for a condition is the mean of
 * its runs' ASRs (runs = replicate seeds, grouped with `src/stats/recipes.ts`), with the spread
 * across runs and an interval that accounts for both training randomness and the examples:
 * - R >= 5 runs: two-stage bootstrap (each replicate draws R runs with replacement and one set of
 *   example ids shared by all drawn runs), percentile interval;
 * - 2 <= R < 5: mean +/- t(R - 1, 0.975) sqrt(s^2 / R + v_ex), s the sd across runs, v_ex the
 *   example-bootstrap variance of the mean with the runs fixed, clipped to [0, 1] (an ASR is a
 *   proportion) and marked `ci_clipped`;
 * - every run's ASR 0 (or every run's 1), R >= 2: the Wilson interval with n = the distinct examples
 *   (as for one run's 0 or 1 with several records per example, METRICS.md 4), and `note` says so;
 * - R = 1: the run's own interval (Wilson or the cluster bootstrap, METRICS.md 4), and `note` says
 *   that it ignores training randomness.
 */
import { groupRecipes } from "../stats/recipes";
import { type Interval, wilson } from "../stats/wilson";
import { AsrRow, asrInterval } from "./asr";
import { clusterReplicates, ExampleOutcomes, outcomesByExample, percentileInterval, pooledAsr } from "./clusterBootstrap";
import { AttackCondition, groupByCondition } from "./conditions";
import type { AttackRecord } from "./load";

/** t(df, 0.975) for df = 1, 2, 3 (the only ones the 2 <= R < 5 rule needs). */
export const T975: Record<number, number> = { 1: 12.706204736174698, 2: 4.302652729749464, 3: 3.182446305284263 };

export interface RecipeAsrOptions {
  /** Regular expression over run names with a named group `recipe` (e.g. `^(?<recipe>.+)-seed\d+$`). */
  recipePattern?: string | RegExp;
  /** run -> its `recipe` label (used when no pattern is given). */
  recipeLabels?: ReadonlyMap<string, string | null>;
  /** Bootstrap replicates (default 2000). */
  bootstrap?: number;
  /** Bootstrap seed (default 0). */
  seed?: number;
  /** "Not judged" records, counted per row. */
  notJudged?: readonly AttackRecord[];
  /**
   * Condition fields to group by (default: every condition field, so that distinct conditions never
   * pool). With fewer, the other fields are pooled: an example then has several records and the
   * runs' ASRs are pooled ones (e.g. `["prefix_len"]`: insertion ASR by prefix length over span lengths).
   */
  by?: string[];
}

/** One recipe's attack success for one condition. */
export interface RecipeAsrRow extends AttackCondition {
  recipe: string;
  /** The recipe's runs that have records for this condition (R = runs.length). */
  runs: string[];
  /** Mean over runs of each run's ASR. */
  asr: number | null;
  /** Each run's ASR, in the order of `runs`. */
  run_asr: Array<number | null>;
  /** Sample sd of the runs' ASRs (null when R < 2). */
  sd: number | null;
  /** Distinct examples of this condition (over the runs). */
  examples: number;
  /** Judged records and harmful ones, summed over the runs. */
  n: number;
  harmful: number;
  not_judged: number;
  ci: Interval | null;
  ci_method: "two-stage-bootstrap" | "t-runs-examples" | "wilson" | "cluster-bootstrap" | "wilson-examples" | null;
  /** True when the t rule's interval left [0, 1] and was clipped to it. */
  ci_clipped: boolean;
  /** Set when R = 1: the interval ignores training randomness. */
  note: string | null;
}

function sd(values: number[]): number | null {
  if (values.length < 2) return null;
  const m = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / (values.length - 1));
}

/**
 * ASR per (recipe, condition) with the METRICS.md 3.7 intervals.
 * @example recipeAsr(records, { recipePattern: "^(?<recipe>.+)-seed\\d+$" }) // [{ recipe: "sft", runs: [...], asr, sd, ci, ... }]
 */
export function recipeAsr(records: readonly AttackRecord[], opts: RecipeAsrOptions = {}): RecipeAsrRow[] {
  if (opts.by) {
    const by = opts.by;
    const keep = (r: AttackRecord): AttackRecord => ({
      ...r,
      k: by.includes("k") ? r.k : null,
      prefix_len: by.includes("prefix_len") ? r.prefix_len : null,
      span_len: by.includes("span_len") ? r.span_len : null,
      conditions: Object.fromEntries(Object.entries(r.conditions).filter(([f]) => by.includes(f))),
    });
    return recipeAsr(records.map(keep), { ...opts, by: undefined, notJudged: opts.notJudged?.map(keep) });
  }
  const grouping = groupRecipes(records.map((r) => r.run), { pattern: opts.recipePattern, labels: opts.recipeLabels });
  const out: RecipeAsrRow[] = [];
  for (const [recipe, runsOfRecipe] of grouping.runsOf) {
    const mine = records.filter((r) => grouping.recipeOf.get(r.run) === recipe);
    const nj = (opts.notJudged ?? []).filter((r) => grouping.recipeOf.get(r.run) === recipe);
    for (const { condition, records: recs } of groupByCondition(mine)) {
      const runs = runsOfRecipe.filter((run) => recs.some((r) => r.run === run));
      const examples = [...new Set(recs.map((r) => String(r.example)))];
      const outcomes: ExampleOutcomes[] = runs.map((run) => outcomesByExample(recs.filter((r) => r.run === run), examples));
      const runAsr = outcomes.map(pooledAsr);
      const valid = runAsr.filter((x): x is number => x !== null);
      const asr = valid.length ? valid.reduce((a, b) => a + b, 0) / valid.length : null;
      const R = runs.length;
      let ci: Interval | null = null;
      let method: RecipeAsrRow["ci_method"] = null;
      let note: string | null = null;
      let clipped = false;
      if (R === 1) {
        const own = asrInterval(recs, { bootstrap: opts.bootstrap, seed: opts.seed });
        ci = own.ci;
        method = own.ci_method;
        note = "one run: the interval ignores training randomness";
      } else if (asr === 0 || asr === 1) {
        // Every run's ASR is 0 (or 1): any bootstrap gives [asr, asr], which says nothing. As for one
        // run with several records per example (METRICS 4), the Wilson interval with n = the distinct
        // examples: conservative, since it counts the examples once however many runs agree.
        ci = wilson(asr === 0 ? 0 : examples.length, examples.length);
        method = "wilson-examples";
        note = `every run's ASR is ${asr}: Wilson interval over the ${examples.length} distinct examples`;
      } else if (R >= 5) {
        ci = percentileInterval(clusterReplicates([outcomes], { replicates: opts.bootstrap, seed: opts.seed, drawRuns: true })[0]).ci;
        method = "two-stage-bootstrap";
      } else if (asr !== null) {
        const reps = Array.from(clusterReplicates([outcomes], { replicates: opts.bootstrap, seed: opts.seed, drawRuns: false })[0]).filter((x) => !Number.isNaN(x));
        const vEx = sd(reps) ?? 0;
        const s = sd(valid) ?? 0;
        const half = T975[R - 1] * Math.sqrt((s * s) / R + vEx * vEx);
        clipped = asr - half < 0 || asr + half > 1;
        ci = [Math.max(0, asr - half), Math.min(1, asr + half)];
        method = "t-runs-examples";
      }
      const inCondition = (r: AttackRecord) => JSON.stringify([r.attack, r.k, r.prefix_len, r.span_len, Object.entries(r.conditions).sort()]) === JSON.stringify([condition.attack, condition.k, condition.prefix_len, condition.span_len, Object.entries(condition.conditions ?? {}).sort()]);
      out.push({
        recipe,
        ...condition,
        runs,
        asr,
        run_asr: runAsr,
        sd: sd(valid),
        examples: examples.length,
        n: recs.length,
        harmful: recs.filter((r) => r.harmful).length,
        not_judged: nj.filter(inCondition).length,
        ci,
        ci_method: method,
        ci_clipped: clipped,
        note,
      });
    }
  }
  return out;
}

/**
 * Recipe rows in the shape of run rows (`run` = the recipe), so that the ASR figures and sentences
 * (`asrLineFigure`, `describeAsr`) draw recipes: one line per recipe, with its METRICS.md 3.7 interval.
 * @example show(asrByKFigure(recipeAsrAsRuns(recipeAsr(prefill, { by: ["k"] }))))
 */
export function recipeAsrAsRuns(rows: readonly RecipeAsrRow[]): AsrRow[] {
  return rows.map((r) => ({
    run: r.recipe,
    attack: r.attack,
    k: r.k,
    prefix_len: r.prefix_len,
    span_len: r.span_len,
    n: r.n,
    harmful: r.harmful,
    asr: r.asr,
    ci: r.ci,
    examples: r.examples,
    not_judged: r.not_judged,
    ci_method: r.ci_method,
    ...(r.conditions ? { conditions: r.conditions } : {}),
  }));
}
