/**
 * Replicate runs (seeds) of one recipe (METRICS.md 3.7): runs are grouped into recipes by a
 * `recipe` label or by a regular expression over run names with a named group `recipe`.
 *
 * Regular expressions use JavaScript syntax, named groups written `(?<recipe>...)`; the Python
 * commands of `lab/` accept the same syntax.
 */
import { UsageError } from "../errors";
import type { TokenLogs } from "../load";
import { sqlIdent } from "../load/engine";

/** Which recipe each run belongs to. */
export interface RecipeGrouping {
  /** run -> recipe, for every run given. */
  recipeOf: Map<string, string>;
  /** recipe -> its runs, sorted; recipes in order of first appearance of their sorted runs. */
  runsOf: Map<string, string[]>;
  /** How the grouping was made: "pattern", "label" or "none" (each run its own recipe). */
  source: "pattern" | "label" | "none";
  /** Runs a pattern did not match (each kept as its own recipe) - say so in outputs. */
  unmatched: string[];
}

/**
 * Compiles a recipe pattern. It must have a named group `recipe`.
 * @throws UsageError for an invalid expression or one without `(?<recipe>...)`.
 */
export function compileRecipePattern(pattern: string): RegExp {
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch (e) {
    throw new UsageError(`--recipe-pattern: not a valid regular expression (JavaScript syntax): ${(e as Error).message}`);
  }
  if (!/\(\?<recipe>/.test(pattern)) throw new UsageError(`--recipe-pattern: needs a named group (?<recipe>...), e.g. '^(?<recipe>.+)-seed\\d+$'`);
  return re;
}

/**
 * Groups runs into recipes: by `pattern` (named group `recipe`) when given, else by `labels`
 * (run -> its `recipe` label value), else every run is its own recipe.
 * @example groupRecipes(["sft-seed1", "sft-seed2"], { pattern: "^(?<recipe>.+)-seed\\d+$" }).runsOf // sft -> [sft-seed1, sft-seed2]
 */
export function groupRecipes(
  runs: readonly string[],
  opts: { pattern?: string | RegExp; labels?: ReadonlyMap<string, string | null> } = {},
): RecipeGrouping {
  const sorted = [...new Set(runs)].sort();
  const recipeOf = new Map<string, string>();
  const unmatched: string[] = [];
  let source: RecipeGrouping["source"] = "none";
  if (opts.pattern !== undefined) {
    source = "pattern";
    const re = typeof opts.pattern === "string" ? compileRecipePattern(opts.pattern) : opts.pattern;
    for (const r of sorted) {
      const g = re.exec(r)?.groups?.recipe;
      if (g === undefined || g === "") {
        unmatched.push(r);
        recipeOf.set(r, r);
      } else recipeOf.set(r, g);
    }
  } else if (opts.labels && sorted.some((r) => opts.labels!.get(r) != null)) {
    source = "label";
    for (const r of sorted) {
      const l = opts.labels.get(r);
      if (l == null) {
        unmatched.push(r);
        recipeOf.set(r, r);
      } else recipeOf.set(r, l);
    }
  } else for (const r of sorted) recipeOf.set(r, r);
  const runsOf = new Map<string, string[]>();
  for (const r of sorted) {
    const k = recipeOf.get(r)!;
    if (!runsOf.has(k)) runsOf.set(k, []);
    runsOf.get(k)!.push(r);
  }
  return { recipeOf, runsOf, source, unmatched };
}

/**
 * run -> its recipe label (text; null where missing), read from the token logs' `field` column;
 * undefined when a pattern is given (the pattern then decides) or the logs have no such label.
 */
export async function recipeLabelsOf(logs: TokenLogs, field = "recipe", pattern?: string): Promise<Map<string, string | null> | undefined> {
  if (pattern !== undefined || !logs.labels.includes(field)) return undefined;
  const rows = await logs.engine.rows<{ run: string; recipe: string | null }>(`SELECT DISTINCT run, CAST(${sqlIdent(field)} AS VARCHAR) AS recipe FROM ${logs.table} ORDER BY run`);
  return new Map(rows.map((r) => [r.run, r.recipe]));
}

/**
 * The recipe grouping of a dataset's runs: by `recipePattern` when given, else by the logs'
 * `recipeField` label (default `recipe`), else one run per recipe (see `groupRecipes`).
 * @example const g = await recipeGrouping(logs, { recipePattern: "^(?<recipe>.+)-seed\\d+$" }); runColors(await logs.runs(), { recipeOf: g.recipeOf })
 */
export async function recipeGrouping(logs: TokenLogs, opts: { recipePattern?: string; recipeField?: string } = {}): Promise<RecipeGrouping> {
  return groupRecipes(await logs.runs(), { pattern: opts.recipePattern, labels: await recipeLabelsOf(logs, opts.recipeField, opts.recipePattern) });
}
