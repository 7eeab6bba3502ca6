/**
 * Cross influence X_k (METRICS 7): of the first-order change at later probe positions (p >= k),
 * the share that comes from early training positions (q < k):
 * X_k = sum over q < k, p >= k of I(p, q) / sum over all q and p >= k of I(p, q).
 * A net share (signed terms); null when the denominator is 0 or no probe position is >= k.
 * Autoregressive consistency predicts a high X_k for standard SFT: training the first tokens
 * moves the probe's later positions too.
 */
import type { InfluenceMatrix } from "./influenceMatrix";

export interface CrossInfluenceRow {
  run: string;
  step: number;
  split: string;
  k: number;
  /** sum over all q and p >= k of I(p, q) (nats). */
  late_influence: number;
  cross_influence: number | null;
}

/** X_k per influence matrix (one per run, step, probe set); k defaults to 5. */
export function crossInfluence(matrices: readonly InfluenceMatrix[], opts: { k?: number } = {}): CrossInfluenceRow[] {
  const k = opts.k ?? 5;
  return matrices.map((m) => {
    let late = 0;
    let cross = 0;
    const w = m.sources.length;
    for (let i = 0; i < m.positions.length; i++) {
      if (m.positions[i] < k) continue;
      for (let j = 0; j < w; j++) {
        const v = m.values[i * w + j];
        late += v;
        if (m.sources[j] < k) cross += v;
      }
    }
    return { run: m.run, step: m.step, split: m.split, k, late_influence: late, cross_influence: late === 0 ? null : cross / late };
  });
}
