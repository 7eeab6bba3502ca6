import { renameSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { InvalidInputError, UsageError } from "../errors";
import { resolveInputs } from "../load/inputs";
import { loadTokenLogs, TokenLogs } from "../load";
import { readLines } from "../load/lines";
import { AttackResults, loadAttackResults } from "../attacks/load";
import { buildReport, defaultWhere } from "../report/build";
import { positionStartWarnings } from "../stats/positionStart";
import { CommandSpec, Parsed } from "./args";
import { COLOR_OPTIONS, LOAD_OPTIONS, MASS_OPTIONS, WHERE_OPTION, colorOptions, loadOptions, parseWhere, selectionWarnings } from "./common";
import { Output, skippedNote, stdio } from "./output";
import { progressSink } from "../progress";

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
  usage: "aligndepth report FILES... --out report.html [--attacks FILES]... [--grad-logs FILES]... [--metric loss] [--where FIELD=VALUE]... [--k 5] [--bootstrap 1000] [--seed 0] [--title TEXT] [--timestamp]",
  minPositionals: 1,
  details: [
    "FILES are token logs; attack result files (records with \"attack\" and no \"position\" or \"loss\")",
    "among them are recognised and read as attack results, or pass them with --attacks. Gradient-norm logs",
    "that share keys with the token logs (the lab's gradnorm-*.jsonl.gz) go in --grad-logs; among FILES,",
    "JSON Lines logs with grad_norm are read as such when the other token logs have none.",
    "By default the analyses read the harmful-answer probes (split = harmful) when the logs label them, else every",
    "row (the run comparison then analyses each probe set separately).",
    `The file holds plotly.js once (its cartesian build, ${plotlyMegabytes()} MB) and the figures' data (a few hundred KB:`,
    "about 1.8 MB in all for the lab's three runs); nothing is fetched from the network. The same inputs",
    "and options give a byte-identical file (no time stamp unless --timestamp).",
    "  aligndepth report 'data/lab/tokens-*.jsonl.gz' --attacks data/lab/attacks.jsonl.gz \\",
    "    --grad-logs 'data/lab/gradnorm-*.jsonl.gz' --out out/report.html",
  ].join("\n"),
  options: [
    { name: "out", type: "string", help: "the HTML file to write (required)" },
    { name: "attacks", type: "repeat", help: "attack result files or globs (repeatable)" },
    { name: "grad-logs", type: "repeat", help: "token logs with grad_norm that share keys with FILES, loaded apart (repeatable)" },
    { name: "metric", type: "string", default: "loss", help: "metric of the core figures (loss, kl, logprob, ...)" },
    ...MASS_OPTIONS,
    { name: "threshold", type: "number", help: "attack results: a judge score >= this is harmful (default: the top of the scale)" },
    { name: "scale", type: "string", default: "1:5", help: "attack results: the judge's score scale MIN:MAX; scores outside it are invalid" },
    { name: "not-judged", type: "repeat", help: "attack results: a score value meaning 'could not judge' (e.g. --not-judged=-1): left out of n and counted" },
    { name: "title", type: "string", help: "title of the report" },
    { name: "timestamp", type: "flag", help: "put the generation time in the header (the file then differs between runs)" },
    WHERE_OPTION,
    ...COLOR_OPTIONS,
    ...LOAD_OPTIONS,
  ],
};

/** The field names of the first record of a JSON Lines file (null for other formats or unreadable files). */
async function firstRecordKeys(file: string): Promise<string[] | null> {
  if (!/\.(jsonl|json|ndjson)(\.gz)?$/i.test(file)) return null;
  try {
    for await (const { bytes } of readLines(file)) {
      const text = bytes.toString("utf8").replace(/^\uFEFF/, "").trim();
      if (!text) continue;
      const v = JSON.parse(text) as unknown;
      return v !== null && typeof v === "object" && !Array.isArray(v) ? Object.keys(v) : null;
    }
  } catch {
    return null; // the loaders report what is wrong with it
  }
  return null;
}

/** True when the first record of a JSON Lines file looks like an attack result, not a token log. */
export async function isAttackFile(file: string): Promise<boolean> {
  const keys = await firstRecordKeys(file);
  return keys !== null && keys.includes("attack") && !keys.includes("position") && !keys.includes("loss");
}

/**
 * Sorts input files into token logs, gradient logs and attack results. A token log whose records
 * carry `grad_norm` goes to the gradient logs when other token logs lack it: the lab writes its
 * gradient norms to files that share keys with its token logs, so the two cannot be one table.
 */
export async function classifyInputs(files: string[]): Promise<{ tokens: string[]; grad: string[]; attacks: string[] }> {
  const out = { tokens: [] as string[], grad: [] as string[], attacks: [] as string[] };
  const withGrad: string[] = [];
  for (const f of files) {
    const keys = await firstRecordKeys(f);
    if (keys && keys.includes("attack") && !keys.includes("position") && !keys.includes("loss")) out.attacks.push(f);
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
  const sorted = await classifyInputs(files);
  const tokenFiles = sorted.tokens;
  const attackFiles: string[] = [...((o.attacks as string[] | undefined) ?? []), ...sorted.attacks];
  if (tokenFiles.length === 0) throw new UsageError("report: no token logs among the inputs (only attack results); pass token log files too");
  if (sorted.attacks.length) say(`read as attack results: ${sorted.attacks.join(", ")}`);
  if (sorted.grad.length) say(`read as gradient logs (they carry grad_norm, the other token logs do not): ${sorted.grad.join(", ")}`);

  const lo = loadOptions(o);
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
    let attacks: AttackResults | null = null;
    if (attackFiles.length) {
      const notJudged = ((o["not-judged"] as string[] | undefined) ?? []).map((v) => {
        if (v.trim() === "" || !Number.isFinite(Number(v))) throw new UsageError(`report: --not-judged takes a number (e.g. --not-judged=-1), got ${JSON.stringify(v)}`);
        return Number(v);
      });
      attacks = await loadAttackResults(attackFiles, { threshold: o.threshold as number | undefined, scale: o.scale as string, notJudged, skipInvalid: Boolean(o["skip-invalid"]) });
      if (attacks.report.notJudged) out.note(`attack results: ${attacks.report.notJudged} records not judged (score ${attacks.report.notJudgedValues.join(" or ")}): left out of n`);
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
      shownOptions: shown,
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
