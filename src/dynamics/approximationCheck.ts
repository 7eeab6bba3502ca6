/**
 * Check of the first-order approximation (METRICS 7): at each logged step and probe set, the
 * predicted change of lbar_p, sum over q of I(p, q), against the measured change
 * loss_after(p) - loss_before(p), across the probe positions both logs hold:
 * - Pearson r across p (null with fewer than 2 positions or when either side is constant);
 * - ratio of sums: sum of predicted / sum of measured (null when the measured sum is 0);
 * - relative L2 error: ||predicted - measured||_2 / ||measured||_2 (null when the measured change is 0).
 */
import { InfluenceMatrix, predictedChange } from "./influenceMatrix";
import type { ProbeChangeRecord } from "./load";

export interface ApproximationPosition {
  position: number;
  /** sum over q of I(p, q), nats. */
  predicted: number;
  /** loss_after - loss_before, nats. */
  measured: number;
}

export interface ApproximationCheckRow {
  run: string;
  step: number;
  split: string;
  /** Probe positions in both logs. */
  n_positions: number;
  pearson_r: number | null;
  ratio_of_sums: number | null;
  relative_l2_error: number | null;
  predicted_sum: number;
  measured_sum: number;
  /** Positions with influence but no measured change, and with a measured change but no influence. */
  positions_without_measurement: number;
  positions_without_influence: number;
  /** Per position, ascending. */
  positions: ApproximationPosition[];
}

/** Pearson's r of two equally long arrays; null with n < 2 or a constant side. */
export function pearson(x: readonly number[], y: readonly number[]): number | null {
  const n = x.length;
  if (n < 2) return null;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : null;
}

/**
 * One row per influence matrix that has probe-change records for its (run, step, split); the
 * matrices without are returned in `unchecked` (they cannot be checked: say so beside them).
 */
export function approximationCheck(matrices: readonly InfluenceMatrix[], probeChange: readonly ProbeChangeRecord[]): { rows: ApproximationCheckRow[]; unchecked: Array<{ run: string; step: number; split: string }> } {
  const measured = new Map<string, Map<number, number>>();
  for (const r of probeChange) {
    const key = JSON.stringify([r.run, r.step, r.split]);
    let m = measured.get(key);
    if (!m) measured.set(key, (m = new Map()));
    m.set(r.position, r.loss_after - r.loss_before);
  }
  const rows: ApproximationCheckRow[] = [];
  const unchecked: Array<{ run: string; step: number; split: string }> = [];
  for (const m of matrices) {
    const meas = measured.get(JSON.stringify([m.run, m.step, m.split]));
    if (!meas) {
      unchecked.push({ run: m.run, step: m.step, split: m.split });
      continue;
    }
    const pred = predictedChange(m);
    const positions: ApproximationPosition[] = [];
    m.positions.forEach((p, i) => {
      const v = meas.get(p);
      if (v !== undefined) positions.push({ position: p, predicted: pred[i], measured: v });
    });
    const inMatrix = new Set(m.positions);
    const x = positions.map((r) => r.predicted);
    const y = positions.map((r) => r.measured);
    const ps = x.reduce((a, b) => a + b, 0);
    const ms = y.reduce((a, b) => a + b, 0);
    let err = 0;
    let norm = 0;
    for (let i = 0; i < x.length; i++) {
      err += (x[i] - y[i]) ** 2;
      norm += y[i] ** 2;
    }
    rows.push({
      run: m.run,
      step: m.step,
      split: m.split,
      n_positions: positions.length,
      pearson_r: pearson(x, y),
      ratio_of_sums: ms !== 0 ? ps / ms : null,
      relative_l2_error: norm > 0 ? Math.sqrt(err) / Math.sqrt(norm) : null,
      predicted_sum: ps,
      measured_sum: ms,
      positions_without_measurement: m.positions.length - positions.length,
      positions_without_influence: [...meas.keys()].filter((p) => !inMatrix.has(p)).length,
      positions,
    });
  }
  return { rows, unchecked };
}
