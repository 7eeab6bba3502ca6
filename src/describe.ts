/**
 * Sentences that state what a result shows, computed from the numbers (for notebooks and the
 * report, so that no prose is typed in by hand next to a figure).
 */
import type { RecipeSummary, RunSummary } from "./stats/summary";
import type { Interval } from "./stats/runIntervals";
import type { PositionProfileRow } from "./stats/positionProfile";
import type { ProfileSeries } from "./stats/profileSeries";
import type { RunComparison } from "./stats/compare";
import type { AsrRow } from "./attacks/asr";
import type { AttackReach } from "./attacks/reach";
import type { StepUpdateRow } from "./stats/concentration";
import type { TokenUpdate } from "./stats/tokens";
import type { PairedComparison } from "./stats/pairedComparison";

/** A share as a whole percentage for sentences: 0.604 -> "60%". */
export const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
const ivPct = (iv: Interval) => (iv ? ` (95% CI ${pct(iv[0])} to ${pct(iv[1])})` : "");
const ivNum = (iv: Interval) => (iv ? ` (95% CI ${fmt(iv[0])} to ${fmt(iv[1])})` : "");
const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(3));

const dec = (x: number) => x.toFixed(1);

/**
 * One sentence per run (or recipe): the net early share N_k of the change (METRICS.md 3.4) with its
 * interval, the uniform and headroom references beside it, the interpolated depths z50/z90, and
 * what the interval ignores (training randomness, for one run).
 */
export function describeSummary(
  s: Pick<RunSummary, "run" | "from" | "to" | "examples" | "positions" | "net_change" | "net_early_share" | "z50" | "z90" | "uniform_early_share" | "headroom_early_share" | "counter_movement" | "ci"> & Partial<Pick<RunSummary, "probe_set" | "ci_info">>,
  opts: { metric?: string; k: number; what?: string },
): string {
  const metric = opts.metric ?? "loss";
  const what = opts.what ? ` on ${opts.what}` : s.probe_set ? ` on the ${s.probe_set} probes` : "";
  if (s.net_early_share === null || s.net_change === null || s.net_change === 0)
    return `${s.run}: no net change in ${metric}${what} between step ${s.from} and step ${s.to} (${s.examples} examples paired), so the update has no net shape.`;
  const refs = [
    s.uniform_early_share !== null ? `${pct(s.uniform_early_share)} if spread evenly` : "",
    s.headroom_early_share !== null ? `${pct(s.headroom_early_share)} if every position fell by the same fraction of its starting ${metric}` : "",
  ].filter(Boolean);
  const noCi = s.ci.net_early_share === null && s.ci_info?.reason ? ` (no interval: ${s.ci_info.reason})` : "";
  return (
    `${s.run}: the first ${opts.k} positions carry ${pct(s.net_early_share)}${ivPct(s.ci.net_early_share)}${noCi} of the net change in ${metric}${what} ` +
    `(${s.net_change > 0 ? "+" : ""}${num(s.net_change)} summed over positions) between step ${s.from} and step ${s.to}` +
    (refs.length ? ` (reference: ${refs.join("; ")})` : "") +
    (s.z50 !== null && s.z90 !== null ? `; half of it lies in the first ${dec(s.z50)} positions${ivDec(s.ci.z50)} and 90% in the first ${dec(s.z90)}${ivDec(s.ci.z90)}` : "") +
    `, over ${s.positions} positions and ${s.examples} examples.`
  );
}
const ivDec = (iv: Interval) => (iv ? ` (95% CI ${dec(iv[0])} to ${dec(iv[1])})` : "");

/**
 * One sentence per recipe (replicate runs, METRICS.md 3.7): the mean N_k over its runs, the spread
 * across runs, the interval and the rule behind it; a one-run recipe says that its interval ignores
 * training randomness.
 * @example describeRecipe(result.recipes[0], { k: 5 }) // "sft (3 runs, harmful probes): N5 90% on average (sd 10% across runs; 95% CI 65% to 115%, t rule) ..."
 */
