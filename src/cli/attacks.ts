import { UsageError } from "../errors";
import { attackSuccess } from "../attacks/asr";
import { exampleBreakdown } from "../attacks/breakdown";
import { AttackComparisonRow, compareAttacks } from "../attacks/compare";
import { conditionLabel } from "../attacks/conditions";
import { AttackResults, compileNamePattern, loadAttackResults, parseAttackColumns, parseScale, parseSetPairs } from "../attacks/load";
import { recipeAsr } from "../attacks/recipeAsr";
import { compileRecipePattern } from "../stats/recipes";
import { recipeComparisonRule, recipeRuleNote } from "../stats/recipeDifference";
import { textTable } from "../table";
import { CommandSpec, Parsed } from "./args";
import { JUDGE_OPTIONS, attackLoadOptions } from "./common";
import { Output, notJudgedNote, skippedNote } from "./output";

export const attacksSpec: CommandSpec = {
  name: "attacks",
  summary: "Attack success rate per run, attack and condition with 95% intervals; compare two runs or recipes.",
  usage: "aligndepth attacks FILES... [--scale 1:5] [--threshold T] [--not-judged=-1] [--columns FIELD=COL,...] [--set FIELD=VALUE]... [--name-pattern REGEX] [--compare A B] [--recipe-pattern REGEX] [--by-example] [--json]",
  minPositionals: 1,
  details: [
    "Reads attack results (JSON Lines, plain or .gz): one record per (run, attack, condition, example[, sample])",
    "with \"harmful\" (true/false) or a judge's \"score\" on --scale (harmful when score >= --threshold).",
    "A score outside the scale is invalid input, unless named with --not-judged (left out of n, counted).",
    "Intervals: Wilson with one record per example; with several (samples) a cluster bootstrap over examples.",
    "Judge files ({\"idx\", \"score\"}) take run, attack and conditions from --set and --name-pattern:",
    "  aligndepth attacks judge/gemma_it_prefilled_*_harmful_tokens.jsonl \\",
    "    --set run=gemma_it --set attack=prefill --name-pattern 'prefilled_(?<k>\\d+)_harmful' --not-judged=-1",
    "Compare two runs (McNemar's exact test, Newcombe's paired interval, Cohen's h; Holm over an attack's",
    "conditions), or two recipes of seeds (paired cluster bootstrap):",
    "  aligndepth attacks attacks.jsonl --compare sft augmented",
    "  aligndepth attacks attacks.jsonl --compare sft aug --recipe-pattern '^(?<recipe>.+)-seed\\d+$'",
    "Which prompts drive the ASR: aligndepth attacks attacks.jsonl --by-example [--top 10]",
  ].join("\n"),
  options: [
    ...JUDGE_OPTIONS,
    { name: "columns", type: "string", help: "your column names: FIELD=COLUMN,... (fields: run, attack, example, sample, harmful, score, k, prefix_len, span_len)" },
    { name: "set", type: "repeat", help: "FIELD=VALUE for every record (repeatable; integer-looking values become integers)" },
    { name: "name-pattern", type: "string", help: "regex with named groups over each file's base name, e.g. 'prefilled_(?<k>\\d+)_harmful'" },
    { name: "compare", type: "string", nargs: 2, help: "compare run or recipe A with B, condition by condition" },
    { name: "recipe-pattern", type: "string", help: "regex over run names with a named group recipe: ASR per recipe (mean over its seeds), or --compare recipes" },
    { name: "attack", type: "string", help: "only this attack (with --compare or --by-example)" },
    { name: "by-example", type: "flag", help: "rank the examples of each run and attack by harmful outcomes (which prompts drive the ASR)" },
    { name: "outcome", type: "string", choices: ["harmful", "not_harmful"], default: "harmful", help: "with --by-example: rank by harmful outcomes, or by not-harmful ones (where the attack failed)" },
    { name: "top", type: "int", default: 10, help: "examples shown per run and attack with --by-example" },
    { name: "bootstrap", type: "int", default: 2000, help: "cluster-bootstrap replicates (a comparison raises it to 20 m / 0.05 for m conditions)" },
    { name: "seed", type: "int", default: 0, help: "bootstrap seed" },
    { name: "skip-invalid", type: "flag", help: "use the valid lines and report the skipped ones by reason, instead of failing" },
    { name: "no-progress", type: "flag", help: "accepted as in every other command (attack results show no progress bar)" },
    { name: "json", type: "flag", help: "print JSON: {threshold, scale, not_judged, warnings, rows} (see docs/METRICS.md)" },
  ],
};

const METHOD_SHORT: Record<string, string> = { "mcnemar-newcombe-paired": "mcnemar", "newcombe-independent": "indep", "paired-cluster-bootstrap": "boot", "paired-t-runs": "t", "mcnemar-newcombe-examples": "mcnemar-ex" };

