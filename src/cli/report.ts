import { renameSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { InvalidInputError, UsageError } from "../errors";
import { detectFormat, otherRecordKind, peekFields, resolveInputs } from "../load/inputs";
import { loadTokenLogs, TokenLogs } from "../load";
import { AttackResults, loadAttackResults } from "../attacks/load";
import { buildReport, defaultWhere } from "../report/build";
import { positionStartWarnings } from "../stats/positionStart";
import { CommandSpec, Parsed, optionList } from "./args";
import { ATTACK_OPTIONS, COLOR_OPTIONS, LOAD_OPTIONS, attackLoadOptions, MASS_OPTIONS, WHERE_OPTION, colorOptions, loadOptions, parseWhere, selectionWarnings } from "./common";
import { Output, notJudgedNote, skippedNote, stdio } from "./output";
import { progressSink } from "../progress";
import { DynamicsLogs, dynamicsKind, loadDynamicsLogs } from "../dynamics/load";

/** Size of the plotly.js build a report inlines, in MB with one decimal (for the help text). */
export function plotlyMegabytes(): string {
  try {
    return (statSync(require.resolve("plotly.js-cartesian-dist-min")).size / 1e6).toFixed(1);
  } catch {
    return "1.5";
  }
}

export const reportSpec: CommandSpec = {
  name: "report",
  summary: "One self-contained HTML report (every figure and table of the notebook tour) that opens offline.",
  usage: "aligndepth report FILES... --out report.html [--attacks FILES]... [--grad-logs FILES]... [--dynamics FILES]... [--metric loss] [--where FIELD=VALUE]... [--k 5] [--bootstrap 1000] [--seed 0] [--title TEXT] [--timestamp]",
  minPositionals: 1,
  details: [
    "FILES are token logs; attack result files (records with \"attack\" and no \"position\" or \"loss\")",
    "among them are recognised and read as attack results, or pass them with --attacks. Gradient-norm logs",
    "that share keys with the token logs (the lab's gradnorm-*.jsonl.gz) go in --grad-logs; among FILES,",
    "JSON Lines logs with grad_norm are read as such when the other token logs have none.",
    "Learning-dynamics logs (influence-*, train-gradient-*, probe-change-*: docs/DYNAMICS.md) among FILES, or",
    "passed with --dynamics, add a section: the influence heatmaps, S_k over training and the check of the",
    "first-order approximation.",
    "By default the analyses read the harmful-answer probes (split = harmful) when the logs label them, else every",
    "row (the run comparison then analyses each probe set separately).",
    `The file holds plotly.js once (its cartesian build, ${plotlyMegabytes()} MB) and the figures' data (a few hundred KB:`,
    "about 1.8 MB in all for the lab's three runs); nothing is fetched from the network. The same inputs",
    "and options give a byte-identical file (no time stamp unless --timestamp).",
    "Replicate runs (seeds): --recipe-pattern groups them into recipes (else the logs' recipe label does);",
    "tables and figures then show recipes (seed means, intervals over seeds and examples).",
    "  aligndepth report 'data/lab/tokens-*.jsonl.gz' --attacks data/lab/attacks.jsonl.gz \\",
    "    --grad-logs 'data/lab/gradnorm-*.jsonl.gz' --recipe-pattern '^(?<recipe>.+)-seed\\d+$' --out out/report.html",
  ].join("\n"),
  options: optionList([
    { name: "out", type: "string", help: "the HTML file to write (required)" },
    ...ATTACK_OPTIONS,
    { name: "grad-logs", type: "repeat", help: "token logs with grad_norm that share keys with FILES, loaded apart (repeatable)" },
    { name: "dynamics", type: "repeat", help: "influence, train-gradient and probe-change logs for the learning-dynamics section (repeatable)" },
    { name: "metric", type: "string", default: "loss", help: "metric of the core figures (loss, kl, logprob, ...)" },
    ...MASS_OPTIONS,
    { name: "title", type: "string", help: "title of the report" },
    { name: "timestamp", type: "flag", help: "put the generation time in the header (the file then differs between runs)" },
    WHERE_OPTION,
    ...COLOR_OPTIONS,
    ...LOAD_OPTIONS,
  ]),
};

/** The field names of a JSON Lines file's first record, as the token loader reads them (null for other formats or unreadable files). */
async function jsonLinesFields(file: string): Promise<string[] | null> {
  if (detectFormat(file) !== "jsonl") return null; // the attack loader reads JSON Lines only
  return peekFields(file, "jsonl", async () => []);
}

/**
 * True when a JSON Lines file holds attack results, not token logs: the token loader's recognition
 * of other record kinds (load/inputs.ts `otherRecordKind`, METRICS 1.3). `mapped`: the columns a
 * `--columns` mapping names (the user's, never markers of another kind).
 */
export async function isAttackFile(file: string, mapped: string[] = []): Promise<boolean> {
  const fields = await jsonLinesFields(file);
  return fields !== null && otherRecordKind(fields, mapped) === "attack results";
}

/**
 * Sorts input files into token logs, gradient logs and attack results (recognised as the token
 * loader does, see `isAttackFile`). A token log whose records carry `grad_norm` goes to the
 * gradient logs when other token logs lack it: the lab writes its gradient norms to files that
 * share keys with its token logs, so the two cannot be one table.
 */
export async function classifyInputs(files: string[], mapped: string[] = []): Promise<{ tokens: string[]; grad: string[]; attacks: string[] }> {
  const out = { tokens: [] as string[], grad: [] as string[], attacks: [] as string[] };
  const withGrad: string[] = [];
  for (const f of files) {
    const keys = await jsonLinesFields(f);
    if (keys && otherRecordKind(keys, mapped) === "attack results") out.attacks.push(f);
    else if (keys && keys.includes("grad_norm")) withGrad.push(f);
    else out.tokens.push(f);
  }
  if (out.tokens.length) out.grad.push(...withGrad);
  else out.tokens.push(...withGrad);
  return out;
}

export async function reportCommand(p: Parsed, out: Output): Promise<number> {
  const o = p.options;
  const outPath = o.out as string | undefined;
  if (!outPath) throw new UsageError("report: --out FILE is required (the HTML file to write)");
  if ((o.k as number) < 1) throw new UsageError("report: --k must be >= 1");
  if ((o.bootstrap as number) < 0) throw new UsageError("report: --bootstrap must be >= 0");
  const where = parseWhere(o.where as string[] | undefined);
  const progress = !o["no-progress"];
  const say = (s: string) => progress && out.note(`[report] ${s}`);
  // In a terminal, one cli-progress bar over the sections; elsewhere (pipes, CI, tests) a note per section.
  const bar = progress && process.stderr.isTTY && out === stdio ? progressSink("auto", 0) : null;

  // Split the positionals into token logs and attack results.
  const { files, problems } = resolveInputs(p.positionals);
  if (problems.length) throw new InvalidInputError(problems);
  const lo = loadOptions(o);
  // Learning-dynamics logs are told apart by their file-name prefix (docs/DYNAMICS.md).
  const dynamicsFiles = [...((o.dynamics as string[] | undefined) ?? []), ...files.filter((f) => dynamicsKind(f) !== null)];
  const sorted = await classifyInputs(files.filter((f) => dynamicsKind(f) === null), Object.values(lo.columns ?? {}));
  const tokenFiles = sorted.tokens;
  const attackFiles: string[] = [...((o.attacks as string[] | undefined) ?? []), ...sorted.attacks];
  if (tokenFiles.length === 0) throw new UsageError("report: no token logs among the inputs (only attack results); pass token log files too");
  if (sorted.attacks.length) say(`read as attack results: ${sorted.attacks.join(", ")}`);
  if (sorted.grad.length) say(`read as gradient logs (they carry grad_norm, the other token logs do not): ${sorted.grad.join(", ")}`);

  let logs: TokenLogs | undefined;
  let grad: TokenLogs | undefined;
  try {
    logs = await loadTokenLogs(tokenFiles, lo);
    const note = skippedNote(logs.report);
    if (note) out.note(`token logs: ${note}`);
    for (const w of await selectionWarnings(logs, { where })) out.note(`warning: ${w}`);
    const gradInputs = [...((o["grad-logs"] as string[] | undefined) ?? []), ...sorted.grad];
    if (gradInputs.length) {
      grad = await loadTokenLogs(gradInputs, lo);
      const gnote = skippedNote(grad.report);
      if (gnote) out.note(`gradient logs: ${gnote}`);
    }
    let dynamics: DynamicsLogs | undefined;
    if (dynamicsFiles.length) {
      dynamics = await loadDynamicsLogs(dynamicsFiles, { skipInvalid: Boolean(o["skip-invalid"]) });
      if (dynamics.report.recordsSkipped) out.note(`learning-dynamics logs: skipped ${dynamics.report.recordsSkipped} of ${dynamics.report.records} records (${Object.entries(dynamics.report.skipped).map(([r, n]) => `${n} ${r}`).join(", ")})`);
    }
    let attacks: AttackResults | null = null;
    if (attackFiles.length) {
      attacks = await loadAttackResults(attackFiles, attackLoadOptions(o, "report"));
      const njNote = notJudgedNote(attacks.report);
      if (njNote) out.note(`attack results: ${njNote}`);
      for (const w of attacks.report.warnings) out.note(`warning: attack results: ${w}`);
      const anote = skippedNote(attacks.report);
      if (anote) out.note(`attack results: ${anote}`);
    }
    const shown: Array<[string, string]> = [
      ["--metric", String(o.metric)],
      ["--where", where ? (o.where as string[]).join(", ") : "(default)"],
      ["--k", String(o.k)],
      ["--bootstrap", String(o.bootstrap)],
      ["--seed", String(o.seed)],
      ["--skip-invalid", o["skip-invalid"] ? "yes" : "no"],
    ];
    if (attacks) shown.push(["--threshold", String(attacks.report.threshold)], ["--scale", `${attacks.report.scale[0]}:${attacks.report.scale[1]}`], ["--not-judged", attacks.report.notJudgedValues.length ? attacks.report.notJudgedValues.join(", ") : "(none)"]);
    if (o["recipe-pattern"] !== undefined) shown.push(["--recipe-pattern", String(o["recipe-pattern"])]);
    if (o.ablation) shown.push(["--ablation", (o.ablation as string[]).join(", ")]);
    // The load options as given, and the position-0 warning (METRICS 1.4) in the header and on stderr.
    for (const name of ["columns", "mask", "unscored", "span"]) {
      const v = o[name] as string | string[] | undefined;
      if (v !== undefined && (!Array.isArray(v) || v.length)) shown.push([`--${name}`, Array.isArray(v) ? v.join(" ") : v]);
    }
    const analysed = where ?? (await defaultWhere(logs)).where;
    for (const w of await positionStartWarnings(logs, { metric: o.metric as string, where: analysed })) {
      out.note(`warning: ${w}`);
      shown.push(["warning", w]);
    }
    const html = await buildReport(logs, attacks, {
      title: o.title as string | undefined,
      metric: o.metric as string,
      where,
      k: o.k as number,
      bootstrap: o.bootstrap as number,
      seed: o.seed as number,
      timestamp: o.timestamp ? new Date().toISOString() : undefined,
      gradLogs: grad,
      dynamics,
      shownOptions: shown,
      recipePattern: o["recipe-pattern"] as string | undefined,
      colorOptions: colorOptions(o, [...(await logs.runs()), ...(grad ? await grad.runs() : []), ...(attacks?.records.map((r) => r.run) ?? [])]),
      onSection: (name, i, n) => (bar ? bar.update("report", (i - 1) / n, { stage: `${name} (${i}/${n})` }) : say(`${name} (${i}/${n})`)),
    });
    bar?.update("report", 1, { stage: "done" });
    bar?.done();
    // Write next to the target and rename, so a failed run never leaves half a report.
    const tmp = join(dirname(outPath), `.${basename(outPath)}.tmp-${process.pid}`);
    writeFileSync(tmp, html);
    renameSync(tmp, outPath);
    out.note(`wrote ${outPath} (${(Buffer.byteLength(html) / 1e6).toFixed(1)} MB)`);
    return 0;
  } finally {
    logs?.close();
    grad?.close();
  }
}
