import { UsageError } from "../errors";
import { loadTokenLogs } from "../load";
import { INTERVAL_METHODS, IntervalMethod } from "../stats/bca";
import { compileRecipePattern } from "../stats/recipes";
import { RunSummary, updateSummary } from "../stats/summary";
import { formatCell, textTable } from "../table";
import { CommandSpec, OptionSpec, Parsed, optionList } from "./args";
import { LOAD_OPTIONS, MASS_OPTIONS, RECIPE_PATTERN_OPTION, WHERE_OPTION, loadFacts, loadOptions, parseWhere, selectionWarnings } from "./common";
import { positionStartWarnings } from "../stats/positionStart";
import { Output, skippedNote } from "./output";

/** The update's checkpoints, shared by summary and compare. */
export const STEP_OPTIONS: OptionSpec[] = [
  { name: "from", type: "int", help: "first step (default: each run's first)" },
  { name: "to", type: "int", help: "last step (default: each run's last)" },
];

/** Positions used, shared by summary and compare. */
export const MIN_PAIRS_OPTION: OptionSpec = { name: "min-pairs", type: "int", default: 1, help: "use positions with at least this many pairs" };

/** Options of the update statistics shared by summary and compare. */
export const STATISTICS_OPTIONS: OptionSpec[] = [
  { name: "interval", type: "string" as const, default: "bca", choices: INTERVAL_METHODS, help: "interval method: bca, percentile or basic (d50/d90 always percentile)" },
  { name: "level-metric", type: "string" as const, help: "also the level share L_k of this non-negative metric (e.g. kl) at --to" },
  RECIPE_PATTERN_OPTION,
  { name: "pooled", type: "flag" as const, help: "pool the probe sets (the split label) instead of analysing each on its own" },
  { name: "probe-set", type: "string" as const, default: "split", help: "the label naming each example's probe set" },
];

export const summarySpec: CommandSpec = {
  name: "summary",
  summary: "Where the update of each run (and recipe) concentrates: net early share N_k, depths z50/z90, references, with BCa intervals.",
  usage: "aligndepth summary FILES... [--metric loss] [--from STEP] [--to STEP] [--k 5] [--min-pairs 1] [--bootstrap 1000] [--seed 0] [--interval bca] [--level-metric kl] [--recipe-pattern RE] [--where FIELD=VALUE]... [--json]",
  minPositionals: 1,
  details:
    "The update is the mean over paired examples of (metric at --to) - (metric at --from), per position;\nfrom/to default to each run's first and last step. With a split label and no --where on it, each\nprobe set is analysed separately. See docs/METRICS.md.",
  options: optionList([
    { name: "metric", type: "string", default: "loss", help: "numeric column (loss, kl, grad_norm, ...)" },
    ...STEP_OPTIONS,
    ...MASS_OPTIONS,
    ...STATISTICS_OPTIONS,
    MIN_PAIRS_OPTION,
    { name: "run", type: "repeat", help: "only this run (repeatable)" },
    { name: "json", type: "flag", help: "print {\"schema\": 2, \"metric\", \"k\", \"warnings\", \"runs\": [...], \"recipes\": [...]}" },
    WHERE_OPTION,
    ...LOAD_OPTIONS,
  ]),
};

/** The summary options common to summary and compare, checked. */
export function statisticsOptions(o: Parsed["options"], command: string) {
  // --k first: "-3" and "0" get the same message (>= 1), not ">= 0" for one of them.
  if ((o.k as number) < 1) throw new UsageError(`${command}: --k must be >= 1`);
  for (const name of ["min-pairs", "bootstrap", "from", "to"])
    if (o[name] !== undefined && (o[name] as number) < 0) throw new UsageError(`${command}: --${name} must be >= 0`);
  if (o["recipe-pattern"] !== undefined) compileRecipePattern(o["recipe-pattern"] as string);
  return {
    from: o.from as number | undefined,
    to: o.to as number | undefined,
    k: o.k as number,
    minPairs: o["min-pairs"] as number,
    seed: o.seed as number,
    runs: o.run as string[] | undefined,
    where: parseWhere(o.where as string[] | undefined),
    levelMetric: o["level-metric"] as string | undefined,
    recipePattern: o["recipe-pattern"] as string | undefined,
    probeSets: o.pooled ? ("pooled" as const) : ("separate" as const),
    probeSetField: o["probe-set"] as string,
  };
}

