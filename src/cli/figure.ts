/**
 * `aligndepth figure NAME FILES... --out fig.pdf|svg|png`: one figure of the report, computed from
 * the inputs and written for a paper by `saveFigure` (headless Chromium, offline, deterministic).
 */
import { resolveInputs } from "../load/inputs";
import { InvalidInputError, UsageError } from "../errors";
import { loadTokenLogs, TokenLogs } from "../load";
import { loadAttackResults } from "../attacks/load";
import { asrByK, asrByPrefixLen, asrBySpanLen, asrTable2d } from "../attacks/asr";
import { exportFormatOf, saveFigure } from "../export/saveFigure";
import type { Figure } from "../figures/figure";
import { spreadSteps } from "../figures/figure";
import { RunColors, runColors } from "../figures/palette";
import { asrByKFigure, asrByPrefixLenFigure, asrBySpanLenFigure, asrHeatmapFigure } from "../figures/attacks";
import { compareRunsFigure } from "../figures/compareRuns";
import { cumulativeShareFigure } from "../figures/cumulativeShare";
import { earlyShareFigure } from "../figures/earlyShareOverTraining";
import { metricByPositionFigure } from "../figures/metricByPosition";
import { profileFacetsFigure, profileOverlayFigure } from "../figures/profileOverlay";
import { updateHeatmapFigure } from "../figures/updateHeatmap";
import { markPositionStart } from "../figures/positionStartNote";
import { probeSets } from "../labels";
import { compareRuns } from "../stats/compare";
import { concentrationFromUpdates, updateByStep } from "../stats/concentration";
import { positionProfile } from "../stats/positionProfile";
import { positionStart, positionStartWarnings } from "../stats/positionStart";
import { finalSteps, profileSeries } from "../stats/profileSeries";
import type { RowFilter } from "../stats/source";
import { updateProfile } from "../stats/updateProfile";
import { massByRun } from "../stats/updateMass";
import { CommandSpec, Parsed, optionList } from "./args";
import { COLOR_OPTIONS, JUDGE_OPTIONS, LOAD_OPTIONS, attackLoadOptions, MASS_OPTIONS, WHERE_OPTION, colorOptions, loadOptions, parseWhere, selectionWarnings } from "./common";
import { Output, skippedNote } from "./output";

interface Ctx {
  metric: string;
  k: number;
  bootstrap: number;
  seed: number;
  run?: string;
  where?: RowFilter;
  title?: string;
  colors: RunColors;
}

type TokenFigure = (logs: TokenLogs, c: Ctx) => Promise<Figure>;

/** Figures drawn from token logs, by the name the command takes. */
export const TOKEN_FIGURES: Record<string, { help: string; make: TokenFigure }> = {
  "by-position": {
    help: "the metric by position at up to 5 checkpoints of one run (--run, default the first)",
    make: async (logs, c) => {
      const run = c.run ?? (await logs.runs())[0];
      const steps = spreadSteps(await logs.steps(run), 5);
      const rows = await positionProfile(logs, { metric: c.metric, where: c.where, runs: [run], steps });
      return metricByPositionFigure(rows, { run, steps, metric: c.metric, title: c.title });
    },
  },
  "probe-sets": {
    help: "every run at its last checkpoint, one panel per probe set (split), on one y axis",
    make: async (logs, c) => {
      const sets = await probeSets(logs);
      const finals = await finalSteps(logs);
      const others = c.where ? Object.fromEntries(Object.entries(c.where).filter(([f]) => f !== "split")) : {};
      if (sets.length === 0) return profileOverlayFigure(await profileSeries(logs, { metric: c.metric, series: finals, where: c.where }), finals, { metric: c.metric, colors: c.colors, title: c.title });
      const panels = [];
      for (const set of sets) panels.push({ title: `split = ${set}`, rows: await profileSeries(logs, { metric: c.metric, series: finals, where: { ...others, split: set } }) });
      return profileFacetsFigure(panels, finals, { metric: c.metric, colors: c.colors, title: c.title ?? `${c.metric} by position at each run's last checkpoint` });
    },
  },
  heatmap: {
    help: "change of the metric since the first checkpoint, step x position, of one run (--run)",
    make: async (logs, c) => {
      const run = c.run ?? (await logs.runs())[0];
      const rows = (await updateByStep(logs, { metric: c.metric, where: c.where })).filter((r) => r.run === run && r.position < 256);
      return updateHeatmapFigure(rows, { metric: c.metric, title: c.title ?? `Change in ${c.metric} since the first checkpoint, ${run}` });
    },
  },
  "cumulative-share": {
    help: "cumulative share of each run's update by position, with the 50% and 90% levels",
    make: async (logs, c) => cumulativeShareFigure(massByRun(await updateProfile(logs, { metric: c.metric, where: c.where }), { k: c.k }), { metric: c.metric, colors: c.colors, title: c.title }),
  },
  "early-share": {
    help: "early share E_k of the update from the first checkpoint, over training",
    make: async (logs, c) => earlyShareFigure(concentrationFromUpdates(await updateByStep(logs, { metric: c.metric, where: c.where }), { k: c.k }), { k: c.k, metric: c.metric, colors: c.colors, title: c.title }),
  },
  compare: {
    help: "runs compared: E_k, d50/d90, final loss per probe set, with bootstrap intervals",
    make: async (logs, c) => compareRunsFigure(await compareRuns(logs, { metric: c.metric, k: c.k, bootstrap: c.bootstrap, seed: c.seed }), { k: c.k, colors: c.colors, title: c.title }),
  },
};

