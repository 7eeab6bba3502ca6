/** Sentences from the fixture's summary (k = 1; numbers from test/dynamics/statistics.test.ts). */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadDynamicsLogs } from "../../src/dynamics/load";
import { dynamicsSummary } from "../../src/dynamics/summary";
import { describeApproximation, describeSourceEarlyShare, describeTrainGradient } from "../../src/dynamics/describe";

const dir = join(__dirname, "..", "fixtures", "dynamics");
const summary = async () => dynamicsSummary(await loadDynamicsLogs(["influence-sft.jsonl", "train-gradient-sft.jsonl", "probe-change-sft.jsonl"].map((f) => join(dir, f))), { k: 1 });

describe("dynamics sentences", () => {
  it("S_k and X_k per recipe and probe set, at the last step where S_k is defined", async () => {
    // harmful: step 10 has no net change, so step 0: S_1 seeds [0.7, 0.5] mean 0.6 +/- 1.2706; token share 0.4;
    // z50 seeds [5/7, 1] mean 0.857; X_1 seeds [0.6, null]. refusal, step 10 (seed 1 only): S_1 0.7, z50 5/7, X_1 0.6.
    expect(describeSourceEarlyShare(await summary())).toEqual([
      "sft, harmful probes, step 0: training positions < 1 cause 60% (95% CI across 2 seeds -67% to 187%) of the first-order change of the probe losses (S1), against 40% of the training tokens; half of it comes from the first 0.86 training positions. Of the change at probe positions >= 1, training positions < 1 cause 60% (one seed: no interval; it ignores training randomness) (X1). First-order check at this step: relative error 24% (1 of 2 runs checked).",
      "sft, refusal probes, step 10: training positions < 1 cause 70% (one seed: no interval; it ignores training randomness) of the first-order change of the probe losses (S1), against 40% of the training tokens; half of it comes from the first 0.71 training positions. Of the change at probe positions >= 1, training positions < 1 cause 60% (one seed: no interval; it ignores training randomness) (X1). The first-order approximation is not checked at this step (no probe-change log).",
    ]);
  });
  it("the training gradient's level share", async () => {
    // step 10, seed 1 only: L_1 = 0.25, z50 = 2
    expect(describeTrainGradient(await summary())).toEqual([
      "sft, step 10: training positions < 1 carry 25% (one seed: no interval; it ignores training randomness) of the summed per-position gradient norms g(q); half lies in the first 2.00 positions.",
    ]);
  });
  it("the approximation check", async () => {
    // r [sqrt(4/7), null]; ratio [1, 0] median 0.5; relative error [0.2357, 1] median 0.6179
    expect(describeApproximation((await summary()).approximation)).toBe(
      "First-order check over 2 (run, step, probe set) combinations: Pearson r between predicted and measured change across positions median 0.76 (0.76 to 0.76); ratio of sums median 0.50 (0.00 to 1.00); relative L2 error median 62% (24% to 100%).",
    );
    expect(describeApproximation([])).toMatch(/not checked/);
    // small errors keep two significant digits: 0.0013 -> 0.13%, 5.1e-4 -> 0.051%, median 9.05e-4 (9.0499...e-4 in floating point) -> 0.090%
    const row = (await summary()).approximation[0];
    expect(describeApproximation([{ ...row, relative_l2_error: 0.0013 }, { ...row, relative_l2_error: 5.1e-4 }])).toContain("relative L2 error median 0.090% (0.051% to 0.13%)");
  });
});
