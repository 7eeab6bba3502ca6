import { loadTokenLogs } from "../load";
import { positionProfile } from "../stats/positionProfile";
import { positionStartWarnings } from "../stats/positionStart";
import { textTable } from "../table";
import { CommandSpec, Parsed } from "./args";
import { LOAD_OPTIONS, WHERE_OPTION, loadFacts, loadOptions, parseWhere, selectionWarnings } from "./common";
import { Output, skippedNote } from "./output";

export const profileSpec: CommandSpec = {
  name: "profile",
  summary: "Position profile: n, mean, sd and se of a metric for every (run, step, position).",
  usage: "aligndepth profile FILES... [--metric loss] [--where FIELD=VALUE]... [--json]",
  minPositionals: 1,
  options: [
    { name: "metric", type: "string", default: "loss", help: "numeric column to profile (loss, kl, grad_norm, ...)" },
    { name: "json", type: "flag", help: "print {\"metric\", \"rows\": [{run, step, position, n, mean, sd, se}], \"skipped\"?, \"warnings\"?}" },
    WHERE_OPTION,
    ...LOAD_OPTIONS,
  ],
};

export async function profileCommand(p: Parsed, out: Output): Promise<number> {
  const logs = await loadTokenLogs(p.positionals, loadOptions(p.options));
  try {
    const metric = p.options.metric as string;
    const where = parseWhere(p.options.where as string[] | undefined);
    const selection = await selectionWarnings(logs, { where });
    const rows = await positionProfile(logs, { metric, where });
    const note = skippedNote(logs.report);
    if (note) out.note(note);
    const warnings = [...selection, ...(await positionStartWarnings(logs, { metric, where }))];
    for (const w of warnings) out.note(`warning: ${w}`);
    // The rows this analysis used: those where the metric was measured (METRICS 1.2), after --where.
    const rowsUsed = rows.reduce((a, r) => a + r.n, 0);
    if (p.options.json)
      out.json({ metric, rows_used: rowsUsed, rows_loaded: logs.report.tokens, rows, warnings, ...loadFacts(logs.report), ...(logs.report.recordsSkipped ? { skipped: { records: logs.report.recordsSkipped, by_reason: logs.report.skipped } } : {}) });
    else out.text(`position profile of ${metric}\n${textTable(rows as unknown as Record<string, unknown>[])}`);
    return 0;
  } finally {
    logs.close();
  }
}
