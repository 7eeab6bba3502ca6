/**
 * The standalone HTML report: every figure and table of the notebook tour for a set of token logs
 * (and attack results), in one file that opens offline.
 *
 * `buildReport(logs, attacks, options)` runs the analyses (the only step that reads the engine) and
 * hands the results to the pure section writers in `sections.ts`. The output is deterministic: the
 * same inputs and options give the same bytes (seeded bootstrap, stable figure ids, rounded
 * numbers, no time stamp unless asked for). Its size does not grow with the token rows: figures are
 * drawn from aggregates (checkpoints and positions capped, lines downsampled) and the token view
 * shows a few sequences.
 */
import type { DuckDBValue } from "@duckdb/node-api";
import { AligndepthError } from "../errors";
import type { LoadReport, TokenLogs } from "../load";
import { sqlIdent } from "../load/engine";
import { describeAsr, describeAttackComparison, describeConcentration, describeOverlay, describeProfileChange, describeSummary, describeUpdateByStep, compareConcentration } from "../describe";
import { metricByPositionSliderFigure } from "../figures/metricByPositionSlider";
import { Figure, spreadSteps } from "../figures/figure";
import { metricByPositionFigure } from "../figures/metricByPosition";
import { updateHeatmapFigure } from "../figures/updateHeatmap";
import { cumulativeShareFigure } from "../figures/cumulativeShare";
import { earlyShareFigure } from "../figures/earlyShareOverTraining";
import { markPositionStart } from "../figures/positionStartNote";
import { positionStart } from "../stats/positionStart";
import { asrByKFigure, asrByPrefixLenFigure, asrBySpanLenFigure, asrHeatmapFigure } from "../figures/attacks";
import type { AttackResults } from "../attacks/load";
import { asrByK, asrByPrefixLen, asrBySpanLen, asrTable2d, attackSuccess } from "../attacks/asr";
import { conditionLabel } from "../attacks/conditions";
import { positionProfile } from "../stats/positionProfile";
import { updateProfile } from "../stats/updateProfile";
import { massByRun } from "../stats/updateMass";
import { concentrationFromUpdates, updateByStep } from "../stats/concentration";
import { summary } from "../stats/summary";
import { RowFilter, filteredSource } from "../stats/source";
import { compareRuns, RunComparison } from "../stats/compare";
import { compareUpdates } from "../stats/updateComparison";
import type { PairedComparison } from "../stats/pairedComparison";
import { compareRunsFigure } from "../figures/compareRuns";
import { profileFacetsFigure, profileOverlayFigure } from "../figures/profileOverlay";
import { RunColorOptions, RunColors, runColors } from "../figures/palette";
import { probeSets } from "../labels";
import { finalSteps, gradientMetrics, profileSeries } from "../stats/profileSeries";
import { exampleTokens } from "../stats/tokens";
import { recipeProfile, recipeSeries, recipeUpdateByStep } from "../stats/recipeProfile";
import { tokenViewHtml } from "../figures/tokenView";
import type { RunSummary } from "../stats/summary";
import { HeaderFile, appendixSection, figureBlock, headerSection, note, section, tableBlock } from "./sections";
import { reportPage } from "./page";
import type { DynamicsLogs } from "../dynamics/load";
import { dynamicsHeaderFiles, dynamicsSection } from "./dynamicsSection";
import { recipeAttackBlocks, recipeSummaryBlock, reportRecipes } from "./recipes";

export interface ReportOptions {
  title?: string;
  /** Metric of the core figures (default `loss`). */
  metric?: string;
  /**
   * Rows to analyse. Default: the harmful-answer probes (`split = harmful`) when the logs have a
   * `split` label with that value, otherwise every row (the comparison table then analyses each probe
   * set separately). Pass `{}` for every row.
   */
  where?: RowFilter;
  /** Early share cut-off (default 5). */
  k?: number;
  /** Bootstrap replicates of the comparison table's intervals (default 1000; 0 for none). */
  bootstrap?: number;
  seed?: number;
  /** Put this time stamp in the header (default none: the file is then byte-identical across runs). */
  timestamp?: string;
  /** Token logs with a gradient-norm column, loaded apart from the main logs because they share keys. */
  gradLogs?: TokenLogs;
  /** The options to list in the header as the user gave them (e.g. the command line). */
  shownOptions?: Array<[string, string]>;
  /** Called before each section, for progress on long inputs. */
  onSection?: (name: string, index: number, total: number) => void;
  /** Caps that keep the file small on large logs. */
  limits?: Partial<ReportLimits>;
  /**
   * How run colours are assigned (`runColors` options): recipes (`recipeOf`, e.g. from
   * `groupRecipes`) share a colour with their seeds drawn thin, ablations are dashed. The map is
   * always made from every run of the token logs, gradient logs and attack results.
   */
  colorOptions?: RunColorOptions;
  /** Learning-dynamics logs (`loadDynamicsLogs`): adds the section of `dynamicsSection.ts` (METRICS 7). */
  dynamics?: DynamicsLogs;
  /**
   * Replicate runs (METRICS.md 3.7): a regular expression over run names with a named group
   * `recipe` (e.g. `^(?<recipe>.+)-seed\\d+$`). Without it, the token logs' `recipe` label groups
   * their runs. When some recipe has several runs, tables and figures show recipes (seed means with
   * intervals over seeds) and per-run lines are coloured by recipe.
   */
  recipePattern?: string;
}