export async function attacksCommand(p: Parsed, out: Output): Promise<number> {
  const o = p.options;
  const set = parseSetPairs((o.set as string[] | undefined) ?? []);
  const pattern = o["name-pattern"] as string | undefined;
  if (pattern !== undefined) compileNamePattern(pattern);
  const scale = parseScale(o.scale as string);
  const threshold = o.threshold as number | undefined;
  if (threshold !== undefined && !Number.isFinite(threshold)) throw new UsageError("attacks: --threshold takes a number");
  const judging = attackLoadOptions(o, "attacks");
  const notJudged = judging.notJudged;
  const columns = o.columns !== undefined ? parseAttackColumns(o.columns as string) : undefined;
  const recipePattern = o["recipe-pattern"] as string | undefined;
  if (recipePattern !== undefined) compileRecipePattern(recipePattern);
  const bootstrap = o.bootstrap as number;
  if (!(bootstrap >= 1)) throw new UsageError("attacks: --bootstrap takes a whole number >= 1");
  const seed = o.seed as number;
  const top = o.top as number;
  if (!(top >= 1)) throw new UsageError("attacks: --top takes a whole number >= 1");
  const compare = o.compare as string[] | undefined;
  if (compare && o["by-example"]) throw new UsageError("attacks: --compare and --by-example are separate views; give one");
  const results = await loadAttackResults(p.positionals, { ...judging, scale, columns, set, namePattern: pattern });
  const { records, report } = results;
  const note = skippedNote(report);
  if (note) out.note(note);
  const njNote = notJudgedNote(report);
  // The plain ASR table prints it under the table; every other view says it on stderr.
  if (njNote && (o.json || compare || o["by-example"] || recipePattern !== undefined)) out.note(njNote);
  const warnings = [...report.warnings];
  const header = {
    threshold: report.threshold,
    scale: report.scale,
    not_judged: { values: report.notJudgedValues, records: report.notJudged },
  };
  const skipped = report.recordsSkipped ? { skipped: { records: report.recordsSkipped, by_reason: report.skipped } } : {};
  const harmfulText = harmfulRule(results);
  const attack = o.attack as string | undefined;

  if (compare) {
    const cmp = compareAttacks(results, compare[0], compare[1], { recipePattern, bootstrap, seed, attack });
    warnings.push(...cmp.warnings);
    if (cmp.unmatched.length) warnings.push(`${cmp.unmatched.length} condition(s) only one side has, not compared: ${cmp.unmatched.slice(0, 3).join("; ")}${cmp.unmatched.length > 3 ? "; ..." : ""}`);
    for (const w of warnings) out.note(`warning: ${w}`);
    if (o.json) out.json({ ...header, warnings, a: cmp.a, b: cmp.b, runs_a: cmp.runs_a, runs_b: cmp.runs_b, seed: cmp.seed, rows: cmp.rows, unmatched: cmp.unmatched, ...skipped });
    else out.text(compareText(cmp.a, cmp.b, cmp.runs_a, cmp.runs_b, cmp.rows, harmfulText));
    return 0;
  }
  if (o["by-example"]) {
    for (const w of warnings) out.note(`warning: ${w}`);
    const outcome = o.outcome as "harmful" | "not_harmful";
    const b = exampleBreakdown(records, { attack, top, outcome });
    if (o.json) out.json({ ...header, warnings, breakdown: b, ...skipped });
    else {
      const parts = b.map((x) => {
        const what = outcome === "harmful" ? "harmful" : "not-harmful";
        const total = outcome === "harmful" ? x.harmful : x.not_harmful;
        const half = x.examples_for_half === null ? `no ${what} outcome` : `${x.examples_for_half} of ${x.examples} examples carry half of the ${total} ${what} outcomes`;
        const rows = x.rows.map((r) => ({ example: r.example, harmful: r.harmful, records: r.records, asr: r.asr, share: r.share, cumulative: r.cumulative_share }));
        return `${x.run} (${x.attack}): ${half}; ${x.examples_with_outcome} examples have any${x.rows.length < x.examples ? ` (top ${x.rows.length} shown)` : ""}\n${textTable(rows)}`;
      });
      out.text(`examples ranked by ${outcome === "harmful" ? "harmful" : "not-harmful"} outcomes over every condition (harmful: ${harmfulText}; share: of all such outcomes)\n\n${parts.join("\n\n")}`);
    }
    return 0;
  }
  for (const w of warnings) out.note(`warning: ${w}`);
  if (recipePattern !== undefined) {
    const rows = recipeAsr(records, { recipePattern, bootstrap, seed, notJudged: results.notJudged });
    if (o.json) out.json({ ...header, warnings, recipe_pattern: recipePattern, rows, ...skipped });
    else {
      const shown = rows.map((r) => ({ recipe: r.recipe, attack: r.attack, condition: conditionLabel(r), R: r.runs.length, asr: r.asr, sd: r.sd, ci_lo: r.ci?.[0] ?? null, ci_hi: r.ci?.[1] ?? null, method: `${r.ci_method}${r.ci_clipped ? "*" : ""}`, ...(notJudged.length ? { not_judged: r.not_judged } : {}) }));
      const one =
        (rows.some((r) => r.runs.length === 1) ? "\nR = 1: the interval is the run's own and ignores training randomness." : "") +
        (rows.some((r) => r.ci_clipped) ? "\n*: the t interval left [0, 1] and was clipped to it (few runs make it wide)." : "");
      out.text(`attack success rate per recipe: mean over its runs (harmful: ${harmfulText}); 95% intervals (METRICS 3.7)\n${textTable(shown)}${one}`);
    }
    return 0;
  }
  const rows = attackSuccess(records, { notJudged: results.notJudged, bootstrap, seed });
  if (o.json) {
    out.json({ ...header, warnings, rows, ...skipped });
  } else {
    const clustered = rows.some((r) => r.ci_method !== "wilson" && r.ci_method !== null);
    const shown = rows.map((r) => ({
      run: r.run,
      attack: r.attack,
      k: r.k,
      prefix_len: r.prefix_len,
      span_len: r.span_len,
      ...(r.conditions ?? {}),
      n: r.n,
      harmful: r.harmful,
      asr: r.asr,
      ci_lo: r.ci?.[0] ?? null,
      ci_hi: r.ci?.[1] ?? null,
      ...(clustered ? { examples: r.examples, ci: r.ci_method === "cluster-bootstrap" ? "cluster" : r.ci_method === "wilson-examples" ? "wilson-ex" : "wilson" } : {}),
      ...(notJudged.length ? { not_judged: r.not_judged } : {}),
    }));
    const lines = [`attack success rate (harmful: ${harmfulText}; 95% ${clustered ? "intervals: Wilson, or a cluster bootstrap over examples where an example has several records" : "Wilson intervals"})`, textTable(shown)];
    if (njNote) lines.push(njNote);
    out.text(lines.join("\n"));
  }
  return 0;
}