export function describeRecipe(
  r: Pick<RecipeSummary, "recipe" | "runs" | "probe_set" | "net_early_share" | "z90" | "sd" | "ci" | "ci_info">,
  opts: { k: number; metric?: string },
): string {
  const metric = opts.metric ?? "loss";
  const where = r.probe_set ? `, ${r.probe_set} probes` : "";
  const head = `${r.recipe} (${r.runs} run${r.runs === 1 ? "" : "s"}${where})`;
  if (r.net_early_share === null) return `${head}: no net change in ${metric} to describe.`;
  const rule = r.ci_info.rule === "t" ? "t rule over runs and examples" : r.ci_info.rule === "two-stage bootstrap" ? "two-stage bootstrap over runs and examples" : "over examples only: it ignores training randomness";
  const sd = r.sd.net_early_share === null ? "" : `sd ${pct(r.sd.net_early_share)} across runs; `;
  const ci = r.ci.net_early_share ? `95% CI ${pct(r.ci.net_early_share[0])} to ${pct(r.ci.net_early_share[1])}, ${rule}` : `no interval${r.ci_info.reason ? `: ${r.ci_info.reason}` : ""}`;
  return `${head}: the first ${opts.k} positions carry ${pct(r.net_early_share)} of the net change in ${metric} on average (${sd}${ci})${r.z90 === null ? "" : `; 90% of it lies in the first ${dec(r.z90)} positions`}.`;
}

/**
 * Which run's update is the most and the least concentrated (by N_k), and, when the paired
 * comparison of those two is given (`compareUpdates`), whether they differ: the paired bootstrap's
 * difference, interval and p-value (METRICS.md 4). Intervals side by side are never a test.
 */
export function compareConcentration(
  runs: Array<Pick<RunSummary, "run" | "net_early_share" | "z90">>,
  k: number,
  paired?: Pick<PairedComparison, "a" | "b" | "rows" | "runs_resampled"> & { ci_info?: Pick<PairedComparison["ci_info"], "rule"> },
): string {
  const ok = runs.filter((r) => r.net_early_share !== null);
  if (ok.length < 2) return ok.length === 1 ? `Only ${ok[0].run} has a net update to compare.` : "No run has a net update to compare.";
  const sorted = [...ok].sort((a, b) => (b.net_early_share as number) - (a.net_early_share as number));
  const hi = sorted[0];
  const lo = sorted[sorted.length - 1];
  const z = (r: Pick<RunSummary, "z90">) => (r.z90 === null ? "" : `, z90 ${dec(r.z90)}`);
  if (hi.net_early_share === lo.net_early_share) return `Every run has the same N${k}, ${pct(hi.net_early_share as number)}.`;
  let test = " Whether they differ is a paired test over the same examples (aligndepth compare).";
  const row = paired?.rows.find((r) => r.statistic === "net_early_share");
  if (paired && row && row.difference !== null && row.p !== null) {
    const sign = paired.a === hi.run ? 1 : -1;
    const iv: Interval = row.ci ? (sign === 1 ? row.ci : [-row.ci[1], -row.ci[0]]) : null;
    const p = row.p_holm ?? row.p;
    test =
      ` Paired over the same examples, N${k}(${hi.run}) - N${k}(${lo.run}) = ${(sign * row.difference).toFixed(3)}${ivNum(iv)}, p = ${p < 0.001 ? "<0.001" : p.toFixed(3)}${row.p_holm !== null && paired.rows.length > 1 ? " (Holm-adjusted)" : ""}: ` +
      (p < 0.05 ? "the difference is clear at this sample size." : "the difference is not clear at this sample size.") +
      (paired.runs_resampled || paired.ci_info?.rule === "t" ? "" : " The test covers the sampling of examples, not training randomness.");
  }
  return `The most front-loaded update is ${hi.run} (N${k} ${pct(hi.net_early_share as number)}${z(hi)}); the least is ${lo.run} (N${k} ${pct(lo.net_early_share as number)}${z(lo)}).${test}`;
}

/**
 * One sentence per paired comparison of two runs or recipes (`compareUpdates`, METRICS.md 4): the
 * difference of one statistic (default N_k), its percentile interval, the p-value (the one given in
 * `pAdjusted`, e.g. Holm over a family of comparisons, else the comparison's own Holm-adjusted p),
 * the interval rule (runs fixed, t over runs, or two-stage bootstrap) and what it ignores.
 * @example describePairedComparison(c, { k: 5 }) // "sft (5 runs) - augment (5 runs), harmful probes: N5 differs by +0.120 (95% CI 0.050 to 0.190), p = 0.002; ..."
 */