// Numbers go to the table unrounded: formatCell (src/table.ts) rounds each value once.
const iv = (x: [number, number] | null) => (x ? `${formatCell(x[0])} to ${formatCell(x[1])}` : "");

/** The text table: one row per run (and probe set), net statistics first. */
function tableRows(runs: RunSummary[], k: number): Record<string, unknown>[] {
  return runs.map((s) => ({
    run: s.run,
    ...(runs.some((r) => r.probe_set !== null) ? { probe_set: s.probe_set } : {}),
    steps: `${s.from}-${s.to}`,
    examples: s.examples,
    D: s.net_change,
    [`N${k}`]: s.net_early_share,
    [`N${k} 95% CI`]: iv(s.ci.net_early_share),
    z50: s.z50,
    z90: s.z90,
    "z90 95% CI": iv(s.ci.z90),
    R: s.counter_movement,
    uniform: s.uniform_early_share,
    [`H${k}`]: s.headroom_early_share === null ? `n/a (${s.headroom_reason})` : s.headroom_early_share,
    ...(s.level_early_share !== null || runs.some((r) => r.level_early_share !== null) ? { [`L${k}`]: s.level_early_share, [`L${k} 95% CI`]: iv(s.ci.level_early_share) } : {}),
    [`E${k} (abs.)`]: s.early_share,
    d90: s.d90,
  }));
}

export async function summaryCommand(p: Parsed, out: Output): Promise<number> {
  const o = p.options;
  const so = statisticsOptions(o, "summary");
  const logs = await loadTokenLogs(p.positionals, loadOptions(o));
  try {
    const metric = logs.metric(o.metric as string);
    const selection = await selectionWarnings(logs, { where: so.where, from: so.from, to: so.to, runs: so.runs, metric });
    const result = await updateSummary(logs, { ...so, metric, bootstrap: o.bootstrap as number, interval: o.interval as IntervalMethod });
    result.warnings.unshift(...selection);
    const note = skippedNote(logs.report);
    if (note) out.note(note);
    // Selection warnings first, then positions not starting at 0 (METRICS 1.4), then the statistics' own.
    result.warnings.splice(selection.length, 0, ...(await positionStartWarnings(logs, { metric, where: so.where, runs: so.runs })));
    for (const w of result.warnings) out.note(`warning: ${w}`);
    if (o.json) out.json({ ...result, ...loadFacts(logs.report), ...(logs.report.recordsSkipped ? { skipped: { records: logs.report.recordsSkipped, by_reason: logs.report.skipped } } : {}) });
    else {
      const k = so.k;
      const lines = [
        `update of ${metric} between each run's steps (k = ${k}; ${o.bootstrap} bootstrap replicates, seed ${o.seed}, ${o.interval} intervals)`,
        textTable(tableRows(result.runs, k)),
        `N${k}: net early share (the default); uniform and H${k}: what N${k} would be if the change were spread evenly / proportional to the starting level; E${k} (abs.): version 1's absolute share, biased toward late positions by noise.`,
      ];
      const clipped = [...result.runs.map((r) => [r.run, r.ci_info.clipped] as const), ...result.recipes.map((r) => [`recipe ${r.recipe}`, r.ci_info.clipped] as const)].filter(([, c]) => c?.length);
      if (clipped.length) lines.push(`intervals clipped to the statistic's bounds ([0, 1]; R: [0, 0.5]): ${clipped.map(([n, c]) => `${n}: ${c!.join(", ")}`).join("; ")}`);
      if (result.recipes.length)
        lines.push(
          "",
          "recipes (mean over runs, sd across runs):",
          textTable(
            result.recipes.map((r) => ({
              recipe: r.recipe,
              ...(r.probe_set !== null ? { probe_set: r.probe_set } : {}),
              runs: r.runs,
              [`N${k}`]: r.net_early_share,
              sd: r.sd.net_early_share,
              [`N${k} 95% CI`]: iv(r.ci.net_early_share),
              z90: r.z90,
              "z90 95% CI": iv(r.ci.z90),
              interval: r.ci_info.rule,
            })),
          ),
        );
      out.text(lines.join("\n"));
    }
    return 0;
  } finally {
    logs.close();
  }
}
