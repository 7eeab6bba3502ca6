/** The approximation check per recipe and step, and the sentence on where it fails. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadDynamicsLogs } from "../../src/dynamics/load";
import { dynamicsSummary } from "../../src/dynamics/summary";
import { approximationByRecipe } from "../../src/dynamics/approximationByRecipe";
import { describeApproximationByRecipe } from "../../src/dynamics/describe";
import type { ApproximationCheckRow } from "../../src/dynamics/approximationCheck";

const dir = join(__dirname, "..", "fixtures", "dynamics");

const check = (run: string, step: number, r: number | null, ratio: number | null, err: number | null): ApproximationCheckRow => ({
  run, step, split: "harmful", n_positions: 3, pearson_r: r, ratio_of_sums: ratio, relative_l2_error: err, predicted_sum: 0, measured_sum: 0,
  positions_without_measurement: 0, positions_without_influence: 0, positions: [],
});

describe("approximationByRecipe", () => {
  it("on the fixture: one checked seed per step", async () => {
    const s = dynamicsSummary(await loadDynamicsLogs(["influence-sft.jsonl", "train-gradient-sft.jsonl", "probe-change-sft.jsonl"].map((f) => join(dir, f))), { k: 1 });
    const rows = approximationByRecipe(s.approximation, s.runs);
    // sft-seed1 harmful: step 0 r sqrt(4/7), ratio 1, relative error sqrt(1/18) = 0.2357; step 10 r null, ratio 0, relative error 1
    expect(rows.map((r) => [r.recipe, r.split, r.step, r.runs, r.poor])).toEqual([["sft", "harmful", 0, 1, 0], ["sft", "harmful", 10, 1, 1]]);
    expect(rows[0].pearson_r.median).toBeCloseTo(Math.sqrt(4 / 7), 12);
    expect(rows[0].relative_l2_error.median).toBeCloseTo(Math.sqrt(1 / 18), 12);
    expect(rows[1].pearson_r).toEqual({ median: null, min: null, max: null, n_null: 1 });
    expect(describeApproximationByRecipe(rows)).toEqual([
      "On the harmful probes, the first-order prediction matches the measured change (median relative L2 error over seeds at most 50%) in 1 of 2 (recipe, step) cells; it fails for sft at step 10 (relative error 100%; 1 of 1 seed checks poor).",
    ]);
  });
  it("median, smallest and largest over seeds; poor = above the limit or undefined", () => {
    const rows = [check("a-seed1", 5, 0.9, 1.1, 0.1), check("a-seed2", 5, 0.5, 0.7, 0.6), check("a-seed3", 5, 0.7, 2, null), check("a-seed4", 5, 0.1, 1.3, 0.3)];
    const runs = [1, 2, 3, 4].map((i) => ({ run: `a-seed${i}`, recipe: "a" }));
    const [r] = approximationByRecipe(rows, runs);
    expect(r.pearson_r).toEqual({ median: 0.6, min: 0.1, max: 0.9, n_null: 0 });
    expect(r.ratio_of_sums.median).toBeCloseTo(1.2, 14);
    expect(r.relative_l2_error).toEqual({ median: 0.3, min: 0.1, max: 0.6, n_null: 1 });
    expect(r.poor).toBe(2);
    expect(approximationByRecipe(rows, runs, { poorAbove: 0.05 })[0].poor).toBe(4);
    expect(describeApproximationByRecipe([r])).toEqual(["On the harmful probes, the first-order prediction matches the measured change (median relative L2 error over seeds at most 50%) in 1 of 1 (recipe, step) cells."]);
    // poor cells grouped per recipe: the steps, the range of their medians, and the poor seed checks
    const poor = approximationByRecipe(
      [check("a-seed1", 5, 0.1, 2, 0.9), check("a-seed2", 5, 0.1, 2, 0.7), check("a-seed1", 7, 0.1, 2, 3), check("b-seed1", 5, 0.1, 2, null)],
      [...runs, { run: "b-seed1", recipe: "b" }],
    );
    expect(describeApproximationByRecipe(poor)).toEqual([
      "On the harmful probes, the first-order prediction matches the measured change (median relative L2 error over seeds at most 50%) in 0 of 3 (recipe, step) cells; it fails for a at steps 5, 7 (relative error 80% to 300%; 3 of 3 seed checks poor); b at step 5 (no measured change; 1 of 1 seed checks poor).",
    ]);
  });
});