export function describePairedComparison(
  c: Pick<PairedComparison, "a" | "b" | "rows" | "examples" | "ci_info" | "runs_resampled"> & { probe_set?: string | null },
  opts: { k: number; statistic?: string; pAdjusted?: number | null; family?: string },
): string {
  const statistic = opts.statistic ?? "net_early_share";
  const names: Record<string, string> = { net_early_share: `N${opts.k}`, early_share: `E${opts.k}`, z90: "z90", z50: "z50", level_early_share: `L${opts.k}`, net_change: "the net change D" };
  const name = names[statistic] ?? statistic;
  const [ra, rb] = c.ci_info.runs;
  const head = `${c.a} (${ra} run${ra === 1 ? "" : "s"}) against ${c.b} (${rb} run${rb === 1 ? "" : "s"})${c.probe_set ? `, ${c.probe_set} probes` : ""}`;
  const row = c.rows.find((r) => r.statistic === statistic);
  if (!row || row.difference === null) return `${head}: ${name} cannot be compared (no value on one side).`;
  const p = opts.pAdjusted !== undefined && opts.pAdjusted !== null ? opts.pAdjusted : (row.p_holm ?? row.p);
  const pText = p === null ? "no p-value" : `p = ${p < 0.001 ? "<0.001" : p.toFixed(3)}${opts.pAdjusted !== undefined && opts.pAdjusted !== null ? ` (Holm-adjusted over ${opts.family ?? "the family"})` : c.rows.length > 1 ? " (Holm-adjusted over the statistics compared)" : ""}`;
  const rule =
    c.ci_info.rule === "two-stage bootstrap"
      ? "seeds and examples resampled"
      : c.ci_info.rule === "t"
        ? `t rule over seeds, df ${c.ci_info.df ?? "n/a"}, with the examples' variance`
        : "examples resampled with the runs fixed: it ignores training randomness";
  const d = row.difference;
  return (
    `${head}: ${name} differs by ${d > 0 ? "+" : ""}${d.toFixed(3)} (${name} ${fmt3(row.a)} against ${fmt3(row.b)}; 95% CI ${row.ci ? `${row.ci[0].toFixed(3)} to ${row.ci[1].toFixed(3)}` : "none"}), ${pText}, ` +
    `paired over ${c.examples} shared examples (${rule}): ` +
    (p !== null && p < 0.05 ? "the difference is clear at this sample size." : "the difference is not clear at this sample size.")
  );
}
const fmt3 = (x: number | null) => (x === null ? "n/a" : x.toFixed(3));

/** How the early share moved over training, per run: first and last checkpoint after the start. */
export function describeConcentration(rows: Array<{ run: string; step: number; earlyShare: number | null }>, k: number): string[] {
  const runs = [...new Set(rows.map((r) => r.run))];
  return runs.map((run) => {
    const mine = rows.filter((r) => r.run === run && r.earlyShare !== null).sort((a, b) => a.step - b.step);
    if (mine.length === 0) return `${run}: no checkpoint with an update.`;
    const first = mine[0];
    const last = mine[mine.length - 1];
    const peak = mine.reduce((a, b) => ((b.earlyShare as number) > (a.earlyShare as number) ? b : a));
    return `${run}: E${k} is ${pct(first.earlyShare as number)} at step ${first.step}, peaks at ${pct(peak.earlyShare as number)} (step ${peak.step}) and ends at ${pct(last.earlyShare as number)} (step ${last.step}).`;
  });
}

/** A rate: whole percent, but one decimal near 0% and 100% (large samples give intervals like 0% to 0.2%). */
const rate = (x: number) =>
  x > 0 && x < 0.001 ? "<0.1%" : x > 0.999 && x < 1 ? ">99.9%" : (x > 0 && x < 0.01) || (x > 0.99 && x < 1) ? `${(100 * x).toFixed(1)}%` : pct(x);
