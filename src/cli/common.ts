/** Options shared by the commands that load token logs. */
import type { DuckDBValue } from "@duckdb/node-api";
import { LoadOptions, LoadReport, TokenLogs } from "../load";
import { parseColumnMapping } from "../load/mapping";
import { parseAssignments } from "../load/scored";
import { sqlIdent } from "../load/engine";
import { filteredSource } from "../stats/source";
import { groupRecipes } from "../stats/recipes";
import type { RunColorOptions } from "../figures/palette";
import { OptionSpec } from "./args";
import { Format, Layout } from "../load/schema";
import { UsageError } from "../errors";
import type { RowFilter } from "../stats/source";
import type { AttackLoadOptions } from "../attacks/load";

export const LOAD_OPTIONS: OptionSpec[] = [
  { name: "format", type: "string", choices: ["jsonl", "csv", "parquet"], help: "force the format of every file (default: from the file name)" },
  { name: "layout", type: "string", choices: ["long", "wide"], help: "force the layout (default: from the first record)" },
  { name: "skip-invalid", type: "flag", help: "use the valid rows and report the skipped ones by reason, instead of failing" },
  { name: "memory-limit", type: "string", help: "DuckDB memory limit, e.g. 2GB", default: "2GB" },
  { name: "threads", type: "int", help: "DuckDB threads (default: all cores)" },
  { name: "no-progress", type: "flag", help: "do not show progress on stderr" },
  { name: "no-cache", type: "flag", help: "validate every file anew (do not use or write the validation cache; see ALIGNDEPTH_CACHE_DIR)" },
  { name: "columns", type: "repeat", help: "name your columns for the log's fields: FIELD=COLUMN,... e.g. step=global_step,example=sample_id,position=token_idx,loss=nll" },
  { name: "mask", type: "string", help: "a boolean or 0/1 column: rows where it is false/0 are not scored (positions re-based)" },
  { name: "unscored", type: "repeat", help: "COLUMN=VALUE: rows with this label value are not scored, e.g. labels=-100 (positions re-based; repeatable)" },
  { name: "span", type: "repeat", help: "FIELD=VALUE: only rows with this label value are scored, e.g. segment=response (positions re-based)" },
];

/** The update-mass options: early-share cut-off and the seeded bootstrap. */
export const MASS_OPTIONS: OptionSpec[] = [
  { name: "k", type: "int", default: 5, help: "early share counts positions < k" },
  { name: "bootstrap", type: "int", default: 1000, help: "bootstrap replicates for the intervals (0: none)" },
  { name: "seed", type: "int", default: 0, help: "bootstrap seed" },
];

/** `--where FIELD=VALUE` (repeatable): restrict an analysis to rows with these label values. */
export const WHERE_OPTION: OptionSpec = { name: "where", type: "repeat", help: "only rows with FIELD=VALUE, e.g. split=refusal (repeatable; the same field twice means either value)" };

export function parseWhere(values: string[] | undefined): RowFilter | undefined {
  if (!values || values.length === 0) return undefined;
  const out: Record<string, string[]> = {};
  for (const v of values) {
    const eq = v.indexOf("=");
    if (eq <= 0) throw new UsageError(`--where takes FIELD=VALUE, got ${JSON.stringify(v)}`);
    (out[v.slice(0, eq)] ??= []).push(v.slice(eq + 1));
  }
  return out;
}

export function loadOptions(o: Record<string, unknown>): LoadOptions {
  return {
    format: o.format as Format | undefined,
    layout: o.layout as Layout | undefined,
    skipInvalid: Boolean(o["skip-invalid"]),
    memoryLimit: o["memory-limit"] as string,
    threads: o.threads as number | undefined,
    progress: o["no-progress"] ? false : "auto",
    cache: !o["no-cache"],
    columns: parseColumnMapping(o.columns as string[] | undefined),
    mask: o.mask as string | undefined,
    unscored: parseAssignments("unscored", o.unscored as string[] | undefined),
    span: parseAssignments("span", o.span as string[] | undefined),
  };
}