/** Figures drawn from attack results. */
export const ATTACK_FIGURES: Record<string, string> = {
  "asr-k": "attack success rate by prefilled tokens k, per run, with 95% intervals (Wilson, or a cluster bootstrap over examples)",
  "asr-prefix-len": "attack success rate by refusal-prefix length",
  "asr-span-len": "attack success rate by inserted span length",
  "asr-heatmap": "attack success rate over prefix_len x span_len of one run (--run, default the most varied)",
};

/** The fields each attack figure draws on its axes (records without them are not drawn). */
const ATTACK_AXES: Record<string, ReadonlyArray<"k" | "prefix_len" | "span_len">> = { "asr-k": ["k"], "asr-prefix-len": ["prefix_len"], "asr-span-len": ["span_len"], "asr-heatmap": ["prefix_len", "span_len"] };
const NAMES = [...Object.keys(TOKEN_FIGURES), ...Object.keys(ATTACK_FIGURES)];

export const figureSpec: CommandSpec = {
  name: "figure",
  summary: "Write one figure as PDF, SVG or PNG for a paper (headless Chromium, offline, same input -> same pixels).",
  usage: "aligndepth figure NAME FILES... --out fig.pdf|svg|png [--width W] [--height H] [--font-size PT] [--pixel-ratio R] [--scale 1:5] [--threshold T] [--not-judged=-1]",
  minPositionals: 2,
  details: [
    "NAME is one of (FILES are token logs, or attack results for the asr-* figures):",
    ...Object.entries(TOKEN_FIGURES).map(([n, f]) => `  ${n.padEnd(17)}${f.help}`),
    ...Object.entries(ATTACK_FIGURES).map(([n, h]) => `  ${n.padEnd(17)}${h}`),
    "The format follows --out's extension. Sizes are CSS pixels (96 per inch); PDF and SVG are vector;",
    "a PNG has --pixel-ratio image pixels per CSS pixel. --scale, --threshold and --not-judged read judge",
    "scores as `aligndepth attacks` does (METRICS 2).",
    "Needs Chromium (/usr/bin/chromium, or set CHROMIUM). Runs keep the colours of the report.",
    "  aligndepth figure cumulative-share 'data/lab/tokens-*.jsonl.gz' --out fig/cumulative.pdf --width 500 --height 320 --font-size 10",
  ].join("\n"),
  options: optionList([
    { name: "out", type: "string", help: "the file to write: .pdf, .svg or .png (required)" },
    { name: "width", type: "number", default: 700, help: "width in CSS pixels" },
    { name: "height", type: "number", default: 450, help: "height in CSS pixels" },
    { name: "font-size", type: "number", default: 12, help: "base font size (title 1.25x)" },
    { name: "pixel-ratio", type: "number", default: 2, help: "PNG only: image pixels per CSS pixel" },
    { name: "title", type: "string", help: "figure title (default the figure's own)" },
    { name: "run", type: "string", help: "the run of single-run figures (by-position, heatmap, asr-heatmap)" },
    { name: "metric", type: "string", default: "loss", help: "metric of token-log figures (loss, kl, ...)" },
    ...MASS_OPTIONS,
    ...JUDGE_OPTIONS,
    WHERE_OPTION,
    ...COLOR_OPTIONS,
    ...LOAD_OPTIONS,
  ]),
};