const ivRate = (iv: Interval) => (iv ? ` (95% CI ${rate(iv[0])} to ${rate(iv[1])})` : "");

/** A value of a metric in a sentence: 3 significant digits, tiny values in exponent form. */
const num = (x: number) => (x === 0 ? "0" : Math.abs(x) < 0.01 ? x.toExponential(1) : Math.abs(x) >= 1000 ? x.toFixed(0) : x.toPrecision(3));
const signed = (x: number) => (x > 0 ? `+${num(x)}` : num(x));
const span = (a: number, b: number) => (a === b ? `position ${a}` : `positions ${a}-${b}`);

/** Average of the per-position means of one (run, step) at positions < k and >= k (null where none). */
function earlyLate(rows: readonly PositionProfileRow[], run: string, step: number, k: number) {
  const mine = rows.filter((r) => r.run === run && r.step === step && r.mean !== null);
  const avg = (xs: PositionProfileRow[]) => (xs.length ? xs.reduce((a, r) => a + (r.mean as number), 0) / xs.length : null);
  const early = mine.filter((r) => r.position < k);
  const late = mine.filter((r) => r.position >= k);
  return { early: avg(early), late: avg(late), last: mine.reduce((a, r) => Math.max(a, r.position), -1) };
}

/**
 * Per run: how the average of the per-position means moved between two steps (default the run's
 * first and last) at the first k positions and after them. Rows come from `positionProfile`.
 * @example describeProfileChange(profile, { k: 5, what: "refusal probes" })
 * // ["sft: on refusal probes, the mean loss at positions 0-4 went from 4.21 at step 0 to 0.520 at step 20 (-3.69); at positions 5-21 from 4.30 to 3.90 (-0.400)."]
 */
export function describeProfileChange(rows: readonly PositionProfileRow[], opts: { k: number; metric?: string; what?: string; from?: number; to?: number }): string[] {
  const metric = opts.metric ?? "loss";
  const what = opts.what ? `on ${opts.what}, ` : "";
  const runs = [...new Set(rows.map((r) => r.run))];
  return runs.map((run) => {
    const steps = [...new Set(rows.filter((r) => r.run === run && r.mean !== null).map((r) => r.step))].sort((a, b) => a - b);
    const from = opts.from ?? steps[0];
    const to = opts.to ?? steps[steps.length - 1];
    if (from === undefined || from === to || !steps.includes(from) || !steps.includes(to)) return `${run}: no two checkpoints to compare.`;
    const a = earlyLate(rows, run, from, opts.k);
    const b = earlyLate(rows, run, to, opts.k);
    const parts: string[] = [];
    if (a.early !== null && b.early !== null) parts.push(`at ${span(0, opts.k - 1)} went from ${num(a.early)} at step ${from} to ${num(b.early)} at step ${to} (${signed(b.early - a.early)})`);
    if (a.late !== null && b.late !== null) {
      const where = `at ${span(opts.k, Math.max(a.last, b.last))}`;
      parts.push(parts.length ? `${where} from ${num(a.late)} to ${num(b.late)} (${signed(b.late - a.late)})` : `${where} went from ${num(a.late)} at step ${from} to ${num(b.late)} at step ${to} (${signed(b.late - a.late)})`);
    }
    return `${run}: ${what}the mean ${metric} ${parts.join("; ")}.`;
  });
}

/**
 * Per series of an overlay (e.g. each run at its final step): the average per-position mean at the
 * first k positions and after them, then which series stays highest after position k - 1.
 * @example describeOverlay(klRows, await finalSteps(logs), { k: 5, metric: "kl" })
 */