/**
 * What the load did, for the JSON of commands that read token logs: rows per metric (a metric may
 * be measured at some rows only), rows not scored, values dropped, files left out, notes.
 */
export function loadFacts(r: LoadReport): Record<string, unknown> {
  return {
    metric_rows: r.metricRows,
    ...(r.unscored ? { unscored: { rows: r.unscored.rows, by_option: r.unscored.byOption }, rebased: true } : {}),
    ...(r.droppedValues ? { dropped_values: r.droppedValues } : {}),
    ...(r.leftOut?.length ? { left_out: r.leftOut } : {}),
    ...(r.notes?.length ? { notes: r.notes } : {}),
  };
}

/** At most `n` items of a list as text, with "... (N in all)" when there are more. */
function some(values: Array<string | number>, n = 8): string {
  return values.length <= n ? values.join(", ") : `${values.slice(0, n).join(", ")}, ... (${values.length} in all)`;
}

/**
 * Warnings for a selection that silently selects nothing or not what was meant: a `--where`
 * value that no row has (naming the values the field does have), filters that match nothing
 * together, and `--from`/`--to` steps that are not checkpoints of a run (naming its checkpoints).
 * The command still runs; the warnings go to stderr and into the JSON output as `warnings`.
 */
export async function selectionWarnings(logs: TokenLogs, sel: { where?: RowFilter; from?: number; to?: number; runs?: string[]; metric?: string }): Promise<string[]> {
  const out: string[] = [];
  if (sel.where) {
    const entries = Object.entries(sel.where);
    for (const [field, value] of entries) {
      const wanted = (Array.isArray(value) ? value : [value]).map(String);
      const params: Record<string, DuckDBValue> = {};
      filteredSource(logs, { [field]: wanted }, params); // checks that the column exists (UsageError)
      const col = sqlIdent(field);
      const present = (await logs.engine.rows<{ v: string }>(`SELECT DISTINCT CAST(${col} AS VARCHAR) AS v FROM ${logs.table} WHERE ${col} IS NOT NULL ORDER BY v LIMIT 1001`)).map((r) => r.v);
      const missing = wanted.filter((v) => !present.includes(v));
      for (const v of missing) out.push(`--where ${field}=${v} matches no row (${field} has: ${some(present)})`);
    }
    if (entries.length > 1 && out.length === 0) {
      const params: Record<string, DuckDBValue> = {};
      const [r] = await logs.engine.rows<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM (SELECT 1 FROM ${filteredSource(logs, sel.where, params)} LIMIT 1)`, params);
      if (Number(r.n) === 0) out.push(`the --where filters together match no row (${entries.map(([f, v]) => `${f}=${Array.isArray(v) ? v.join("|") : v}`).join(" and ")})`);
    }
  }
  for (const [flag, step] of [["--from", sel.from], ["--to", sel.to]] as const) {
    if (step === undefined) continue;
    const runs = sel.runs ?? (await logs.runs());
    const lacking: string[] = [];
    for (const run of runs) if (!(await logs.steps(run)).includes(step)) lacking.push(run);
    if (lacking.length === 0) continue;
    const steps = await logs.steps(lacking[0]);
    const which = lacking.length === runs.length ? "no run has" : `run${lacking.length > 1 ? "s" : ""} ${some(lacking, 4)} ha${lacking.length > 1 ? "ve" : "s"}`;
    out.push(`${flag} ${step}: ${which} a checkpoint at step ${step}, so ${lacking.length === runs.length ? "there is" : "they have"} nothing to pair (checkpoints of ${lacking[0]}: ${some(steps)})`);
  }
  // A metric logged at some checkpoints only (METRICS 1.2): the checkpoint exists, the metric is not measured there.
  if (sel.metric !== undefined && (sel.from !== undefined || sel.to !== undefined)) {
    const runs = sel.runs ?? (await logs.runs());
    for (const step of [...new Set([sel.from, sel.to])]) {
      if (step === undefined) continue;
      for (const run of runs) {
        if (!(await logs.steps(run)).includes(step)) continue; // said above
        const measured = (await logs.engine.rows<{ step: number }>(`SELECT DISTINCT step::INTEGER AS step FROM ${logs.table} WHERE run = $run AND ${sqlIdent(sel.metric)} IS NOT NULL ORDER BY step`, { run })).map((r) => Number(r.step));
        if (!measured.includes(step))
          out.push(`${sel.metric} is not measured at step ${step} of run ${run} (${measured.length ? `measured at step${measured.length > 1 ? "s" : ""} ${some(measured)}` : "measured at no step"}): nothing to pair there`);
      }
    }
  }
  return out;
}

/** How attack results' judge scores read (METRICS 2): the scale, the threshold, "not judged" values. */
export const JUDGE_OPTIONS: OptionSpec[] = [
  { name: "scale", type: "string", default: "1:5", help: "attack results: the judge's score scale MIN:MAX (e.g. 0:1, 1:10); scores outside it are invalid" },
  { name: "threshold", type: "number", help: "attack results: a judge score >= this is harmful (default: the top of the scale)" },
  { name: "not-judged", type: "repeat", help: "attack results: a score value meaning 'could not judge' (e.g. --not-judged=-1): left out of n and counted" },
];

/** Attack results read beside token logs (report, compare): the files, and JUDGE_OPTIONS. */
export const ATTACK_OPTIONS: OptionSpec[] = [{ name: "attacks", type: "repeat", help: "attack result files or globs (repeatable)" }, ...JUDGE_OPTIONS];

/**
 * The `loadAttackResults` options of the ATTACK_OPTIONS (or JUDGE_OPTIONS) given, and --skip-invalid.
 * @throws UsageError for a --not-judged value that is not a number.
 */
export function attackLoadOptions(o: Record<string, unknown>, command: string): AttackLoadOptions & { notJudged: number[] } {
  const notJudged = ((o["not-judged"] as string[] | undefined) ?? []).map((v) => {
    if (v.trim() === "" || !Number.isFinite(Number(v))) throw new UsageError(`${command}: --not-judged takes a number (e.g. --not-judged=-1), got ${JSON.stringify(v)}`);
    return Number(v);
  });
  return { threshold: o.threshold as number | undefined, scale: o.scale as string, notJudged, skipInvalid: Boolean(o["skip-invalid"]) };
}

/**
 * `--recipe-pattern`: groups replicate runs into recipes (METRICS 3.7), for the statistics and for
 * the figures' colours. One definition: commands list it once (`optionList`).
 */
export const RECIPE_PATTERN_OPTION: OptionSpec = {
  name: "recipe-pattern",
  type: "string",
  help: "group replicate runs: a regex over run names with a named group recipe (JavaScript syntax), e.g. '^(?<recipe>.+)-seed\\d+$' (default: a recipe label, if any); in figures a recipe's runs share its colour, seeds drawn thin",
};

/** Options that style runs in figures: recipes (one colour, seeds thin) and ablations (dashed). */
export const COLOR_OPTIONS: OptionSpec[] = [
  RECIPE_PATTERN_OPTION,
  { name: "ablation", type: "repeat", help: "a run or recipe that is an ablation: drawn dashed (repeatable)" },
];

/** The `runColors` options of the COLOR_OPTIONS given (runs: every run the figures draw). */
export function colorOptions(o: Record<string, unknown>, runs: readonly string[]): RunColorOptions {
  const pattern = o["recipe-pattern"] as string | undefined;
  return {
    ...(pattern !== undefined ? { recipeOf: groupRecipes(runs, { pattern }).recipeOf } : {}),
    ...(o.ablation ? { ablations: o.ablation as string[] } : {}),
  };
}
