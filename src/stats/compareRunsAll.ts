/**
 * The paired comparison of two runs or recipes on everything the kit measures (METRICS.md 4): the
 * update statistics from token logs (N_k, z90, E_k and, with a level metric, L_k; per probe set)
 * and, with attack results, the attack success rate of every condition. It calls
 * `compareUpdates` (stats/updateComparison.ts) and `compareAttacks` (attacks/compare.ts), which
 * hold the arithmetic; both take the same run or recipe names and the same seed.
 */
import type { TokenLogs } from "../load";
import { AttackComparison, CompareAttacksOptions, compareAttacks } from "../attacks/compare";
import type { AttackRecord, AttackResults } from "../attacks/load";
import { recipeLabelsOf } from "./recipes";
import { UpdateComparison, UpdateComparisonOptions, compareUpdates } from "./updateComparison";

export interface CompareRunsAllOptions extends UpdateComparisonOptions {
  /** Only this attack in the attack comparison (default: every attack both sides have). */
  attack?: string;
  /**
   * Bootstrap replicates of the attack comparison (default: `bootstrap`, raised per attack to
   * max(2000, 20 m / 0.05) for its m conditions).
   */
  attackBootstrap?: number;
}

export interface RunsComparison {
  /** One entry per probe set (see `compareUpdates`). */
  updates: UpdateComparison[];
  /** The attack comparison; null when no attack results were given. */
  attacks: AttackComparison | null;
}

/**
 * Compares A and B (run names, or recipe names through `recipePattern` or a `recipe` label) on
 * the update statistics of `logs` and, when `attacks` is given, on the ASR of every attack
 * condition. Recipes are grouped the same way on both sides: by the pattern, or else by the token
 * logs' `recipe` labels (`recipeField`), which the attack comparison then uses for its runs too.
 * @example
 * const logs = await loadTokenLogs("logs/*.jsonl");
 * const res = await loadAttackResults("attacks.jsonl");
 * const { updates, attacks } = await compareRunsAll(logs, res, "sft", "augmented", { k: 5 });
 * @throws UsageError when A or B is neither a run nor a recipe of the token logs, or (with attack
 * results) of the attack results.
 */
export async function compareRunsAll(
  logs: TokenLogs,
  attacks: AttackResults | readonly AttackRecord[] | null,
  a: string,
  b: string,
  opts: CompareRunsAllOptions = {},
): Promise<RunsComparison> {
  const updates = await compareUpdates(logs, a, b, opts);
  if (attacks === null) return { updates, attacks: null };
  const recipeLabels = await recipeLabelsOf(logs, opts.recipeField, opts.recipePattern);
  const attackOptions: CompareAttacksOptions = {
    recipePattern: opts.recipePattern,
    recipeLabels,
    attack: opts.attack,
    bootstrap: opts.attackBootstrap ?? opts.bootstrap,
    seed: opts.seed,
  };
  return { updates, attacks: compareAttacks(attacks, a, b, attackOptions) };
}
