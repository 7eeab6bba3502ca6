import { UsageError } from "../errors";
import { loadTokenLogs } from "../load";
import { summary } from "../stats/summary";
import { textTable } from "../table";
import { CommandSpec, Parsed } from "./args";
import { LOAD_OPTIONS, MASS_OPTIONS, WHERE_OPTION, loadFacts, loadOptions, parseWhere, selectionWarnings } from "./common";
import { positionStartWarnings } from "../stats/positionStart";
import { Output, skippedNote } from "./output";

export const summarySpec: CommandSpec = {
  name: "summary",
  summary: "Where the update of each run concentrates: early share E_k, depths d50 and d90, with bootstrap intervals.",
  usage: "aligndepth summary FILES... [--metric loss] [--from STEP] [--to STEP] [--k 5] [--min-pairs 1] [--bootstrap 1000] [--seed 0] [--where FIELD=VALUE]... [--json]",
  minPositionals: 1,
  details: "The update is the mean over paired examples of (metric at --to) - (metric at --from), per position;\nfrom/to default to each run's first and last step. See docs/METRICS.md.",
  options: [
    { name: "metric", type: "string", default: "loss", help: "numeric column (loss, kl, grad_norm, ...)" },
    { name: "from", type: "int", help: "first step (default: each run's first)" },
    { name: "to", type: "int", help: "last step (default: each run's last)" },
    ...MASS_OPTIONS,
    { name: "min-pairs", type: "int", default: 1, help: "use positions with at least this many pairs" },
    { name: "run", type: "repeat", help: "only this run (repeatable)" },
    { name: "json", type: "flag", help: "print {\"metric\", \"k\", \"runs\": [...], \"skipped\"?, \"warnings\"?}" },
    WHERE_OPTION,
    ...LOAD_OPTIONS,
  ],
};

export async function summaryCommand(p: Parsed, out: Output): Promise<number> {
  const o = p.options;
  for (const name of ["k", "min-pairs", "bootstrap", "from", "to"])
    if (o[name] !== undefined && (o[name] as number) < 0) throw new UsageError(`summary: --${name} must be >= 0`);
  if ((o.k as number) < 1) throw new UsageError("summary: --k must be >= 1");
  const logs = await loadTokenLogs(p.positionals, loadOptions(o));
  try {
    const metric = logs.metric(o.metric as string);
    const where = parseWhere(o.where as string[] | undefined);
    const warnings = await selectionWarnings(logs, { where, from: o.from as number | undefined, to: o.to as number | undefined, runs: o.run as string[] | undefined });
    for (const w of warnings) out.note(`warning: ${w}`);
    const runs = await summary(logs, {
      metric,
      from: o.from as number | undefined,
      to: o.to as number | undefined,
      k: o.k as number,
      minPairs: o["min-pairs"] as number,
      bootstrap: o.bootstrap as number,
      seed: o.seed as number,
      runs: o.run as string[] | undefined,
      where,
    });
    const note = skippedNote(logs.report);
    if (note) out.note(note);
    const startWarnings = await positionStartWarnings(logs, { metric, where: parseWhere(o.where as string[] | undefined), runs: o.run as string[] | undefined });
    for (const w of startWarnings) out.note(`warning: ${w}`);
    warnings.push(...startWarnings);
    if (o.json) out.json({ metric, k: o.k, runs, warnings, ...loadFacts(logs.report), ...(logs.report.recordsSkipped ? { skipped: { records: logs.report.recordsSkipped, by_reason: logs.report.skipped } } : {}) });
    else out.text(`update of ${metric} between each run's steps (k = ${o.k}, ${o.bootstrap} bootstrap replicates, seed ${o.seed})\n${textTable(runs as unknown as Record<string, unknown>[])}`);
    return 0;
  } finally {
    logs.close();
  }
}