export function describeOverlay(rows: readonly PositionProfileRow[], series: readonly ProfileSeries[], opts: { k: number; metric?: string }): string[] {
  const metric = opts.metric ?? "loss";
  const stats = series.map((s) => ({ s, ...earlyLate(rows, s.run, s.step, opts.k) }));
  const lines = stats.map(({ s, early, late, last }) => {
    const name = s.label ?? `${s.run}, step ${s.step}`;
    if (early === null && late === null) return `${name}: no ${metric} values.`;
    const e = early === null ? "" : `mean ${metric} ${num(early)} at ${span(0, opts.k - 1)}`;
    const l = late === null ? "" : `${e ? " and " : `mean ${metric} `}${num(late)} at ${span(opts.k, last)}`;
    const ratio = early !== null && late !== null && early > 0 ? ` (the later level is ${pct(late / early)} of the early one)` : "";
    return `${name}: ${e}${l}${ratio}.`;
  });
  const withLate = stats.filter((x) => x.late !== null);
  if (withLate.length > 1) {
    const sorted = [...withLate].sort((a, b) => (b.late as number) - (a.late as number));
    const hi = sorted[0];
    const lo = sorted[sorted.length - 1];
    lines.push(
      `After position ${opts.k - 1}, ${metric} stays highest for ${hi.s.label ?? hi.s.run} (${num(hi.late as number)}) and lowest for ${lo.s.label ?? lo.s.run} (${num(lo.late as number)}).`,
    );
  }
  return lines;
}

/**
 * Per (run, attack) with rows that have `field`: the ASR at the smallest and the largest value of
 * the field, with the rows' 95% intervals (Wilson with one record per example, the cluster
 * bootstrap over examples where an example has several records, as `AsrRow.ci_method` says;
 * METRICS 4; recipe rows from `recipeAsrAsRuns`: across seeds and examples, METRICS 3.7), and where
 * it peaks. Rows come from `asrByK`, `asrByPrefixLen`, `asrBySpanLen`, `attackSuccess(records, { by:
 * [field] })` for any other numeric condition field (e.g. `ft_step`), or `recipeAsrAsRuns`.
 * @example describeAsr(asrByK(records), "k") // ["sft (prefill): ASR 0% at k = 0 (95% CI 0% to 32%), 88% at k = 10 (...)."]
 */
export function describeAsr(rows: readonly AsrRow[], field: string): string[] {
  const val = (r: AsrRow) => {
    const v = field === "k" || field === "prefix_len" || field === "span_len" ? r[field] : r.conditions?.[field];
    return typeof v === "number" ? v : null;
  };
  const mine = rows.filter((r) => val(r) !== null && r.asr !== null);
  const keys: Array<[string, string]> = [];
  for (const r of mine) if (!keys.some(([a, b]) => a === r.run && b === r.attack)) keys.push([r.run, r.attack]);
  const at = (r: AsrRow) => `${rate(r.asr as number)} at ${field} = ${val(r)}${ivRate(r.ci)}`;
  return keys.map(([run, attack]) => {
    const g = mine.filter((r) => r.run === run && r.attack === attack).sort((a, b) => (val(a) as number) - (val(b) as number));
    const first = g[0];
    const last = g[g.length - 1];
    const peak = g.reduce((a, b) => ((b.asr as number) > (a.asr as number) ? b : a));
    if (g.length === 1) return `${run} (${attack}): ASR ${at(first)}.`;
    const peakNote = peak !== first && peak !== last && (peak.asr as number) > Math.max(first.asr as number, last.asr as number) ? `; it peaks at ${rate(peak.asr as number)} (${field} = ${val(peak)})` : "";
    const half = (first.asr as number) < 0.5 ? g.find((r) => (r.asr as number) >= 0.5) : undefined;
    const halfNote = half && half !== last ? `; it first reaches 50% at ${field} = ${val(half)}` : "";
    return `${run} (${attack}): ASR ${at(first)}, ${at(last)}${halfNote}${peakNote}.`;
  });
}

/**
 * One sentence per row of `attackReach`: the largest condition value at which the attack still
 * works (ASR lower bound above the level), or that none does.
 */
export function describeAttackReach(rows: readonly AttackReach[]): string[] {
  const words: Record<string, string> = { prefix_len: "refusal tokens", k: "prefilled tokens", span_len: "inserted tokens" };
  return rows.map((r) => {
    const unit = words[r.field] ?? r.field;
    if (r.value === null)
      return `${r.run} (${r.attack}): at no ${r.field} tested (${r.minTested} to ${r.maxTested}) is the ASR's 95% lower bound above ${pct(r.level)}.`;
    const longest = r.value === r.maxTested ? `, the longest tested` : ` (${r.maxTested} tested)`;
    return `${r.run} (${r.attack}): still works after ${r.value} ${unit}${longest}: ASR ${rate(r.asr as number)}, ${r.harmful}/${r.n}${ivRate(r.ci)}, lower bound above ${pct(r.level)}.`;
  });
}

