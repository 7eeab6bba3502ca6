/**
 * Where the training gradient acts (METRICS 7): g(q) = ||G_q||_2 per training position q, its
 * level share L_k = sum over q < k of g(q) / sum over q of g(q) (METRICS 3.5, with the logged
 * positions as the used ones) and interpolated depths z50, z90 (3.4 on the training-position
 * axis), and g(q) / n_tokens(q), the gradient norm per training token at q.
 */
import { interpolatedDepth } from "../stats/interpolatedDepth";
import type { TrainGradientRecord } from "./load";

export interface TrainGradientPosition {
  source_position: number;
  train_grad_norm: number;
  n_tokens: number;
  /** g(q) / n_tokens(q); null when n_tokens(q) = 0. */
  grad_norm_per_token: number | null;
}

export interface TrainGradientProfileRow {
  run: string;
  step: number;
  k: number;
  /** L_k of g; null when every g(q) is 0. */
  level_early_share: number | null;
  /** n_tokens(q < k) / n_tokens(all); null when no tokens. */
  token_share: number | null;
  level_z50: number | null;
  level_z90: number | null;
  /** Per training position, ascending. */
  positions: TrainGradientPosition[];
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** One row per (run, step) of the training-gradient records, sorted by run and step; k defaults to 5. */
export function trainGradientProfile(records: readonly TrainGradientRecord[], opts: { k?: number } = {}): TrainGradientProfileRow[] {
  const k = opts.k ?? 5;
  const groups = new Map<string, TrainGradientRecord[]>();
  for (const r of records) {
    const key = JSON.stringify([r.run, r.step]);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(r);
  }
  const out: TrainGradientProfileRow[] = [];
  for (const g of groups.values()) {
    const rows = [...g].sort((a, b) => a.source_position - b.source_position);
    let sum = 0;
    let early = 0;
    let tokens = 0;
    let earlyTokens = 0;
    for (const r of rows) {
      sum += r.train_grad_norm;
      tokens += r.n_tokens;
      if (r.source_position < k) {
        early += r.train_grad_norm;
        earlyTokens += r.n_tokens;
      }
    }
    const qs = rows.map((r) => r.source_position);
    const gs = rows.map((r) => r.train_grad_norm);
    out.push({
      run: rows[0].run,
      step: rows[0].step,
      k,
      level_early_share: sum > 0 ? early / sum : null,
      token_share: tokens > 0 ? earlyTokens / tokens : null,
      level_z50: interpolatedDepth(qs, gs, 0.5).depth,
      level_z90: interpolatedDepth(qs, gs, 0.9).depth,
      positions: rows.map((r) => ({ source_position: r.source_position, train_grad_norm: r.train_grad_norm, n_tokens: r.n_tokens, grad_norm_per_token: r.n_tokens > 0 ? r.train_grad_norm / r.n_tokens : null })),
    });
  }
  return out.sort((a, b) => byText(a.run, b.run) || a.step - b.step);
}
