/** `aligndepth compare A B FILES...`: paired comparison of two runs or recipes on the update statistics (METRICS.md 4). */
import { loadTokenLogs } from "../load";
import { compareUpdates } from "../stats/updateComparison";
import { formatCell, textTable } from "../table";
import { CommandSpec, Parsed } from "./args";
import { LOAD_OPTIONS, WHERE_OPTION, loadOptions, selectionWarnings } from "./common";
import { Output, skippedNote } from "./output";
import { STATISTICS_OPTIONS, statisticsOptions } from "./summary";

export const compareSpec: CommandSpec = {
  name: "compare",
  summary: "Paired comparison of two runs or recipes: differences of N_k, z90, E_k (and L_k) with paired-bootstrap intervals and Holm-adjusted p.",
  usage: "aligndepth compare A B FILES... [--metric loss] [--k 5] [--bootstrap N] [--seed 0] [--level-metric kl] [--recipe-pattern RE] [--where FIELD=VALUE]... [--json]",
  minPositionals: 3,
  details:
    "A and B are run names, or recipe names (runs grouped by --recipe-pattern or a recipe label). The difference\nA - B is taken on the examples both have; one draw of example ids per replicate serves both sides.\nThe p-values of one table are Holm-adjusted; B is at least 20 m / 0.05 for m statistics. See docs/METRICS.md.",
  options: [
    { name: "metric", type: "string", default: "loss", help: "numeric column of the update" },
    { name: "from", type: "int", help: "first step (default: each run's first)" },
    { name: "to", type: "int", help: "last step (default: each run's last)" },
    { name: "k", type: "int", default: 5, help: "early share counts positions < k" },
    { name: "bootstrap", type: "int", help: "bootstrap replicates (default max(2000, 20 m / 0.05))" },
    { name: "seed", type: "int", default: 0, help: "bootstrap seed" },
    ...STATISTICS_OPTIONS.filter((s) => s.name !== "interval"),
    { name: "min-pairs", type: "int", default: 1, help: "use positions with at least this many pairs" },
    { name: "json", type: "flag", help: "print {\"schema\": 2, \"metric\", \"k\", \"comparisons\": [...]}" },
    WHERE_OPTION,
    ...LOAD_OPTIONS,
  ],
};


export async function compareCommand(p: Parsed, out: Output): Promise<number> {
  const o = p.options;
  const so = statisticsOptions({ ...o, bootstrap: o.bootstrap ?? 0 }, "compare");
  const [a, b, ...files] = p.positionals;
  const logs = await loadTokenLogs(files, loadOptions(o));
  try {
    const metric = logs.metric(o.metric as string);
    const comparisons = await compareUpdates(logs, a, b, { ...so, metric, bootstrap: o.bootstrap as number | undefined });
    const note = skippedNote(logs.report);
    if (note) out.note(note);
    const warnings = [...(await selectionWarnings(logs, { where: so.where, from: so.from, to: so.to })), ...new Set(comparisons.flatMap((c) => c.notes))];
    if (comparisons.length === 0) warnings.push(`no rows of ${a} and ${b} to compare`);
    for (const w of warnings) out.note(`warning: ${w}`);
    // TODO(attacks): the attack-success comparison (McNemar, Newcombe, cluster bootstrap) lives in src/attacks/compare.ts; an `--attacks FILE` option can add its table here.
    if (o.json) out.json({ schema: 2, metric, k: so.k, warnings, comparisons });
    else {
      const lines: string[] = [];
      for (const c of comparisons) {
        lines.push(
          `${c.kind[0]} ${c.a} - ${c.kind[1]} ${c.b}${c.probe_set !== null ? ` (probe set ${c.probe_set})` : ""}: ${c.examples} examples in common (${c.dropped_examples} dropped), B = ${c.B}, seed ${c.seed}`,
          `interval and p: ${c.ci_info.note}`,
          textTable(c.rows.map((r) => ({ statistic: r.statistic, [c.a]: r.a, [c.b]: r.b, difference: r.difference, "95% CI": r.ci ? `${formatCell(r.ci[0])} to ${formatCell(r.ci[1])}` : "", p: r.p, "p (Holm)": r.p_holm }))),
          "",
        );
      }
      out.text(lines.join("\n"));
    }
    return 0;
  } finally {
    logs.close();
  }
}