export interface ReportLimits {
  /** Checkpoints (rows) in the step x position heatmap. Default 60. */
  heatmapSteps: number;
  /** Positions (columns) in the heatmap. Default 256. */
  heatmapPositions: number;
  /** Checkpoints drawn in each metric-by-position figure. Default 5. */
  profileSteps: number;
  /** Checkpoints (slider stops) in the checkpoint-by-checkpoint figures, and runs (or recipes) that get one. Defaults 20, 8. */
  sliderSteps: number;
  sliderRuns: number;
  /** Positions drawn per line in the profile figures (all of the first 64, then evenly spaced). Default 400. */
  profilePositions: number;
  /** Sequences per run in the token view, runs in it (the first seed of each recipe with replicate runs), and tokens per sequence. Defaults 2, 6, 80. */
  tokenExamples: number;
  tokenRuns: number;
  tokenPositions: number;
}

const DEFAULT_LIMITS: ReportLimits = { heatmapSteps: 60, heatmapPositions: 256, profileSteps: 5, sliderSteps: 20, sliderRuns: 8, profilePositions: 400, tokenExamples: 2, tokenRuns: 6, tokenPositions: 80 };

// eslint-disable-next-line @typescript-eslint/no-var-requires
const VERSION: string = require("../../package.json").version;

/**
 * The default selection: the harmful-answer probes (`split = harmful`) when the logs label them (where
 * shallow alignment shows, METRICS.md 6: on refusal probes the update sits near its headroom reference
 * for every recipe), else every row, with the comparison table per probe set when there is a `split`.
 */
