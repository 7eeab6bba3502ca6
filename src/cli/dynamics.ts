/** `aligndepth dynamics`: learning-dynamics statistics (METRICS 7) of influence, training-gradient and probe-change logs. */
import { UsageError } from "../errors";
import { loadDynamicsLogs } from "../dynamics/load";
import { loadTokenLogs, TokenLogs } from "../load";
import { compileRecipePattern } from "../stats/recipes";
import { DEFAULT_RECIPE_PATTERN, dynamicsSummary } from "../dynamics/summary";
import { describeApproximation, describeRecipeContrast, describeSourceEarlyShare, describeTrainGradient } from "../dynamics/describe";
import { RecipeContrastRow, recipeContrast } from "../dynamics/recipeContrast";
import { textTable } from "../table";
import { CommandSpec, Parsed } from "./args";
import { LOAD_OPTIONS, loadOptions } from "./common";
import { Output, skippedNote } from "./output";

export const dynamicsSpec: CommandSpec = {
  name: "dynamics",
  summary: "Where the training gradient acts: source early share S_k, cross influence X_k, g(q) level share, and the check of the first-order influence.",
  usage: "aligndepth dynamics FILES... [--k 5] [--recipe-pattern REGEX] [--tokens FILES]... [--columns FIELD=COL,...] [--mask COL] [--unscored COL=VALUE]... [--span FIELD=VALUE]... [--compare A B] [--skip-invalid] [--json]",
  minPositionals: 1,
  details: [
    "Reads learning-dynamics logs (JSON Lines, plain or .gz), the kind from the file name's prefix:",
    "  influence-*       {run, step, split, position, source_position, influence}",
    "  train-gradient-*  {run, step, source_position, train_grad_norm, n_tokens}",
    "  probe-change-*    {run, step, split, position, loss_before, loss_after}",
    "Runs are grouped into recipes by a \"recipe\" label or --recipe-pattern; intervals are across seeds only",
    "(the logs are aggregated over examples). The influence is first order: momentum, decoupled weight decay",
    "and (unless applied by the logger) gradient clipping are left out.",
    "  aligndepth dynamics data/lab/influence-*.jsonl.gz data/lab/train-gradient-*.jsonl.gz data/lab/probe-change-*.jsonl.gz --k 5",
    "--compare A B: recipe A minus recipe B in S_k and X_k at every step and probe set, across seeds (bootstrap",
    "over seeds with 5 or more per recipe, t rule with 2 to 4, no interval with one); JSON field \"contrast\".",
    "The token logs of --tokens load as in every other command: --columns, --mask, --unscored, --span, --format, ...",
  ].join("\n"),
  options: [
    { name: "k", type: "int", default: 5, help: "early cut-off: training positions q < k (S_k, X_k, level share) and probe positions p >= k (X_k)" },
    { name: "recipe-pattern", type: "string", help: `regex over run names with a named group (?<recipe>...) (default: the runs' "recipe" labels if any, else ${DEFAULT_RECIPE_PATTERN})` },
    { name: "bootstrap", type: "int", default: 1000, help: "bootstrap replicates over runs for recipes with 5 or more seeds" },
    { name: "seed", type: "int", default: 0, help: "bootstrap seed" },
    { name: "compare", type: "string", nargs: 2, help: "recipe A minus recipe B in S_k and X_k per step and probe set, with the interval and p across seeds" },
    { name: "tokens", type: "repeat", help: "token logs to join with by run and step (repeatable; globs allowed)" },
    { name: "json", type: "flag", help: "print every statistic as JSON: {k, recipe_pattern, runs, influence, train_gradient, approximation, recipes, recipe_train_gradient, left_out, warnings} (and contrast with --compare)" },
    // The token logs' load options; --skip-invalid applies to the dynamics logs too.
    ...LOAD_OPTIONS,
  ],
};

export async function dynamicsCommand(p: Parsed, out: Output): Promise<number> {
  const o = p.options;
  const k = o.k as number;
  if (k < 1) throw new UsageError("dynamics: --k takes an integer >= 1");
  const pattern = o["recipe-pattern"] as string | undefined;
  if (pattern !== undefined) compileRecipePattern(pattern);
  const B = o.bootstrap as number;
  if (B < 1) throw new UsageError("dynamics: --bootstrap takes an integer >= 1");
  const tokenInputs = (o.tokens as string[] | undefined) ?? [];
  let tokens: TokenLogs | undefined;
  try {
    if (tokenInputs.length) {
      tokens = await loadTokenLogs(tokenInputs, loadOptions(o));
      const tnote = skippedNote(tokens.report);
      if (tnote) out.note(`token logs: ${tnote}`);
    }
    const logs = await loadDynamicsLogs(p.positionals, { skipInvalid: Boolean(o["skip-invalid"]), tokens });
    const note = skippedNote(logs.report);
    if (note) out.note(note);
    const s = dynamicsSummary(logs, { k, recipePattern: pattern, replicates: B, seed: o.seed as number });
    for (const w of s.warnings) out.note(`warning: ${w}`);
    const compare = o.compare as string[] | undefined;
    let contrast: { a: string; b: string; source_early_share: RecipeContrastRow[]; cross_influence: RecipeContrastRow[] } | undefined;
    if (compare) {
      const [a, b] = compare;
      const known = [...new Set(s.runs.map((r) => r.recipe))].sort();
      for (const name of [a, b]) if (!known.includes(name)) throw new UsageError(`dynamics: --compare: "${name}" is not a recipe of these logs (${known.join(", ")})`);
      if (a === b) throw new UsageError("dynamics: --compare needs two different recipes");
      const c = { seed: o.seed as number, replicates: Math.max(B, 2000) };
      contrast = { a, b, source_early_share: recipeContrast(s.influence, a, b, { ...c, statistic: "source_early_share" }), cross_influence: recipeContrast(s.influence, a, b, { ...c, statistic: "cross_influence" }) };
    }
    if (o.json) {
      out.json(contrast ? { ...s, contrast } : s);
      return 0;
    }
    const lines = [
      ...(contrast ? [...describeRecipeContrast(contrast.source_early_share, { k }), ...describeRecipeContrast(contrast.cross_influence, { k }), ""] : []),
      ...describeSourceEarlyShare(s),
      ...describeTrainGradient(s),
      describeApproximation(s.approximation),
      "",
      `S${k} and X${k} per run, step and probe set`,
      textTable(s.influence.map((r) => ({ run: r.run, recipe: r.recipe, step: r.step, split: r.split, [`S${k}`]: r.source_early_share, token_share: r.token_share, z50: r.source_z50, z90: r.source_z90, [`X${k}`]: r.cross_influence, check_rel_error: r.check_relative_l2_error }))),
      "",
      "first-order check (predicted = sum over q of I(p, q); measured = loss_after - loss_before)",
      s.approximation.length
        ? textTable(s.approximation.map((r) => ({ run: r.run, step: r.step, split: r.split, positions: r.n_positions, pearson_r: r.pearson_r, ratio_of_sums: r.ratio_of_sums, relative_l2_error: r.relative_l2_error })))
        : "(no probe-change log matches the influence logs)",
    ];
    out.text(lines.join("\n"));
    return 0;
  } finally {
    tokens?.close();
  }
}
