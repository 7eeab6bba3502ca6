/**
 * The position profiles of chosen (run, step) pairs, for overlays: two runs at their final step
 * (standard safety training against augmented training), or one run at two checkpoints.
 */
import type { TokenLogs } from "../load";
import { PositionProfileRow, positionProfile } from "./positionProfile";
import type { RowFilter } from "./source";

/** One line of an overlay: a run at a step, with an optional legend label. */
export interface ProfileSeries {
  run: string;
  step: number;
  label?: string;
}

/**
 * Numeric columns that hold per-token gradient norms: `grad_norm` and per-layer columns whose
 * name starts with `grad_norm` (e.g. `grad_norm_layer3`), in the order of the logs.
 */
export function gradientMetrics(logs: TokenLogs): string[] {
  return logs.metrics.filter((m) => m.startsWith("grad_norm"));
}

/** Each run's last step (with any token), as overlay series labelled by run. */
export async function finalSteps(logs: TokenLogs, runs?: string[]): Promise<ProfileSeries[]> {
  const rows = await logs.engine.rows<{ run: string; step: number }>(`SELECT run, max(step) AS step FROM ${logs.table} GROUP BY run ORDER BY run`);
  return rows.filter((r) => !runs || runs.includes(r.run)).sort((a, b) => (runs ? runs.indexOf(a.run) - runs.indexOf(b.run) : 0)).map((r) => ({ run: r.run, step: r.step, label: `${r.run}, step ${r.step}` }));
}

/**
 * The position profile of `metric` (default `loss`) for exactly the (run, step) pairs of `series`.
 * @example
 * const series = await finalSteps(logs, ["sft", "augment"]);
 * const rows = await profileSeries(logs, { metric: "kl", series });
 * show(profileOverlayFigure(rows, series, { metric: "kl" }));
 */
export async function profileSeries(logs: TokenLogs, opts: { metric?: string; series: ProfileSeries[]; where?: RowFilter }): Promise<PositionProfileRow[]> {
  if (opts.series.length === 0) return [];
  const rows = await positionProfile(logs, {
    metric: opts.metric,
    runs: [...new Set(opts.series.map((s) => s.run))],
    steps: [...new Set(opts.series.map((s) => s.step))],
    where: opts.where,
  });
  return rows.filter((r) => opts.series.some((s) => s.run === r.run && s.step === r.step));
}