export async function figureCommand(p: Parsed, out: Output): Promise<number> {
  const o = p.options;
  const path = o.out as string | undefined;
  if (NAMES.includes(p.positionals[0])) {
    if (!path) throw new UsageError("figure: --out FILE is required (.pdf, .svg or .png)");
    if (!exportFormatOf(path)) throw new UsageError(`figure: --out must end in .pdf, .svg or .png, got ${JSON.stringify(path)}`);
  }
  for (const n of ["width", "height", "font-size", "pixel-ratio"]) if (!((o[n] as number) > 0)) throw new UsageError(`figure: --${n} must be > 0`);
  const fig = await figureOf(p, out);
  const r = await saveFigure(fig, path as string, { width: o.width as number, height: o.height as number, fontSize: o["font-size"] as number, pixelRatio: o["pixel-ratio"] as number });
  out.note(`wrote ${r.path} (${r.format}, ${r.width} x ${r.height} px${r.format === "png" ? ` at pixel ratio ${o["pixel-ratio"]}` : ""}, ${r.bytes} bytes)`);
  return 0;
}

/**
 * The figure `aligndepth figure NAME FILES...` draws (everything but writing it), with its notes
 * and warnings on `out` (stderr): skipped rows, not-judged records, thresholds, filters that match
 * nothing, rows that do not start at position 0 (also said in the figure, METRICS 1.4).
 * @throws UsageError for an unknown figure or a bad option; InvalidInputError for bad input.
 */
