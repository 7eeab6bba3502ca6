/** `aligndepth compare A B FILES...`: paired comparison of two runs or recipes on the update statistics (METRICS.md 4). */
import { loadTokenLogs } from "../load";
import { loadAttackResults } from "../attacks/load";
import { compareRunsAll } from "../stats/compareRunsAll";
import { formatCell, textTable } from "../table";
import { UsageError } from "../errors";
import { CommandSpec, Parsed, optionList } from "./args";
import { compareText, harmfulRule } from "./attacks";
import { ATTACK_OPTIONS, LOAD_OPTIONS, WHERE_OPTION, attackLoadOptions, loadOptions, selectionWarnings } from "./common";
import { Output, notJudgedNote, skippedNote } from "./output";
import { MIN_PAIRS_OPTION, STATISTICS_OPTIONS, STEP_OPTIONS, statisticsOptions } from "./summary";

export const compareSpec: CommandSpec = {
  name: "compare",
  summary: "Paired comparison of two runs or recipes: differences of N_k, z90, E_k (and L_k) with paired-bootstrap intervals and Holm-adjusted p.",
  usage: "aligndepth compare A B FILES... [--metric loss] [--k 5] [--bootstrap N] [--seed 0] [--level-metric kl] [--recipe-pattern RE] [--where FIELD=VALUE]... [--attacks FILES]... [--json]",
  minPositionals: 3,
  details:
    "A and B are run names, or recipe names (runs grouped by --recipe-pattern or a recipe label). The difference\nA - B is taken on the examples both have; one draw of example ids per replicate serves both sides.\nThe p-values of one table are Holm-adjusted; B is at least 20 m / 0.05 for m statistics.\nWith --attacks, the attack success rates of A and B are compared too, condition by condition (McNemar's\nexact p and Newcombe's paired interval for two runs, the paired cluster bootstrap for recipes or samples;\nHolm over each attack's conditions), as 'aligndepth attacks --compare' does. See docs/METRICS.md.",
  options: optionList([
    { name: "metric", type: "string", default: "loss", help: "numeric column of the update" },
    ...STEP_OPTIONS,
    { name: "k", type: "int", default: 5, help: "early share counts positions < k" },
    { name: "bootstrap", type: "int", help: "bootstrap replicates (default max(2000, 20 m / 0.05))" },
    { name: "seed", type: "int", default: 0, help: "bootstrap seed" },
    ...STATISTICS_OPTIONS.filter((s) => s.name !== "interval"),
    MIN_PAIRS_OPTION,
    { name: "json", type: "flag", help: "print {\"schema\": 2, \"metric\", \"k\", \"warnings\", \"comparisons\": [...], \"attacks\"} (attacks: with --attacks, else null)" },
    WHERE_OPTION,
    ...ATTACK_OPTIONS,
    { name: "attack", type: "string", help: "with --attacks: only this attack" },
    ...LOAD_OPTIONS,
  ]),
};


export async function compareCommand(p: Parsed, out: Output): Promise<number> {
  const o = p.options;
  const so = statisticsOptions({ ...o, bootstrap: o.bootstrap ?? 0 }, "compare");
  const [a, b, ...files] = p.positionals;
  const attackFiles = (o.attacks as string[] | undefined) ?? [];
  const attackOptions = attackLoadOptions(o, "compare");
  if (o.attack !== undefined && attackFiles.length === 0) throw new UsageError("compare: --attack needs --attacks FILES");
  const logs = await loadTokenLogs(files, loadOptions(o));
  try {
    const metric = logs.metric(o.metric as string);
    const results = attackFiles.length ? await loadAttackResults(attackFiles, attackOptions) : null;
    const { updates: comparisons, attacks } = await compareRunsAll(logs, results, a, b, { ...so, metric, bootstrap: o.bootstrap as number | undefined, attack: o.attack as string | undefined });
    const note = skippedNote(logs.report);
    if (note) out.note(note);
    const warnings = [...(logs.report.warnings ?? []), ...(await selectionWarnings(logs, { where: so.where, from: so.from, to: so.to, metric })), ...new Set(comparisons.flatMap((c) => c.notes))];
    if (comparisons.length === 0) warnings.push(`no rows of ${a} and ${b} to compare`);
    if (results) {
      const anote = skippedNote(results.report);
      if (anote) out.note(`attack results: ${anote}`);
      const njNote = notJudgedNote(results.report);
      if (njNote) out.note(`attack results: ${njNote}`);
      warnings.push(...results.report.warnings.map((w) => `attack results: ${w}`), ...(attacks?.warnings ?? []).map((w) => `attack results: ${w}`));
      if (attacks && attacks.unmatched.length) warnings.push(`attack results: ${attacks.unmatched.length} condition(s) only one side has, not compared: ${attacks.unmatched.slice(0, 3).join("; ")}${attacks.unmatched.length > 3 ? "; ..." : ""}`);
    }
    for (const w of warnings) out.note(`warning: ${w}`);
    const attackJson = results && attacks
      ? { threshold: results.report.threshold, scale: results.report.scale, not_judged: { values: results.report.notJudgedValues, records: results.report.notJudged }, a: attacks.a, b: attacks.b, runs_a: attacks.runs_a, runs_b: attacks.runs_b, seed: attacks.seed, rows: attacks.rows, unmatched: attacks.unmatched }
      : null;
    if (o.json) out.json({ schema: 2, metric, k: so.k, warnings, comparisons, attacks: attackJson });
    else {
      const lines: string[] = [];
      for (const c of comparisons) {
        lines.push(
          // Two lines: long run names would push one past 100 columns.
          `${c.kind[0]} ${c.a} - ${c.kind[1]} ${c.b}${c.probe_set !== null ? ` (probe set ${c.probe_set})` : ""}:`,
          `  ${c.examples} examples in common (${c.dropped_examples} dropped), B = ${c.B}, seed ${c.seed}`,
          `  interval and p: ${c.ci_info.note}`,
          textTable(c.rows.map((r) => ({ statistic: r.statistic, [c.a]: r.a, [c.b]: r.b, difference: r.difference, "95% CI": r.ci ? `${formatCell(r.ci[0])} to ${formatCell(r.ci[1])}` : "", p: r.p, "p (Holm)": r.p_holm }))),
          "",
        );
      }
      if (results && attacks) {
        lines.push(compareText(attacks.a, attacks.b, attacks.runs_a, attacks.runs_b, attacks.rows, harmfulRule(results)));
      }
      out.text(lines.join("\n"));
    }
    return 0;
  } finally {
    logs.close();
  }
}