/** Per attack in a run comparison: which run resists it best and which worst. */
export function describeAttackComparison(rows: readonly RunComparison[]): string[] {
  const attacks = [...new Set(rows.flatMap((r) => Object.keys(r.asr)))].sort();
  return attacks.map((attack) => {
    const have = rows.filter((r) => r.asr[attack]?.asr !== null && r.asr[attack] !== undefined);
    if (have.length === 0) return `${attack}: no run has results.`;
    const sorted = [...have].sort((a, b) => (a.asr[attack].asr as number) - (b.asr[attack].asr as number));
    const lo = sorted[0];
    const hi = sorted[sorted.length - 1];
    const f = (r: RunComparison) => `${r.run} (${rate(r.asr[attack].asr as number)}, ${r.asr[attack].condition})`;
    if (have.length === 1) return `${attack}: ASR of ${f(lo)}.`;
    if (lo.asr[attack].asr === hi.asr[attack].asr) return `${attack}: every run has the same ASR, ${rate(lo.asr[attack].asr as number)} (${lo.asr[attack].condition}).`;
    return `${attack}: the lowest ASR is ${f(lo)}, the highest ${f(hi)}.`;
  });
}

/**
 * Per run of `updateByStep` rows: the average per-position change since the first checkpoint at
 * the first k positions and after them, at the last checkpoint, and the first checkpoint by which
 * each had reached half of that final change (which part of the response learns first).
 * @example describeUpdateByStep(await updateByStep(logs, { where: { split: "refusal" } }), { k: 5 })
 */
export function describeUpdateByStep(rows: readonly StepUpdateRow[], opts: { k: number; metric?: string }): string[] {
  const metric = opts.metric ?? "loss";
  const runs = [...new Set(rows.map((r) => r.run))];
  return runs.map((run) => {
    const mine = rows.filter((r) => r.run === run);
    const steps = [...new Set(mine.map((r) => r.step))].sort((a, b) => a - b);
    const avg = (step: number, early: boolean) => {
      const xs = mine.filter((r) => r.step === step && (r.position < opts.k) === early);
      return xs.length ? xs.reduce((a, r) => a + r.delta, 0) / xs.length : null;
    };
    const last = steps[steps.length - 1];
    const lastPos = mine.reduce((a, r) => Math.max(a, r.position), -1);
    const parts = [true, false].flatMap((early) => {
      const final = avg(last, early);
      if (final === null) return [];
      const where = early ? `at ${span(0, Math.min(opts.k, lastPos + 1) - 1)}` : `at ${span(opts.k, lastPos)}`;
      const half = final === 0 ? undefined : steps.find((s) => {
        const v = avg(s, early);
        return v !== null && Math.sign(v) === Math.sign(final) && Math.abs(v) >= Math.abs(final) / 2;
      });
      return [`${signed(final)} ${where}${half === undefined ? "" : ` (half of it by step ${half})`}`];
    });
    if (parts.length === 0) return `${run}: no checkpoint after the first.`;
    return `${run}: by step ${last} the ${metric} changed on average by ${parts.join(" and ")}, since step ${mine[0].from}.`;
  });
}

/** The largest token updates in one sentence: where the biggest is, and how many lie at positions < k. */
export function describeLargestUpdates(rows: readonly TokenUpdate[], opts: { k: number; metric?: string }): string {
  const metric = opts.metric ?? "loss";
  if (rows.length === 0) return `No token has a ${metric} at two checkpoints.`;
  const top = rows[0];
  const early = rows.filter((r) => r.position < opts.k).length;
  const tok = top.token === null ? "" : ` (token ${JSON.stringify(top.token)})`;
  return (
    `The largest change in ${metric} is ${signed(top.change)} at position ${top.position}${tok} of example ${top.example} in ${top.run}, step ${top.from} to ${top.to}; ` +
    `${early} of these ${rows.length} largest changes are at positions 0-${opts.k - 1}.`
  );
}