export async function figureOf(p: Parsed, out: Output): Promise<Figure> {
  const o = p.options;
  const [name, ...inputs] = p.positionals;
  if (!NAMES.includes(name)) throw new UsageError(`figure: unknown figure ${JSON.stringify(name)} (figures: ${NAMES.join(", ")})`);
  if ((o.k as number) < 1) throw new UsageError("figure: --k must be >= 1");
  if ((o.bootstrap as number) < 0) throw new UsageError("figure: --bootstrap must be >= 0");
  if (name in ATTACK_FIGURES) {
    const { files, problems } = resolveInputs(inputs);
    if (problems.length) throw new InvalidInputError(problems);
    const { records: loaded, report } = await loadAttackResults(files, attackLoadOptions(o, "figure"));
    const note = skippedNote(report);
    if (note) out.note(note);
    if (report.notJudged > 0) out.note(`${report.notJudged} record${report.notJudged === 1 ? " was" : "s were"} not judged (score ${report.notJudgedValues.join(" or ")}): left out of n`);
    for (const w of report.warnings) out.note(`warning: ${w}`);
    // --where FIELD=VALUE on attack results: run, attack or a condition field (e.g. decoding=sampled)
    const where: Record<string, string[]> = {};
    for (const [f, v] of Object.entries(parseWhere(o.where as string[] | undefined) ?? {})) where[f] = (Array.isArray(v) ? v : [v]).map(String);
    const valueOf = (r: (typeof loaded)[number], f: string): unknown => (f === "run" ? r.run : f === "attack" ? r.attack : f in r.conditions ? r.conditions[f] : (r as unknown as Record<string, unknown>)[f]);
    const records = loaded.filter((r) => Object.entries(where).every(([f, vs]) => vs.includes(String(valueOf(r, f)))));
    if (loaded.length && records.length === 0) throw new UsageError(`figure ${name}: no attack record matches --where ${Object.entries(where).map(([f, vs]) => `${f}=${vs.join("|")}`).join(" ")}`);
    // Each point (or heatmap cell) pools the records of its run, attack and axis values: a condition
    // (greedy and sampled decoding, or k on a heatmap of prefix_len x span_len) with several values
    // inside one point would be pooled without a word. Only the points drawn are checked.
    const axes = ATTACK_AXES[name];
    const drawn = records.filter((r) => axes.every((a) => r[a] !== null) && (name !== "asr-heatmap" || o.run === undefined || r.run === o.run));
    const fields = [...(["k", "prefix_len", "span_len"] as const).filter((f) => !axes.includes(f)), ...new Set(drawn.flatMap((r) => Object.keys(r.conditions)))].filter((f) => !(f in where));
    for (const f of fields) {
      const groups = new Map<string, Set<string>>();
      for (const r of drawn) {
        const key = JSON.stringify([r.run, r.attack, ...axes.map((a) => r[a])]);
        const v = valueOf(r, f);
        (groups.get(key) ?? groups.set(key, new Set()).get(key)!).add(v === null || v === undefined ? "(none)" : String(v));
      }
      const pooled = [...groups.values()].filter((vs) => vs.size > 1);
      if (pooled.length === 0) continue;
      const vals = [...new Set(pooled.flatMap((vs) => [...vs]))];
      const first = vals.find((v) => v !== "(none)") ?? vals[0];
      out.note(`warning: each ${name === "asr-heatmap" ? "cell" : "point"} pools the records with ${f} = ${vals.join(", ")}; draw one with --where ${f}=${first}`);
    }
    const attackRuns = records.map((r) => r.run);
    const colors = runColors(attackRuns, colorOptions(o, [...new Set(attackRuns)]));
    const opts = { colors, title: o.title as string | undefined };
    const fig =
      name === "asr-k" ? asrByKFigure(asrByK(records), opts)
      : name === "asr-prefix-len" ? asrByPrefixLenFigure(asrByPrefixLen(records), opts)
      : name === "asr-span-len" ? asrBySpanLenFigure(asrBySpanLen(records), opts)
      : asrHeatmapFigure(asrTable2d(records), { run: o.run as string | undefined, title: opts.title });
    if (fig.data.length === 0) throw new UsageError(`figure ${name}: the attack results have no rows with the fields this figure needs`);
    return fig;
  }
  const logs = await loadTokenLogs(inputs, loadOptions(o));
  try {
    const note = skippedNote(logs.report);
    if (note) out.note(note);
    const runs = await logs.runs();
    for (const w of await selectionWarnings(logs, { where: parseWhere(o.where as string[] | undefined) })) out.note(`warning: ${w}`);
    if (o.run !== undefined && !runs.includes(o.run as string)) throw new UsageError(`figure: --run ${JSON.stringify(o.run)} is not in the logs (runs: ${runs.join(", ")})`);
    const run = o.run as string | undefined;
    const ctx: Ctx = {
      metric: logs.metric(o.metric as string),
      k: o.k as number,
      bootstrap: o.bootstrap as number,
      seed: o.seed as number,
      run: o.run as string | undefined,
      where: parseWhere(o.where as string[] | undefined),
      title: o.title as string | undefined,
      colors: runColors(runs, colorOptions(o, runs)),
    };
    // METRICS 1.4: rows that do not start at position 0 are said on stderr and in the figure itself.
    // The single-run figures look at their run; `compare` does not apply --where.
    const single = name === "by-position" || name === "heatmap";
    const scope = { metric: ctx.metric, where: name === "compare" ? undefined : ctx.where, runs: single ? [run ?? runs[0]] : undefined };
    for (const w of await positionStartWarnings(logs, scope)) out.note(`warning: ${w}`);
    const firstWhere = Object.entries(scope.where ?? {}).map(([f, v]) => `${f}=${Array.isArray(v) ? v[0] : v}`)[0];
    const hint = firstWhere ? `load with --span ${firstWhere} to re-base` : undefined;
    return markPositionStart(await TOKEN_FIGURES[name].make(logs, ctx), await positionStart(logs, scope), hint);
  } finally {
    logs.close();
  }
}
