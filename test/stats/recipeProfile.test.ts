/** Recipe-level position profile (METRICS 3.7 over the 3.1 means), and the metric-over-steps figure. */
import { describe, expect, it } from "vitest";
import { recipeProfile } from "../../src/stats/recipeProfile";
import type { PositionProfileRow } from "../../src/stats/positionProfile";
import { metricOverStepsFigure } from "../../src/figures/metricOverSteps";

const row = (run: string, step: number, position: number, mean: number | null, se: number | null = 0.1): PositionProfileRow => ({ run, step, position, n: 4, mean, sd: se === null ? null : 2 * se, se });

describe("recipeProfile", () => {
  it("averages the runs' means per (recipe, step, position), sd and se across runs", () => {
    const rows = [row("sft-seed1", 0, 0, 2), row("sft-seed2", 0, 0, 4), row("sft-seed3", 0, 0, 6), row("aug-seed1", 0, 0, 1), row("sft-seed1", 0, 1, null)];
    const recipeOf = new Map([["sft-seed1", "sft"], ["sft-seed2", "sft"], ["sft-seed3", "sft"], ["aug-seed1", "aug"]]);
    const out = recipeProfile(rows, recipeOf);
    // aug first (sorted), one run: no sd; sft: mean 4, sd 2 (values 2, 4, 6), se 2 / sqrt(3); the null mean is left out
    expect(out).toHaveLength(2);
    expect(out[0]).toEqual({ run: "aug", step: 0, position: 0, n: 1, mean: 1, sd: null, se: null, run_names: ["aug-seed1"] });
    expect(out[1]).toMatchObject({ run: "sft", step: 0, position: 0, n: 3, mean: 4, sd: 2, run_names: ["sft-seed1", "sft-seed2", "sft-seed3"] });
    expect(out[1].se).toBeCloseTo(2 / Math.sqrt(3), 12);
  });
});

describe("metricOverStepsFigure", () => {
  it("one line per position over steps, and the average of the later positions", () => {
    const rows = [0, 5, 10].flatMap((s) => [row("r", s, 0, 3 - s / 5), row("r", s, 1, 2), row("r", s, 2, 1 + s), row("r", s, 3, 3 + s)]);
    const f = metricOverStepsFigure(rows, { positions: [0, 1], band: false });
    const names = f.data.map((t) => t.name);
    expect(names).toEqual(["position 0", "position 1", "positions >= 2 (average)"]);
    expect(f.data[0].x).toEqual([0, 5, 10]);
    expect(f.data[0].y).toEqual([3, 2, 1]);
    // average of positions 2 and 3: (1 + s + 3 + s) / 2 = 2 + s
    expect(f.data[2].y).toEqual([2, 7, 12]);
    expect(f.data[2].customdata).toEqual(["positions 2-3 (2)", "positions 2-3 (2)", "positions 2-3 (2)"]);
  });

  it("bands of +-1.96 se around each position, none for a null se; laterFrom null drops the average", () => {
    const rows = [row("r", 0, 0, 1, 0.5), row("r", 1, 0, 2, null)];
    const f = metricOverStepsFigure(rows, { positions: [0], laterFrom: null, seOver: "seeds" });
    expect(f.data).toHaveLength(2);
    expect(f.data[0].fill).toBe("toself");
    expect(f.data[0].y).toEqual([1 + 1.96 * 0.5, 1 - 1.96 * 0.5]);
    expect(((f.layout.yaxis as { title: { text: string } }).title.text)).toContain("over seeds");
  });
});

describe("recipeUpdateByStep", () => {
  it("averages the runs' deltas per (recipe, step, position)", async () => {
    const { recipeUpdateByStep } = await import("../../src/stats/recipeProfile");
    const rows = [
      { run: "a-seed1", from: 0, step: 10, position: 0, n: 3, delta: -1 },
      { run: "a-seed2", from: 0, step: 10, position: 0, n: 3, delta: -3 },
      { run: "a-seed2", from: 0, step: 10, position: 1, n: 3, delta: 0.5 },
    ];
    const out = recipeUpdateByStep(rows, new Map([["a-seed1", "a"], ["a-seed2", "a"]]));
    expect(out).toEqual([
      { run: "a", from: 0, step: 10, position: 0, n: 2, delta: -2 },
      { run: "a", from: 0, step: 10, position: 1, n: 1, delta: 0.5 },
    ]);
  });
});

describe("recipeSeries", () => {
  it("each recipe at its last step, labelled with its seeds", async () => {
    const { recipeSeries } = await import("../../src/stats/recipeProfile");
    const rr = (run: string, step: number, n: number) => ({ run, step, position: 0, n, mean: 1, sd: null, se: null, run_names: [] });
    expect(recipeSeries([rr("a", 0, 3), rr("a", 400, 3), rr("b", 20, 1)])).toEqual([
      { run: "a", step: 400, label: "a (3 seeds), step 400" },
      { run: "b", step: 20, label: "b (1 seed), step 20" },
    ]);
  });
});
