/**
 * Comparing the attack success of two runs or recipes, condition by condition (METRICS.md 4).
 * Every condition uses the same prompts, so the comparison is paired by example:
 * - two runs, one record per example, the same examples: the 2x2 table a (both harmful), b (A
 *   only), c (B only), d (neither); McNemar's exact p, Newcombe's paired interval of pA - pB
 *   (method 10) and Cohen's h;
 * - two runs, one record per example, no example in common: Newcombe's hybrid score interval for
 *   independent proportions (method 10) and Cohen's h; no test (p null);
 * - recipes (several runs) or several records per example (samples): paired by example, with the
 *   runs handled by the shared rule of `recipeComparisonRule` (stats/recipeDifference.ts):
 *   at least 5 runs on both sides, the paired cluster bootstrap with runs drawn per recipe (3.7), one
 *   draw of example ids per replicate for both sides, p = min(1, 2 min((1 + #{D* <= 0}) / (B + 1),
 *   (1 + #{D* >= 0}) / (B + 1))), percentile interval; 2-4 runs (the fewer side), the t rule over
 *   runs with v_ex the variance of D* under the paired cluster bootstrap with runs fixed (interval
 *   clipped to [-1, 1] and marked); one run on a side, the paired cluster bootstrap with runs fixed,
 *   which ignores training randomness (said in `warnings`). When every record of each side has one
 *   outcome (all runs at ASR 0, or all at 1), any rule gives a zero-width interval: McNemar's exact
 *   test and Newcombe's paired interval on the distinct examples instead (`mcnemar-newcombe-examples`).
 * Examples only one side has are dropped from a paired comparison and counted.
 * The p-values of the conditions of one attack form a family: Holm-adjusted (`p_holm`).
 */
import { UsageError } from "../errors";
import { cohenH } from "../stats/cohenH";
import { holm } from "../stats/holm";
import { mcnemarExact } from "../stats/mcnemar";
import { newcombeIndependent, newcombePaired, PairedTable } from "../stats/newcombe";
import { groupRecipes } from "../stats/recipes";
import { RecipeComparisonRule, recipeComparisonRule, recipeRuleNote, sampleVariance, tDifference } from "../stats/recipeDifference";
import type { Interval } from "../stats/wilson";
import { clusterReplicates, outcomesByExample, percentileInterval, pooledAsr } from "./clusterBootstrap";
import { AttackCondition, conditionKey, conditionOf, groupByCondition } from "./conditions";
import type { AttackRecord, AttackResults } from "./load";

export interface CompareAttacksOptions {
  /** Regular expression over run names with a named group `recipe`: A and B may then name recipes. */
  recipePattern?: string | RegExp;
  /** run -> its `recipe` label (used when no pattern is given). */
  recipeLabels?: ReadonlyMap<string, string | null>;
  /** Only this attack (default: every attack both sides have). */
  attack?: string;
  /**
   * Bootstrap replicates for the paired cluster bootstrap. Default: max(2000, ceil(20 m / 0.05))
   * for a family of m conditions (METRICS.md 4); a smaller value given here is raised to that.
   */
  bootstrap?: number;
  /** Bootstrap seed (default 0). */
  seed?: number;
}

/** How a row was compared. */
export type AttackComparisonMethod = "mcnemar-newcombe-paired" | "newcombe-independent" | "paired-cluster-bootstrap" | "paired-t-runs" | "mcnemar-newcombe-examples";

/** One condition of one attack, A against B. */
export interface AttackComparisonRow extends AttackCondition {
  method: AttackComparisonMethod;
  /** How training randomness enters (stats/recipeDifference.ts): "runs fixed" ignores it. */
  rule: RecipeComparisonRule;
  /** True when the t rule's interval left [-1, 1] and was clipped to it. */
  ci_clipped: boolean;
  /** ASR of A and of B on the records compared (for a recipe: the mean of its runs' ASRs). */
  asr_a: number | null;
  asr_b: number | null;
  /** Judged records compared, and harmful ones, per side (summed over a recipe's runs). */
  n_a: number;
  harmful_a: number;
  n_b: number;
  harmful_b: number;
  /** Distinct examples compared (paired: the examples both sides have). */
  examples: number;
  /** Examples left out because only one side (or not every run) has them. */
  dropped_examples: number;
  /** "Not judged" records of this condition per side (out of n). */
  not_judged_a: number;
  not_judged_b: number;
  /** asr_a - asr_b. */
  diff: number | null;
  /** 95% interval of the difference (see `method`). */
  ci: Interval | null;
  /** Two-sided p of "no difference" (null where `method` has no test). */
  p: number | null;
  /** Holm-adjusted p over the conditions of this attack (the family). */
  p_holm: number | null;
  /** Cohen's h = 2 asin(sqrt(asr_a)) - 2 asin(sqrt(asr_b)). */
  cohen_h: number | null;
  /** The paired 2x2 table (method `mcnemar-newcombe-paired` only). */
  table: PairedTable | null;
  /** Bootstrap replicates used (bootstrap only) and those left out because a statistic was undefined. */
  replicates: number | null;
  replicates_dropped: number | null;
}

