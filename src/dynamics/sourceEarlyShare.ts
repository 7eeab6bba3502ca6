/**
 * Source early share S_k (METRICS 7): of the first-order change a training step makes to a probe
 * set's mean losses, the share that comes from training positions q < k:
 * S_k = sum over q < k and all p of I(p, q) / sum over all p, q of I(p, q). A net share: terms of
 * either sign count with their sign, so S_k can leave [0, 1]; null when the denominator is 0.
 * Shown beside its token-share reference n_tokens(q < k) / n_tokens(all), and with the
 * interpolated depths z50, z90 of the source profile sum over p of I(p, q) (METRICS 3.4 on the
 * training-position axis).
 */
import { InfluenceMatrix, sourceProfile } from "./influenceMatrix";
import { interpolatedDepth } from "../stats/interpolatedDepth";
import type { TrainGradientRecord } from "./load";
import { tokenShares } from "./tokenShare";

export interface SourceEarlyShareRow {
  run: string;
  step: number;
  split: string;
  k: number;
  /** sum over all p, q of I(p, q): the predicted net change of the probe set's losses summed over positions (nats). */
  net_influence: number;
  source_early_share: number | null;
  /** n_tokens(q < k) / n_tokens(all) at this step; null without training-gradient records for it. */
  token_share: number | null;
  /** Interpolated depths of the source profile, in training positions. */
  source_z50: number | null;
  source_z90: number | null;
  /** max cumulative share of the source profile, when above 1.02 (else null). */
  source_max_cumulative: number | null;
  /** Probe positions and training positions of the matrix, and its cells without a record. */
  positions: number;
  sources: number;
  missing_cells: number;
}

/**
 * S_k per influence matrix (one per run, step, probe set).
 * @param matrices from `influenceMatrices`.
 * @param trainGradient training-gradient records, for the token-share reference (may be empty).
 * @param k early cut-off on the training-position axis (default 5).
 */
export function sourceEarlyShare(matrices: readonly InfluenceMatrix[], trainGradient: readonly TrainGradientRecord[] = [], opts: { k?: number } = {}): SourceEarlyShareRow[] {
  const k = opts.k ?? 5;
  const shares = tokenShares(trainGradient, k);
  return matrices.map((m) => {
    const prof = sourceProfile(m);
    let d = 0;
    let early = 0;
    for (let j = 0; j < m.sources.length; j++) {
      d += prof[j];
      if (m.sources[j] < k) early += prof[j];
    }
    const z50 = interpolatedDepth(m.sources, prof, 0.5);
    const z90 = interpolatedDepth(m.sources, prof, 0.9);
    const maxC = z50.maxCumulative;
    return {
      run: m.run,
      step: m.step,
      split: m.split,
      k,
      net_influence: d,
      source_early_share: d === 0 ? null : early / d,
      token_share: shares.get(JSON.stringify([m.run, m.step])) ?? null,
      source_z50: z50.depth,
      source_z90: z90.depth,
      source_max_cumulative: maxC !== null && maxC > 1.02 ? maxC : null,
      positions: m.positions.length,
      sources: m.sources.length,
      missing_cells: m.missingCells,
    };
  });
}
