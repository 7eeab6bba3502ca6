/**
 * The token-share reference of the source early share (METRICS 7): n_tokens(q < k) / n_tokens(all),
 * the share S_k would take if every training token pushed the probes equally.
 */
import type { TrainGradientRecord } from "./load";

/**
 * Token share per (run, step) of the training-gradient records: the key is JSON [run, step].
 * Null when the step's tokens sum to 0.
 * @example tokenShares([{ run: "a", step: 0, source_position: 0, train_grad_norm: 1, n_tokens: 3 }, { ..., source_position: 9, n_tokens: 1 }], 5) // "[\"a\",0]" -> 0.75
 */
export function tokenShares(records: readonly TrainGradientRecord[], k: number): Map<string, number | null> {
  const sums = new Map<string, [number, number]>();
  for (const r of records) {
    const key = JSON.stringify([r.run, r.step]);
    const s = sums.get(key) ?? [0, 0];
    if (r.source_position < k) s[0] += r.n_tokens;
    s[1] += r.n_tokens;
    sums.set(key, s);
  }
  const out = new Map<string, number | null>();
  for (const [key, [early, all]] of sums) out.set(key, all > 0 ? early / all : null);
  return out;
}