/** The result of `compareAttacks`. */
export interface AttackComparison {
  a: string;
  b: string;
  /** The runs behind each side (one run, or a recipe's runs). */
  runs_a: string[];
  runs_b: string[];
  seed: number;
  rows: AttackComparisonRow[];
  /** Conditions only one side has (not compared), as text. */
  unmatched: string[];
  warnings: string[];
}

/** Which runs a name stands for: a recipe's runs, or the run itself. */
function resolveSide(name: string, runs: string[], runsOf: Map<string, string[]>): string[] {
  if (runsOf.has(name)) return runsOf.get(name)!;
  if (runs.includes(name)) return [name];

  throw new UsageError(`compare: ${JSON.stringify(name)} is neither a run nor a recipe of the attack results (runs: ${runs.slice(0, 10).join(", ")}${runs.length > 10 ? ", ..." : ""}${runsOf.size < runs.length ? `; recipes: ${[...runsOf.keys()].join(", ")}` : ""})`);
}

function countBy(records: readonly AttackRecord[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of records) m.set(String(r.example), (m.get(String(r.example)) ?? 0) + 1);
  return m;
}

/** The bootstrap p of METRICS.md 4 from replicates of a difference (NaN left out). */
export function bootstrapP(deltas: ArrayLike<number>): number | null {
  let le = 0;
  let ge = 0;
  let B = 0;
  for (let i = 0; i < deltas.length; i++) {
    const d = deltas[i];
    if (Number.isNaN(d)) continue;
    B++;
    if (d <= 0) le++;
    if (d >= 0) ge++;
  }
  if (B === 0) return null;
  return Math.min(1, 2 * Math.min((1 + le) / (B + 1), (1 + ge) / (B + 1)));
}

/**
 * Compares the attack success of A and B (runs, or recipes with `recipePattern`/`recipeLabels`)
 * condition by condition, as METRICS.md 4 says (see the module doc for the methods).
 * @param results loaded attack results (their `notJudged` records are counted) or plain records
 * @param a run or recipe name
 * @param b run or recipe name
 * @example
 * const res = await loadAttackResults("attacks.jsonl");
 * const cmp = compareAttacks(res, "sft", "augmented");
 * cmp.rows.map((r) => [r.attack, r.k, r.diff, r.ci, r.p, r.p_holm]);
 * @throws UsageError when A or B is not a run or recipe of the records, or A and B are the same.
 */
export function compareAttacks(results: AttackResults | readonly AttackRecord[], a: string, b: string, opts: CompareAttacksOptions = {}): AttackComparison {
  const records = "records" in results ? results.records : results;
  const notJudged = "records" in results ? results.notJudged : [];
  const runs = [...new Set(records.map((r) => r.run))].sort();
  const grouping = groupRecipes(runs, { pattern: opts.recipePattern, labels: opts.recipeLabels });
  const runsA = resolveSide(a, runs, grouping.runsOf);
  const runsB = resolveSide(b, runs, grouping.runsOf);
  if (runsA.some((r) => runsB.includes(r))) throw new UsageError(`compare: ${a} and ${b} share runs (${runsA.filter((r) => runsB.includes(r)).join(", ")})`);
  const seed = opts.seed ?? 0;
  const warnings: string[] = [];
  const rule = recipeComparisonRule(runsA.length, runsB.length);
  warnings.push(`interval and p: ${recipeRuleNote(rule, runsA.length, runsB.length)}`);
  if (grouping.unmatched.length && opts.recipePattern !== undefined) warnings.push(`--recipe-pattern did not match ${grouping.unmatched.length} run(s), each kept as its own recipe: ${grouping.unmatched.join(", ")}`);
  const pick = (rs: readonly AttackRecord[], side: string[]) => rs.filter((r) => side.includes(r.run) && (opts.attack === undefined || r.attack === opts.attack));
  const groupsA = groupByCondition(pick(records, runsA));
  const groupsB = new Map(groupByCondition(pick(records, runsB)).map((g) => [conditionKey(g.condition), g]));
  const njA = pick(notJudged, runsA);
  const njB = pick(notJudged, runsB);
  const unmatched: string[] = [];
  const pairs: Array<{ condition: AttackCondition; recA: AttackRecord[]; recB: AttackRecord[] }> = [];
  for (const g of groupsA) {
    const other = groupsB.get(conditionKey(g.condition));
    if (!other) unmatched.push(`${g.condition.attack} ${JSON.stringify(g.condition)} (only ${a})`);
    else pairs.push({ condition: g.condition, recA: g.records, recB: other.records });
    groupsB.delete(conditionKey(g.condition));
  }
  for (const g of groupsB.values()) unmatched.push(`${g.condition.attack} ${JSON.stringify(g.condition)} (only ${b})`);
  // Family size per attack sets the replicates: B >= 20 m / 0.05.
  const familySize = new Map<string, number>();
  for (const p of pairs) familySize.set(p.condition.attack, (familySize.get(p.condition.attack) ?? 0) + 1);
  const rows: AttackComparisonRow[] = pairs.map(({ condition, recA, recB }) => {
    const key = conditionKey(condition);
    const nj = (rs: AttackRecord[]) => rs.filter((r) => conditionKey(conditionOf(r)) === key).length;
    const base = { ...condition, not_judged_a: nj(njA), not_judged_b: nj(njB) };
    const B = Math.max(opts.bootstrap ?? 2000, Math.ceil((20 * (familySize.get(condition.attack) ?? 1)) / 0.05));
    return compareCondition(recA, recB, runsA, runsB, base, { replicates: B, seed });
  });
  for (const attack of familySize.keys()) {
    const idx = rows.map((r, i) => (r.attack === attack ? i : -1)).filter((i) => i >= 0);
    const adj = holm(idx.map((i) => rows[i].p));
    idx.forEach((i, j) => (rows[i].p_holm = adj[j]));
  }
  return { a, b, runs_a: runsA, runs_b: runsB, seed, rows, unmatched, warnings };
}