/** How a record counts as harmful, for table headers: the threshold on the judge's scale, or "as recorded". */
export function harmfulRule(results: AttackResults): string {
  const { report } = results;
  return results.records.some((r) => r.score !== null) ? `score >= ${report.threshold} on the scale ${report.scale[0]}:${report.scale[1]}` : "as recorded";
}

/** The comparison as text, under 100 columns: one table per attack (also used by `compare --attacks`). */
export function compareText(a: string, b: string, runsA: string[], runsB: string[], rows: AttackComparisonRow[], harmfulText: string): string {
  const side = (name: string, runs: string[]) => (runs.length === 1 && runs[0] === name ? name : `${name} (${runs.length} runs)`);
  const parts = [`${side(a, runsA)} vs ${side(b, runsB)}: difference of attack success rates (A - B), harmful: ${harmfulText}`];
  parts.push(`interval and p: ${recipeRuleNote(recipeComparisonRule(runsA.length, runsB.length), runsA.length, runsB.length)}`);
  const attacks = [...new Set(rows.map((r) => r.attack))];
  for (const attack of attacks) {
    const mine = rows.filter((r) => r.attack === attack);
    const m = mine.filter((r) => r.p !== null).length;
    parts.push(`\n${attack} (Holm over its ${m} test${m === 1 ? "" : "s"})`);
    parts.push(textTable(mine.map((r) => ({ condition: conditionLabel(r), n: r.examples, asr_a: r.asr_a, asr_b: r.asr_b, diff: r.diff, ci_lo: r.ci?.[0] ?? null, ci_hi: r.ci?.[1] ?? null, p: r.p, p_holm: r.p_holm, h: r.cohen_h, method: `${METHOD_SHORT[r.method]}${r.ci_clipped ? "*" : ""}` }))));
  }
  if (rows.length === 0) parts.push("(no condition both sides have)");
  parts.push("\nmcnemar: McNemar's exact p with Newcombe's paired interval (method 10);");
  parts.push("indep: no shared examples: Newcombe's independent interval (method 10), no test;");
  parts.push("boot: paired cluster bootstrap over examples (percentile; runs drawn too with >= 5 runs per side);");
  parts.push("t: 2-4 runs per side: recipe means' difference +/- t(min R - 1, 0.975) times");
  parts.push("   sqrt(s_A^2/R_A + s_B^2/R_B + v_ex); *: interval clipped to [-1, 1].");
  parts.push("h: Cohen's h. n: examples compared.");
  return parts.join("\n");
}