export async function defaultWhere(logs: TokenLogs): Promise<{ where: RowFilter | undefined; text: string }> {
  if (logs.labels.includes("split")) {
    const rows = await logs.engine.rows<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM (SELECT 1 FROM ${logs.table} WHERE CAST(split AS VARCHAR) = 'harmful' LIMIT 1)`);
    if (Number(rows[0].n) > 0) return { where: { split: "harmful" }, text: "split = harmful (probes whose answer alignment must change; the default when the logs label them)" };
    return { where: undefined, text: "all rows (the run comparison analyses each probe set, split, separately)" };
  }
  return { where: undefined, text: "all rows" };
}

function whereText(where: RowFilter): string {
  const parts = Object.entries(where).map(([k, v]) => `${k} = ${Array.isArray(v) ? v.join(" or ") : v}`);
  return parts.length ? parts.join(" and ") : "all rows";
}

type Counts = { runs: number; steps: number; examples: number; tokens: number };

async function countsOf(logs: TokenLogs, where: RowFilter | undefined): Promise<Counts> {
  const params: Record<string, DuckDBValue> = {};
  const src = filteredSource(logs, where, params);
  const [r] = await logs.engine.rows<Counts>(
    `SELECT count(DISTINCT run)::BIGINT AS runs, count(DISTINCT step)::BIGINT AS steps, count(DISTINCT (run, example))::BIGINT AS examples, count(*)::BIGINT AS tokens FROM ${src}`,
    params,
  );
  return { runs: Number(r.runs), steps: Number(r.steps), examples: Number(r.examples), tokens: Number(r.tokens) };
}

/**
 * Keeps the rows of at most `max` positions: every one of the first 64 (where shallow updates live),
 * then evenly spaced ones up to the last position (always kept).
 */
export function thinPositions<T extends { position: number }>(rows: T[], max: number): T[] {
  const positions = [...new Set(rows.map((r) => r.position))].sort((a, b) => a - b);
  if (positions.length <= max) return rows;
  const head = positions.filter((p) => p < 64).slice(0, Math.floor(max / 2));
  const tail = positions.slice(head.length);
  const room = max - head.length;
  const keep = new Set(head);
  for (let i = 0; i < room; i++) keep.add(tail[Math.round((i * (tail.length - 1)) / Math.max(1, room - 1))]);
  return rows.filter((r) => keep.has(r.position));
}

/** The smallest and largest finite y value of a figure's traces (bands included), or null. */
function yExtent(figures: readonly Figure[]): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const f of figures)
    for (const t of f.data) {
      const y = (t as { y?: unknown }).y;
      if (!Array.isArray(y)) continue;
      for (const v of y) if (typeof v === "number" && Number.isFinite(v)) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
    }
  return Number.isFinite(lo) ? [lo, hi] : null;
}

/**
 * Several figures of the same shape, one per run, as one figure with a dropdown over runs. The y
 * axis is fixed to the range over ALL runs (5% padding), so that switching runs does not rescale it
 * and heights compare across runs.
 */
export function runDropdown(figures: Array<{ run: string; figure: Figure }>): Figure {
  if (figures.length === 1) return figures[0].figure;
  const data: Array<Record<string, unknown>> = [];
  const owner: number[] = [];
  figures.forEach((f, i) =>
    f.figure.data.forEach((t) => {
      data.push({ ...t, visible: i === 0 });
      owner.push(i);
    }),
  );
  const titleOf = (f: Figure) => ((f.layout.title as { text?: string } | undefined)?.text ?? "");
  const ext = yExtent(figures.map((f) => f.figure));
  const first = figures[0].figure.layout;
  const yaxis = { ...((first.yaxis as Record<string, unknown> | undefined) ?? {}) };
  if (ext && yaxis.type !== "log") {
    const pad = (ext[1] - ext[0]) * 0.05 || Math.abs(ext[0]) * 0.05 || 1;
    yaxis.range = [ext[0] - pad, ext[1] + pad];
    yaxis.autorange = false;
  }
  const layout: Record<string, unknown> = {
    ...first,
    yaxis,
    updatemenus: [
      {
        type: "dropdown",
        x: 1,
        xanchor: "right",
        y: 1.15,
        yanchor: "top",
        buttons: figures.map((f, i) => ({
          label: f.run,
          method: "update",
          args: [{ visible: owner.map((o) => o === i) }, { "title.text": titleOf(f.figure) }],
        })),
      },
    ],
  };
  return { data, layout };
}

/** The examples of the token view: the first few (by id) of each run that have the metric at its first and last step. */
async function tokenViewExamples(logs: TokenLogs, metric: string, where: RowFilter | undefined, limits: ReportLimits, only?: string[]): Promise<Array<{ run: string; example: string; from: number; to: number }>> {
  const m = sqlIdent(metric);
  const params: Record<string, DuckDBValue> = {};
  const src = filteredSource(logs, only ? { ...(where ?? {}), run: only } : where, params);
  params.nex = limits.tokenExamples;
  params.nruns = limits.tokenRuns;
  return logs.engine.rows<{ run: string; example: string; from: number; to: number }>(
    `WITH b AS (SELECT run, min(step) AS f, max(step) AS l FROM ${src} WHERE ${m} IS NOT NULL GROUP BY run HAVING min(step) < max(step) ORDER BY run LIMIT $nruns),
     fe AS (SELECT DISTINCT x.run, x.example FROM ${src} x JOIN b ON x.run = b.run AND x.step = b.f WHERE x.${m} IS NOT NULL),
     le AS (SELECT DISTINCT x.run, x.example FROM ${src} x JOIN b ON x.run = b.run AND x.step = b.l WHERE x.${m} IS NOT NULL),
     paired AS (SELECT fe.run, fe.example, row_number() OVER (PARTITION BY fe.run ORDER BY fe.example) AS i FROM fe JOIN le ON fe.run = le.run AND fe.example = le.example)
     SELECT paired.run, CAST(paired.example AS VARCHAR) AS example, b.f AS "from", b.l AS "to" FROM paired JOIN b ON paired.run = b.run WHERE i <= $nex ORDER BY paired.run, paired.example`,
    params,
  );
}

const SECTIONS = ["summary", "metric by position", "checkpoint slider", "heatmap", "cumulative share", "early share", "KL profile", "gradient profile", "attacks", "token view"];

/**
 * Builds the report page for loaded logs (and attack results, or null).
 * @example
 *   const logs = await loadTokenLogs("data/lab/tokens-*.jsonl.gz");
 *   const attacks = await loadAttackResults("data/lab/attacks.jsonl.gz");
 *   writeFileSync("report.html", await buildReport(logs, attacks, { bootstrap: 1000, seed: 0 }));
 */
export async function buildReport(logs: TokenLogs, attacks: AttackResults | null, opts: ReportOptions = {}): Promise<string> {
  const limits: ReportLimits = { ...DEFAULT_LIMITS, ...(opts.limits ?? {}) };
  const metric = logs.metric(opts.metric ?? "loss");
  const k = opts.k ?? 5;
  const bootstrap = opts.bootstrap ?? 1000;
  const seed = opts.seed ?? 0;
  const sel = opts.where !== undefined ? { where: Object.keys(opts.where).length ? opts.where : undefined, text: whereText(opts.where) } : await defaultWhere(logs);
  const where = sel.where;
  const counts = await countsOf(logs, undefined);
  const analysed = where ? await countsOf(logs, where) : undefined;
  if (analysed && analysed.tokens === 0) throw new AligndepthError(`no token rows match ${whereText(where!)}: nothing to report`);
  const what = where && whereText(where) === "split = harmful" ? "harmful-answer probes" : where && whereText(where) === "split = refusal" ? "refusal probes" : where ? `rows with ${whereText(where)}` : undefined;
  const runs = await logs.runs();
  const otherRuns = [...(opts.gradLogs ? await opts.gradLogs.runs() : []), ...(attacks?.records.map((r) => r.run) ?? [])];
  // Replicate runs: recipes by the pattern or the `recipe` label; figures then show recipes.
  const rec = await reportRecipes(logs, otherRuns, opts.recipePattern);
  const byRecipe = rec.replicated;
  const recipeText = byRecipe ? `${rec.grouping.runsOf.size} recipes (${[...rec.grouping.runsOf].map(([r, rs]) => `${r}: ${rs.length} run${rs.length === 1 ? "" : "s"}`).join(", ")})` : "";
  // One colour per run in every figure (per recipe with replicate runs, seeds thin): made from every run of every input, by name.
  const colors: RunColors = runColors([...runs, ...otherRuns], { ...(byRecipe ? { recipeOf: rec.recipeOf } : {}), ...opts.colorOptions });
  const step = (name: string) => opts.onSection?.(name, SECTIONS.indexOf(name) + 1, SECTIONS.length);
  const toc: Array<[string, string]> = [];
  const out: string[] = [];
  const add = (id: string, title: string, intro: string, body: string) => {
    toc.push([id, title]);
    out.push(section(id, title, intro, body));
  };
  const whatText = what ? ` on the ${what}` : "";

  // Run comparison: the numbers first, as in the notebook.
  step("summary");
  const whereKeys = where ? Object.entries(where) : [];
  const simpleSplit = whereKeys.length === 1 && !Array.isArray(whereKeys[0][1]) ? { field: whereKeys[0][0], value: String(whereKeys[0][1]) } : null;
  const update = await updateProfile(logs, { metric, where });
  const masses = massByRun(update, { k });
  // METRICS 1.4: the position figures of the metric say in the figure when their rows do not start at 0.
  const start = await positionStart(logs, { metric, where });
  const firstWhere = whereKeys.map(([f, v]) => `${f}=${Array.isArray(v) ? v[0] : v}`)[0];
  const positioned = (fig: Figure) => markPositionStart(fig, start, firstWhere ? `load with --span ${firstWhere} to re-base` : undefined);
  let sums: RunSummary[];
  let comparison: RunComparison[] | null = null;
  if (!where || simpleSplit) {
    // With replicate runs the attack success is shown by recipe in the attacks section (decodings apart).
    comparison = await compareRuns(logs, { metric, k, bootstrap, seed, splitField: simpleSplit?.field, split: simpleSplit ? simpleSplit.value : opts.where !== undefined ? null : undefined, attacks: byRecipe ? undefined : attacks?.records });
    sums = comparison.map((c) => ({ ...c, positions: masses.find((x) => x.run === c.run)?.mass.positions.length ?? 0, tokens: 0 }));
  } else sums = await summary(logs, { metric, where, k, bootstrap, seed });
  const from: Record<string, number> = {};
  const to: Record<string, number> = {};
  for (const s of sums) {
    from[s.run] = s.from;
    to[s.run] = s.to;
  }
  const iv = (x: [number, number] | null, d: number) => (x ? `${x[0].toFixed(d)}\u2013${x[1].toFixed(d)}` : "");
  const tableBySet = new Set(sums.map((s) => s.probe_set)).size > 1;
  const table = sums.map((s, i) => {
    const c = comparison?.[i];
    const row: Record<string, unknown> = {
      run: s.run,
      ...(tableBySet ? { "probe set": s.probe_set } : {}),
      steps: `${s.from} to ${s.to}`,
      examples: s.examples,
      positions: s.positions,
      [`N${k}`]: s.net_early_share,
      [`N${k} 95% CI`]: iv(s.ci.net_early_share, 3),
      [`uniform`]: s.uniform_early_share,
      [`H${k}`]: s.headroom_early_share ?? `n/a (${s.headroom_reason})`,
      z50: s.z50,
      z90: s.z90,
      "z90 95% CI": iv(s.ci.z90, 2),
      R: s.counter_movement,
      [`E${k} (absolute)`]: s.early_share,
      [`E${k} 95% CI`]: iv(s.ci.early_share, 3),
      d90: s.d90,
    };
    if (c) {
      for (const [split, v] of Object.entries(c.final_loss)) row[`final loss (${split})`] = v;
      for (const [attack, a] of Object.entries(c.asr)) row[`ASR ${attack} (${a.condition})`] = a.asr;
    }
    return row;
  });
  // Whether the most and the least front-loaded runs differ: a paired test per probe set, never overlap.
  const concentrationSentences: string[] = [];
  for (const set of [...new Set(sums.map((s) => s.probe_set))]) {
    const group = sums.filter((s) => s.probe_set === set);
    const ok = group.filter((s) => s.net_early_share !== null).sort((a, b) => (b.net_early_share as number) - (a.net_early_share as number));
    if (group.length < 2) continue;
    let paired: PairedComparison | undefined;
    if (ok.length >= 2 && bootstrap > 0) {
      const setWhere = set === null ? where : { ...(where ?? {}), split: set };
      [paired] = await compareUpdates(logs, ok[0].run, ok[ok.length - 1].run, { metric, k, seed, where: setWhere, statistics: ["net_early_share"], probeSets: "pooled" });
    }
    concentrationSentences.push((set !== null && tableBySet ? `On the ${set} probes: ` : "") + compareConcentration(group, k, paired));
  }
  const runBody =
    tableBlock(table, [...sums.map((s) => describeSummary(s, { metric, k, what })), ...concentrationSentences, ...(comparison && sums.length > 1 && !byRecipe ? describeAttackComparison(comparison) : [])]) +
    (comparison && comparison.length ? "\n" + figureBlock("fig-compare", compareRunsFigure(comparison, { k, colors })) : "");
  const recipeBlock = byRecipe ? await recipeSummaryBlock(logs, { metric, where, k, bootstrap, seed, recipePattern: opts.recipePattern }) : null;
  add(
    "compare",
    byRecipe ? "Recipe comparison: where each update concentrates" : "Run comparison: where each update concentrates",
    (recipeBlock
      ? `The runs are replicate runs of ${recipeText}. A recipe's statistic is the mean over its runs of each run's statistic, with the sd across runs and a 95% interval over seeds and examples (METRICS 3.7: two-stage bootstrap with 5 or more runs, a t interval with 2 to 4, a single run's own interval with 1, which ignores training randomness). Whether two recipes differ is the paired test (aligndepth compare with --recipe-pattern), never whether intervals overlap. Each probe set is analysed on its own. The per-run table is below the recipe table. `
      : "") +
    `For each run, the update is the mean change of ${metric}${whatText} per position between its first and last checkpoint, paired by example; D is its sum over positions (the net change). ` +
      `N${k}, the net early share, is the part of D at positions 0 to ${k - 1}; beside it the uniform reference (the change spread evenly) and the headroom reference H${k} (every position falling by the same fraction of its starting ${metric}; defined for a non-negative metric that falls). ` +
      `z50 and z90 are the leading positions, counted continuously, that carry half and 90% of D; R is the part of the change that moved against the net direction. ` +
      `E${k} and d90 are version 1's absolute share, kept for comparison: noise at unchanged positions biases them toward late positions. ` +
      `Intervals: ${bootstrap ? `95% BCa bootstrap over examples (integer depths: percentile), ${bootstrap} replicates, seed ${seed}; each run is analysed on its own, so they ignore training randomness (seeds)` : "none (bootstrap 0)"}. Whether two runs differ is a paired bootstrap test over the same examples (aligndepth compare).` +
      `${comparison && attacks && !byRecipe ? " Final loss is the mean at each run's last step per probe set; ASR is the attack success rate (at the largest k for prefilling, else the mean over conditions)." : comparison ? " Final loss is the mean at each run's last step per probe set." : ""}`,
    recipeBlock ? `${tableBlock(recipeBlock.rows, recipeBlock.sentences)}\n<details><summary>Every run (${sums.length} rows)</summary>\n${runBody}\n</details>` : runBody,
  );

  // 1. Metric by position at a few checkpoints, one panel per run (dropdown).
  step("metric by position");
  const pickSteps = new Set<number>();
  const stepsByRun: Record<string, number[]> = {};
  for (const run of runs) {
    stepsByRun[run] = spreadSteps(await logs.steps(run), limits.profileSteps);
    for (const s of stepsByRun[run]) pickSteps.add(s);
  }
  const profileFigure = async (src: TokenLogs, m: string, label: string, id: string) => {
    const runRows = thinPositions(await positionProfile(src, { metric: m, where, steps: [...pickSteps].sort((a, b) => a - b) }), limits.profilePositions);
    // Replicate runs: one figure per recipe, the mean over its runs (band: across seeds).
    const rows = byRecipe ? recipeProfile(runRows, rec.recipeOf) : runRows;
    const seedsOf = (name: string) => (byRecipe ? ` (mean of ${rec.grouping.runsOf.get(name)?.length ?? 1} runs)` : "");
    const rs = [...new Set(rows.map((r) => r.run))];
    const figs = rs.map((run) => ({
      run,
      figure: (m === metric && src === logs ? positioned : (f: Figure) => f)(metricByPositionFigure(rows, { run, metric: m, steps: (stepsByRun[run] ?? spreadSteps(rows.filter((r) => r.run === run).map((r) => r.step), limits.profileSteps)).filter((s) => rows.some((r) => r.run === run && r.step === s)), title: `${label} by position, ${run}${seedsOf(run)}` })),
    }));
    return figs.length ? figureBlock(id, runDropdown(figs), describeProfileChange(rows, { k, metric: m, what })) : note(`No ${m} values${whatText}.`);
  };
  const metricLabel = what === "refusal probes" ? `Refusal ${metric}` : metric[0].toUpperCase() + metric.slice(1);
  // Every run at its last checkpoint, one panel per probe set (the labels present), on one y axis.
  const sets = await probeSets(logs);
  let bySet = "";
  if (sets.length >= 2) {
    const finals = await finalSteps(logs);
    const others = where ? Object.fromEntries(Object.entries(where).filter(([f]) => f !== "split")) : {};
    const panels = [];
    for (const set of sets) {
      const setRows = thinPositions(await profileSeries(logs, { metric, series: finals, where: { ...others, split: set } }), limits.profilePositions);
      panels.push({ title: `split = ${set}`, rows: byRecipe ? recipeProfile(setRows, rec.recipeOf) : setRows });
    }
    const series = byRecipe ? recipeSeries(panels.flatMap((p) => p.rows as ReturnType<typeof recipeProfile>)) : finals;
    if (panels.some((p) => p.rows.length))
      bySet = figureBlock("fig-by-probe-set", profileFacetsFigure(panels, series, { metric, colors, title: `${metric[0].toUpperCase() + metric.slice(1)} by position at each ${byRecipe ? "recipe's last checkpoint (mean over its runs)" : "run's last checkpoint"}, per probe set` }));
  }
  add(
    "by-position",
    `${metricLabel} by position at a few checkpoints`,
    (byRecipe
      ? `One line per checkpoint (dark: early, light: late): at each position the mean over a recipe's runs of each run's mean, with a band of ±1.96 standard errors across seeds (the seeds share the examples, so the band leaves out the variation from sampling examples; a recipe with one run has none); the dropdown switches recipes and keeps the y axis fixed over all of them.`
      : `One line per checkpoint (dark: early, light: late) with a band of ±1.96 standard errors; the dropdown switches runs and keeps the y axis fixed over all of them.`) +
      ` A shallow update moves the first positions and leaves the rest where they were.${bySet ? ` Below, every ${byRecipe ? "recipe" : "run"} at its last checkpoint in its colour, one panel per probe set (${sets.join(", ")}), on one y axis.` : ""}`,
    (await profileFigure(logs, metric, metricLabel, "fig-by-position")) + (bySet ? "\n" + bySet : ""),
  );

  // The same profile one checkpoint at a time, with a slider (the first checkpoint stays as a reference).
  step("checkpoint slider");
  // One slider per run, or per recipe (the mean over its runs) with replicate runs.
  const units = byRecipe ? [...rec.grouping.runsOf.keys()] : runs;
  const membersOf = (u: string) => (byRecipe ? (rec.grouping.runsOf.get(u) ?? [u]) : [u]);
  const sliderRuns = units.slice(0, limits.sliderRuns);
  const sliderSteps = new Set<number>();
  const sliderByRun: Record<string, number[]> = {};
  for (const run of sliderRuns) {
    sliderByRun[run] = spreadSteps(await logs.steps(membersOf(run)[0]), limits.sliderSteps);
    for (const st of sliderByRun[run]) sliderSteps.add(st);
  }
  const sliderRunRows = thinPositions(await positionProfile(logs, { metric, where, runs: sliderRuns.flatMap(membersOf), steps: [...sliderSteps].sort((a, b) => a - b) }), limits.profilePositions);
  const sliderRows = byRecipe ? recipeProfile(sliderRunRows, rec.recipeOf) : sliderRunRows;
  // One y range for every run's slider (means ±1.96 se, 5% padding), so that the figures compare.
  let yLo = Infinity;
  let yHi = -Infinity;
  for (const r of sliderRows)
    if (r.mean !== null && sliderByRun[r.run]?.includes(r.step)) {
      const half = r.se !== null ? 1.96 * r.se : 0;
      yLo = Math.min(yLo, r.mean - half);
      yHi = Math.max(yHi, r.mean + half);
    }
  const yPad = yHi > yLo ? 0.05 * (yHi - yLo) : 0.5;
  const yRange: [number, number] | undefined = Number.isFinite(yLo) ? [yLo - yPad, yHi + yPad] : undefined;
  const sliders = sliderRuns
    .filter((run) => sliderRows.some((r) => r.run === run))
    .map((run, i) => figureBlock(`fig-slider-${i}`, positioned(metricByPositionSliderFigure(sliderRows, { run, metric, steps: sliderByRun[run], what, yRange }))));
  if (sliders.length)
    add(
      "slider",
      "Checkpoint by checkpoint",
      `The ${metric} by position${whatText} at one checkpoint at a time${byRecipe ? ", one figure per recipe (the mean over its runs; bars: ±1.96 standard errors across seeds)" : ""}: move the slider under each figure (the grey dotted line is the first checkpoint)${units.length > sliderRuns.length ? `; the first ${sliderRuns.length} of ${units.length} ${byRecipe ? "recipes" : "runs"}` : ""}${sliderSteps.size >= limits.sliderSteps ? `; at most ${limits.sliderSteps} checkpoints per run, spread evenly` : ""}.`,
      sliders.join("\n"),
    );

  // 2. Step x position heatmap.
  step("heatmap");
  const byRunStep = await updateByStep(logs, { metric, where });
  // With replicate runs: each recipe's mean update over its runs (the runs' thin lines stay in the early-share figure).
  const byStep = byRecipe ? recipeUpdateByStep(byRunStep, rec.recipeOf) : byRunStep;
  const keepSteps = new Map<string, Set<number>>();
  for (const run of units) keepSteps.set(run, new Set(spreadSteps(byStep.filter((r) => r.run === run).map((r) => r.step), limits.heatmapSteps)));
  const heatRows = byStep.filter((r) => keepSteps.get(r.run)?.has(r.step) && r.position < limits.heatmapPositions);
  const maxPos = byStep.reduce((a, r) => Math.max(a, r.position), -1);
  const nSteps = Math.max(0, ...[...new Set(byStep.map((r) => r.run))].map((run) => new Set(byStep.filter((r) => r.run === run).map((r) => r.step)).size));
  const capNotes: string[] = [];
  if (maxPos >= limits.heatmapPositions) capNotes.push(`positions 0 to ${limits.heatmapPositions - 1} of 0 to ${maxPos} are shown`);
  if (nSteps > limits.heatmapSteps) capNotes.push(`${limits.heatmapSteps} of ${nSteps} checkpoints, spread evenly, are shown`);
  add(
    "heatmap",
    "Where and when the update happens",
    `The change in ${metric}${whatText} since each run's first checkpoint${byRecipe ? ", averaged over each recipe's runs" : ""}, for every checkpoint (rows) and position (columns); the dropdown switches ${byRecipe ? "recipes" : "runs"}. Blue: lower ${metric} than at the start.`,
    heatRows.length
      ? figureBlock("fig-heatmap", positioned(updateHeatmapFigure(heatRows, { metric, maxPositions: limits.heatmapPositions })), [...describeUpdateByStep(byStep, { k, metric }), ...(capNotes.length ? [`To keep the file small, ${capNotes.join(" and ")}.`] : [])])
      : note("No run has two checkpoints with paired examples: there is no update to draw."),
  );

  // 3. Cumulative share.
  step("cumulative share");
  add(
    "cumulative",
    "Cumulative share of the update by position",
    `How much of each run's total update (first to last checkpoint) the leading positions carry; the dotted lines mark 50% and 90%, and d50 and d90 are where a run's line crosses them.${byRecipe ? " One line per run: each recipe has one colour, its runs are thin lines in it." : ""}`,
    masses.length ? figureBlock("fig-cumulative", positioned(cumulativeShareFigure(masses, { metric, colors }))) : note("No update to draw."),
  );

  // 4. Early share over training.
  step("early share");
  const conc = concentrationFromUpdates(byStep, { k });
  const drawn = byRecipe ? [...conc, ...concentrationFromUpdates(byRunStep, { k })] : conc;
  add(
    "early-share",
    `Early share E${k} over training`,
    `E${k} of the update from the first checkpoint to each later one.${byRecipe ? ` Thick lines: each recipe's mean update over its runs (the share of the mean update, not the mean of the runs' shares); thin lines: each run.` : ""} A shallow recipe puts its first changes on the early positions.`,
    conc.length ? figureBlock("fig-early-share", positioned(earlyShareFigure(drawn, { k, metric, colors })), describeConcentration(conc, k)) : note("No run has more than one checkpoint."),
  );

  // KL and gradient profiles, where the logs have them: every run at its last checkpoint, overlaid.
  step("KL profile");
  if (metric !== "kl" && logs.metrics.includes("kl")) {
    const finals = await finalSteps(logs);
    const runRows = thinPositions(await profileSeries(logs, { metric: "kl", series: finals, where }), limits.profilePositions);
    const rows = byRecipe ? recipeProfile(runRows, rec.recipeOf) : runRows;
    const series = byRecipe ? recipeSeries(rows as ReturnType<typeof recipeProfile>) : finals;
    add(
      "kl",
      "KL to the reference model by position",
      `The per-token KL divergence of each run's next-token distribution from the reference model's${whatText}, at each run's last checkpoint${byRecipe ? ": the mean over each recipe's runs, with a band of ±1.96 standard errors across seeds" : ""}. A deeper alignment keeps it high past the first tokens.`,
      rows.length ? figureBlock("fig-kl", profileOverlayFigure(rows, series, { metric: "kl", colors, title: `KL to the reference model by position${what ? `, ${what}` : ""}` }), describeOverlay(rows, series, { k, metric: "kl" })) : note(`No kl values${whatText}.`),
    );
  }
  step("gradient profile");
  const gradSrc = opts.gradLogs ?? (gradientMetrics(logs).length ? logs : undefined);
  const gradMetric = gradSrc ? gradientMetrics(gradSrc)[0] : undefined;
  if (gradSrc && gradMetric && !(gradSrc === logs && gradMetric === metric)) {
    // The gradient logs may lack the label the main logs are filtered on: then they are used whole.
    const gradWhere = where && Object.keys(where).every((c) => gradSrc.labels.includes(c)) ? where : undefined;
    const finals = await finalSteps(gradSrc);
    const runRows = thinPositions(await profileSeries(gradSrc, { metric: gradMetric, series: finals, where: gradWhere }), limits.profilePositions);
    const rows = byRecipe ? recipeProfile(runRows, rec.recipeOf) : runRows;
    const series = byRecipe ? recipeSeries(rows as ReturnType<typeof recipeProfile>) : finals;
    add(
      "gradient",
      "Gradient norm by position",
      `The norm of the gradient of each probe token's own loss${gradWhere ? whatText : ""} with respect to the model's parameters, at each run's last logged checkpoint${byRecipe ? " (the mean over each recipe's runs)" : ""}${gradSrc !== logs ? " (from the gradient logs, loaded apart from the token logs)" : ""}, on a log scale. ` +
        `It says how strongly a step on that probe token's loss alone would move the model at that checkpoint; it is not the training update, which follows the training data's gradient (the learning-dynamics logs, METRICS 7).`,
      rows.length ? figureBlock("fig-gradient", profileOverlayFigure(rows, series, { metric: gradMetric, logY: true, colors, title: `Gradient norm (${gradMetric}) by position` }), describeOverlay(rows, series, { k, metric: gradMetric })) : note(`No ${gradMetric} values.`),
    );
  }

  // Learning dynamics (influence logs), in its own file (fast: no progress step of its own).
  if (opts.dynamics) {
    const d = dynamicsSection(opts.dynamics, { k, seed, replicates: bootstrap || undefined, colors, split: simpleSplit?.field === "split" ? simpleSplit.value : undefined });
    add(d.id, d.title, d.intro, d.body);
  }

  // Attacks.
  step("attacks");
  if (attacks && attacks.records.length) {
    const recs = attacks.records;
    // Not-judged records are out of n and counted per row; pooled rows get the cluster bootstrap (METRICS 4).
    const mo = { notJudged: attacks.notJudged, seed };
    const blocks: string[] = [];
    const nj = attacks.report.notJudged;
    // Replicate runs, several decodings or a fine-tuning attack: recipe curves, decodings never pooled (recipes.ts).
    const decodings = [...new Set(recs.map((r) => r.conditions.decoding ?? null))];
    const byRecipeAttacks = byRecipe || decodings.some((d) => d !== null) || recs.some((r) => r.conditions.ft_step !== undefined);
    if (byRecipeAttacks) {
      const recipeOf = byRecipe ? rec.recipeOf : new Map(recs.map((r) => [r.run, r.run] as [string, string]));
      const { blocks: curves, table } = recipeAttackBlocks(recs, { notJudged: attacks.notJudged, recipeOf, colors, seed });
      blocks.push(...curves);
      // The two-way table for the first run of each recipe, on one decoding (greedy when present).
      const d2 = decodings.includes("greedy") ? "greedy" : decodings[0];
      const firsts = new Map<string, string>();
      for (const [run, recipe] of [...recipeOf].sort()) if (!firsts.has(recipe)) firsts.set(recipe, run);
      const firstRuns = new Set(firsts.values());
      const tables = asrTable2d(recs.filter((r) => (r.conditions.decoding ?? null) === d2 && firstRuns.has(r.run)), mo);
      if (tables.length) blocks.push(figureBlock("fig-asr-heatmap", asrHeatmapFigure(tables), [`The first run of each recipe${d2 === null ? "" : `, ${d2} decoding`}: ${tables.length} table${tables.length === 1 ? "" : "s"}; the curves above have every run.`]));
      const rows = table.map((r) => ({
        recipe: r.recipe,
        attack: r.attack,
        condition: conditionLabel(r),
        runs: r.runs.length,
        n: r.n,
        harmful: r.harmful,
        ASR: r.asr,
        "sd across runs": r.sd,
        "95% CI": r.ci ? `${r.ci[0].toFixed(3)} to ${r.ci[1].toFixed(3)}` : "",
        interval: r.ci_method,
        ...(nj ? { "not judged": r.not_judged } : {}),
      }));
      blocks.push(`<details><summary>Attack success table by recipe (${rows.length} conditions)</summary>\n${tableBlock(rows, [], 500)}\n</details>`);
    } else {
    const byK = asrByK(recs, mo);
    if (byK.length) blocks.push(figureBlock("fig-asr-k", asrByKFigure(byK, { colors }), describeAsr(byK, "k")));
    const byPrefix = asrByPrefixLen(recs, mo);
    if (byPrefix.length) blocks.push(figureBlock("fig-asr-prefix", asrByPrefixLenFigure(byPrefix, { colors }), describeAsr(byPrefix, "prefix_len")));
    const bySpan = asrBySpanLen(recs, mo);
    if (bySpan.length) blocks.push(figureBlock("fig-asr-span", asrBySpanLenFigure(bySpan, { colors }), describeAsr(bySpan, "span_len")));
    const tables = asrTable2d(recs, mo);
    if (tables.length) blocks.push(figureBlock("fig-asr-heatmap", asrHeatmapFigure(tables)));
    const asr = attackSuccess(recs, mo).map((r) => ({
      run: r.run,
      attack: r.attack,
      k: r.k,
      prefix_len: r.prefix_len,
      span_len: r.span_len,
      n: r.n,
      harmful: r.harmful,
      ASR: r.asr,
      "95% CI": r.ci ? `${r.ci[0].toFixed(3)} to ${r.ci[1].toFixed(3)}` : "",
      ...(r.ci_method !== "wilson" ? { interval: r.ci_method } : {}),
      ...(nj ? { "not judged": r.not_judged } : {}),
    }));
    blocks.push(`<details><summary>Attack success table (${asr.length} conditions)</summary>\n${tableBlock(asr, [], 500)}\n</details>`);
    }
    const judged = recs.some((r) => r.score !== null) ? `a judge score >= ${attacks.report.threshold} on the scale ${attacks.report.scale[0]}:${attacks.report.scale[1]} counts as harmful` : "as recorded";
    const njText = nj ? ` ${nj} record${nj === 1 ? " was" : "s were"} not judged (score ${attacks.report.notJudgedValues.join(" or ")}) and ${nj === 1 ? "is" : "are"} left out of n.` : "";
    const warnText = attacks.report.warnings.length ? ` Warning: ${attacks.report.warnings.join("; ")}.` : "";
    add(
      "attacks",
      "Attacks",
      `Attack success rate (harmful outcomes / judged outcomes, ${judged}) per ${byRecipeAttacks && byRecipe ? "recipe" : "run"} and condition: prefilling k harmful tokens, and inserting a harmful span after a refusal prefix. ` +
        (byRecipeAttacks
          ? `${byRecipe ? "A recipe's ASR is the mean of its runs' ASRs, with a 95% interval over seeds and examples (METRICS 3.7: two-stage bootstrap with 5 or more runs, a t interval with 2 to 4, clipped to [0, 1]); a recipe with one run has its own interval, which ignores training randomness: " : "95% intervals: "}Wilson where each example has one record; where an example has several (samples, or conditions pooled in a curve), a cluster bootstrap over examples (2000 replicates, seed ${seed}). ` +
            `Greedy and sampled decoding are shown apart, never pooled.`
          : `95% intervals: Wilson where each example has one record; where an example has several (samples, or conditions pooled in a curve), a cluster bootstrap over examples (2000 replicates, seed ${seed}).`) +
        `${njText}${warnText}`,
      blocks.join("\n"),
    );
  }

  // Token view.
  step("token view");
  // With replicate runs, the first run of each recipe (the other seeds show the same probes).
  const picked = await tokenViewExamples(logs, metric, where, limits, byRecipe ? [...rec.grouping.runsOf.values()].map((rs) => rs[0]) : undefined);
  const views = [];
  for (const e of picked) {
    const rows = (await exampleTokens(logs, { run: e.run, example: e.example, steps: [e.from, e.to], metric })).filter((r) => r.position < limits.tokenPositions);
    views.push({ ...e, rows });
  }
  let scale = 0;
  for (const v of views) {
    const before = new Map(v.rows.filter((r) => r.step === v.from).map((r) => [r.position, r.value]));
    for (const r of v.rows) {
      const b = before.get(r.position);
      if (r.step === v.to && r.value !== null && b !== undefined && b !== null) scale = Math.max(scale, Math.abs(r.value - b));
    }
  }
  add(
    "tokens",
    "A few sequences, token by token",
    `The first ${limits.tokenExamples} sequences${whatText} of each run (by example id; at most ${limits.tokenPositions} tokens each), every token coloured by the change in ${metric} between the run's first and last checkpoint (blue: down, red: up; one colour scale for all). The change is printed under each token; hover a token for its raw text and the exact value.`,
    views.length
      ? `<div class="token-views">\n${views.map((v) => tokenViewHtml(v.rows, { from: v.from, to: v.to, metric, domain: [-scale, scale], title: `${v.run} \u00b7 example ${v.example}` })).join("\n")}\n</div>`
      : note("No sequence has the metric at both the first and the last checkpoint."),
  );

  const files: HeaderFile[] = [
    ...logs.report.files.map((f) => fileRow(f, "token log")),
    ...(opts.gradLogs ? opts.gradLogs.report.files.map((f) => fileRow(f, "gradient log")) : []),
    ...(opts.dynamics ? dynamicsHeaderFiles(opts.dynamics, displayPath) : []),
    ...(attacks ? attacks.report.files.map((f) => ({ path: displayPath(f.path), kind: "attack results", records: f.records, used: f.recordsUsed, skipped: f.recordsSkipped, rows: f.recordsUsed, skippedByReason: f.skipped })) : []),
  ];
  const title = opts.title ?? "aligndepth report: where does alignment change the model?";
  const header = headerSection({
    title,
    version: VERSION,
    timestamp: opts.timestamp,
    files,
    counts,
    analysed,
    selection: sel.text,
    runs,
    runColors: Object.fromEntries(runs.map((r) => [r, colors.color(r)])),
    metrics: logs.metrics,
    labels: logs.labels,
    options: opts.shownOptions ?? [
      ["metric", metric],
      ["k", String(k)],
      ["bootstrap", String(bootstrap)],
      ["seed", String(seed)],
    ],
    attacks: attacks ? { records: attacks.records.length, runs: new Set(attacks.records.map((r) => r.run)).size, skipped: attacks.report.recordsSkipped } : undefined,
  });
  toc.push(["appendix", "Definitions"]);
  out.push(appendixSection(k, metric));
  return reportPage(title, header, toc, out);
}

/** Paths inside the working directory are shown relative to it (the report does not leak home folders). */
export function displayPath(path: string): string {
  const cwd = process.cwd();
  return path.startsWith(cwd + "/") ? path.slice(cwd.length + 1) : path;
}

function fileRow(f: LoadReport["files"][number], kind: string): HeaderFile {
  return { path: displayPath(f.path), kind: `${kind} (${f.format}${f.layout ? `, ${f.layout}` : ""})`, records: f.records, used: f.recordsUsed, skipped: f.recordsSkipped, rows: f.tokens, skippedByReason: f.skipped };
}
