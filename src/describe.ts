/**
 * Sentences that state what a result shows, computed from the numbers (for notebooks and the
 * report, so that no prose is typed in by hand next to a figure).
 */
import type { RunSummary } from "./stats/summary";
import type { Interval } from "./stats/bootstrap";

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
const ivPct = (iv: Interval) => (iv ? ` (95% CI ${pct(iv[0])} to ${pct(iv[1])})` : "");
const ivNum = (iv: Interval) => (iv ? ` (95% CI ${fmt(iv[0])} to ${fmt(iv[1])})` : "");
const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));

/** One sentence per run: how much of the update the first k positions carry, and its depth. */
export function describeSummary(s: RunSummary, opts: { metric?: string; k: number; what?: string }): string {
  const metric = opts.metric ?? "loss";
  const what = opts.what ? ` on ${opts.what}` : "";
  if (s.early_share === null)
    return `${s.run}: no change in ${metric}${what} between step ${s.from} and step ${s.to} (${s.examples} examples paired), so the update has no shape.`;
  return (
    `${s.run}: the first ${opts.k} positions carry ${pct(s.early_share)}${ivPct(s.ci.early_share)} of the change in ${metric}${what} ` +
    `between step ${s.from} and step ${s.to}; half of it lies in the first ${s.d50}${ivNum(s.ci.d50)} positions and 90% in the first ${s.d90}${ivNum(s.ci.d90)}, ` +
    `over ${s.positions} positions and ${s.examples} examples.`
  );
}

/** Which run's update is the most and the least concentrated on early positions. */
export function compareConcentration(runs: RunSummary[], k: number): string {
  const ok = runs.filter((r) => r.early_share !== null);
  if (ok.length < 2) return ok.length === 1 ? `Only ${ok[0].run} has an update to compare.` : "No run has an update to compare.";
  const sorted = [...ok].sort((a, b) => (b.early_share as number) - (a.early_share as number));
  const hi = sorted[0];
  const lo = sorted[sorted.length - 1];
  const overlap = hi.ci.early_share && lo.ci.early_share && hi.ci.early_share[0] <= lo.ci.early_share[1];
  return (
    `The most front-loaded update is ${hi.run} (E${k} ${pct(hi.early_share as number)}, d90 ${hi.d90}); the least is ${lo.run} ` +
    `(E${k} ${pct(lo.early_share as number)}, d90 ${lo.d90}). ` +
    (overlap ? "Their intervals overlap: the difference is not clear at this sample size." : "Their 95% intervals do not overlap.")
  );
}

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