function compareCondition(
  recA: AttackRecord[],
  recB: AttackRecord[],
  runsA: string[],
  runsB: string[],
  base: AttackCondition & { not_judged_a: number; not_judged_b: number },
  bs: { replicates: number; seed: number },
): AttackComparisonRow {
  const countsA = countBy(recA);
  const countsB = countBy(recB);
  const several = runsA.length > 1 || runsB.length > 1 || [...countsA.values(), ...countsB.values()].some((c) => c > 1);
  const empty = { p: null, p_holm: null, table: null, replicates: null, replicates_dropped: null };
  const h = (x: number | null, y: number | null) => (x === null || y === null ? null : cohenH(x, y));
  if (!several) {
    const common = [...countsA.keys()].filter((e) => countsB.has(e));
    if (common.length === 0) {
      const ha = recA.filter((r) => r.harmful).length;
      const hb = recB.filter((r) => r.harmful).length;
      const ni = newcombeIndependent(ha, recA.length, hb, recB.length);
      const asrA = ha / recA.length;
      const asrB = hb / recB.length;
      return { ...base, method: "newcombe-independent", rule: "runs fixed", ci_clipped: false, asr_a: asrA, asr_b: asrB, n_a: recA.length, harmful_a: ha, n_b: recB.length, harmful_b: hb, examples: countsA.size + countsB.size, dropped_examples: 0, diff: ni?.diff ?? null, ci: ni?.ci ?? null, cohen_h: h(asrA, asrB), ...empty };
    }
    const set = new Set(common);
    const harmA = new Map(recA.map((r) => [String(r.example), r.harmful]));
    const harmB = new Map(recB.map((r) => [String(r.example), r.harmful]));
    const t: PairedTable = { a: 0, b: 0, c: 0, d: 0 };
    for (const e of set) {
      const x = harmA.get(e)!;
      const y = harmB.get(e)!;
      if (x && y) t.a++;
      else if (x) t.b++;
      else if (y) t.c++;
      else t.d++;
    }
    const n = common.length;
    const np = newcombePaired(t)!;
    const asrA = (t.a + t.b) / n;
    const asrB = (t.a + t.c) / n;
    return {
      ...base, method: "mcnemar-newcombe-paired", rule: "runs fixed", ci_clipped: false, asr_a: asrA, asr_b: asrB, n_a: n, harmful_a: t.a + t.b, n_b: n, harmful_b: t.a + t.c,
      examples: n, dropped_examples: countsA.size + countsB.size - 2 * n, diff: np.diff, ci: np.ci, p: mcnemarExact(t.b, t.c), p_holm: null, cohen_h: h(asrA, asrB), table: t, replicates: null, replicates_dropped: null,
    };
  }
  // Paired cluster bootstrap over the examples every run of both sides has.
  const all = new Set([...countsA.keys(), ...countsB.keys()]);
  const runHas = (rs: AttackRecord[], run: string) => new Set(rs.filter((r) => r.run === run).map((r) => String(r.example)));
  const haves = [...runsA.map((run) => runHas(recA, run)), ...runsB.map((run) => runHas(recB, run))].filter((s) => s.size > 0);
  const examples = [...all].filter((e) => haves.every((s) => s.has(e))).sort();
  const keep = new Set(examples);
  const usedA = recA.filter((r) => keep.has(String(r.example)));
  const usedB = recB.filter((r) => keep.has(String(r.example)));
  const sideRuns = (rs: AttackRecord[], side: string[]) => side.filter((run) => rs.some((r) => r.run === run));
  const outA = sideRuns(usedA, runsA).map((run) => outcomesByExample(usedA.filter((r) => r.run === run), examples));
  const outB = sideRuns(usedB, runsB).map((run) => outcomesByExample(usedB.filter((r) => r.run === run), examples));
  const mean = (xs: Array<number | null>) => (xs.length && xs.every((x) => x !== null) ? (xs as number[]).reduce((p, q) => p + q, 0) / xs.length : null);
  const asrA = mean(outA.map(pooledAsr));
  const asrB = mean(outB.map(pooledAsr));
  let ci: Interval | null = null;
  let p: number | null = null;
  let dropped: number | null = null;
  let clipped = false;
  const rule = recipeComparisonRule(outA.length, outB.length);
  // Every record of each side has one outcome (all runs at ASR 0, or all at 1): every replicate of
  // either rule gives the same difference, an interval of zero width and p at its floor (or 0 from
  // the t rule) that say nothing. As for a recipe's own ASR of 0 or 1 (wilson-examples), fall back to
  // the distinct examples: McNemar's exact test and Newcombe's paired interval on the table of the
  // examples, which counts each example once however many runs and samples agree.
  const constant = (o: typeof outA) => {
    const xs = o.map(pooledAsr);
    return xs.length > 0 && xs.every((x) => x === xs[0]) && (xs[0] === 0 || xs[0] === 1) ? xs[0] : null;
  };
  const ca = constant(outA);
  const cb = constant(outB);
  if (examples.length > 0 && ca !== null && cb !== null) {
    const n = examples.length;
    const t: PairedTable = { a: ca === 1 && cb === 1 ? n : 0, b: ca === 1 && cb === 0 ? n : 0, c: ca === 0 && cb === 1 ? n : 0, d: ca === 0 && cb === 0 ? n : 0 };
    const np = newcombePaired(t)!;
    return {
      ...base, method: "mcnemar-newcombe-examples", rule, ci_clipped: false, asr_a: ca, asr_b: cb, n_a: usedA.length, harmful_a: usedA.filter((r) => r.harmful).length, n_b: usedB.length, harmful_b: usedB.filter((r) => r.harmful).length,
      examples: n, dropped_examples: all.size - n, diff: np.diff, ci: np.ci, p: mcnemarExact(t.b, t.c), p_holm: null, cohen_h: h(ca, cb), table: t, replicates: null, replicates_dropped: null,
    };
  }
  if (examples.length > 0 && outA.length && outB.length) {
    const [ra, rb] = clusterReplicates([outA, outB], { replicates: bs.replicates, seed: bs.seed, drawRuns: rule === "two-stage bootstrap" });
    const deltas = ra.map((v, i) => v - rb[i]);
    const pi = percentileInterval(deltas);
    dropped = pi.dropped;
    if (rule === "t") {
      if (asrA !== null && asrB !== null && pi.used >= 2) {
        const runAsr = (o: typeof outA) => o.map(pooledAsr).filter((x): x is number => x !== null);
        const xa = runAsr(outA);
        const xb = runAsr(outB);
        const t = tDifference(asrA - asrB, Math.sqrt(sampleVariance(xa)), xa.length, Math.sqrt(sampleVariance(xb)), xb.length, sampleVariance(deltas));
        clipped = t.ci[0] < -1 || t.ci[1] > 1;
        ci = [Math.max(-1, t.ci[0]), Math.min(1, t.ci[1])];
        p = t.p;
      }
    } else {
      ci = pi.ci;
      p = bootstrapP(deltas);
    }
  }
  return {
    ...base, method: rule === "t" ? "paired-t-runs" : "paired-cluster-bootstrap", rule, ci_clipped: clipped, asr_a: asrA, asr_b: asrB, n_a: usedA.length, harmful_a: usedA.filter((r) => r.harmful).length, n_b: usedB.length, harmful_b: usedB.filter((r) => r.harmful).length,
    examples: examples.length, dropped_examples: all.size - examples.length, diff: asrA === null || asrB === null ? null : asrA - asrB, ci, p, p_holm: null, cohen_h: h(asrA, asrB), table: null, replicates: bs.replicates, replicates_dropped: dropped,
  };
}
