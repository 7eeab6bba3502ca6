/** The contrast of two recipes across seeds (METRICS 3.7 and 4 with v_ex = 0), on hand-made rows. */
import { describe, expect, it } from "vitest";
import { recipeContrast } from "../../src/dynamics/recipeContrast";
import { describeRecipeContrast } from "../../src/dynamics/describe";
import type { InfluenceRow } from "../../src/dynamics/summary";

/** One influence row with only what the contrast reads set meaningfully. */
function row(recipe: string, seed: number, step: number, s: number | null, split = "harmful"): InfluenceRow {
  return {
    run: `${recipe}-seed${seed}`, recipe, step, split, net_influence: 1, source_early_share: s, token_share: 0.25, source_z50: s === null ? null : 2 * s,
    source_z90: null, source_max_cumulative: null, late_influence: 0, cross_influence: null, positions: 3, sources: 3, missing_cells: 0,
    check_pearson_r: null, check_ratio_of_sums: null, check_relative_l2_error: null,
  };
}

describe("recipeContrast", () => {
  it("2 and 3 seeds: the t rule with df = min(R) - 1 = 1", () => {
    const rows = [row("a", 1, 0, 0.6), row("a", 2, 0, 0.8), row("b", 1, 0, 0.2), row("b", 2, 0, 0.3), row("b", 3, 0, 0.4), row("b", 4, 0, null)];
    const [c] = recipeContrast(rows, "a", "b");
    // mean_a 0.7, s_a^2 0.02; mean_b 0.3, s_b^2 0.01; se = sqrt(0.02 / 2 + 0.01 / 3); t(1, 0.975) = tan(0.475 pi)
    const se = Math.sqrt(0.01 + 0.01 / 3);
    const half = Math.tan(0.475 * Math.PI) * se;
    expect(c).toMatchObject({ a: "a", b: "b", split: "harmful", step: 0, runs_a: 2, runs_b: 3, n_null_a: 0, n_null_b: 1, method: "t" });
    expect(c.delta).toBeCloseTo(0.4, 14);
    expect(c.ci![0]).toBeCloseTo(0.4 - half, 9);
    expect(c.ci![1]).toBeCloseTo(0.4 + half, 9);
    // df 1 is the Cauchy distribution: p = 2 P(T < -|t|) = 1 - 2 atan(|t|) / pi
    expect(c.p!).toBeCloseTo(1 - (2 * Math.atan(0.4 / se)) / Math.PI, 9);
    // another statistic: z50 = 2 S
    expect(recipeContrast(rows, "a", "b", { statistic: "source_z50" })[0].delta).toBeCloseTo(0.8, 14);
  });
  it("5 seeds each: bootstrap over seeds, with METRICS 4's p", () => {
    const ones = [1, 2, 3, 4, 5].map((i) => row("a", i, 0, 1));
    const zeros = [1, 2, 3, 4, 5].map((i) => row("b", i, 0, 0));
    // every replicate's difference is 1: interval [1, 1], p = 2 (1 + 0) / (B + 1)
    const [c] = recipeContrast([...ones, ...zeros], "a", "b", { replicates: 999 });
    expect(c).toMatchObject({ delta: 1, ci: [1, 1], method: "bootstrap-runs" });
    expect(c.p).toBeCloseTo(2 / 1000, 14);
    // a = [0, 0, 0, 0, 1], b = 0: delta 0.2; a replicate is (ones drawn) / 5, Binomial(5, 0.2) / 5:
    // P(0) = 0.32768, so the 2.5% point is 0; P(>= 4) = 0.00672 < 2.5% < P(>= 3) = 0.0579, so the 97.5% point is 0.6;
    // p = 2 (1 + #{0}) / (B + 1), about 2 * 0.32768 = 0.655
    const a = [0, 0, 0, 0, 1].map((v, i) => row("a", i + 1, 0, v));
    const [d] = recipeContrast([...a, ...zeros], "a", "b", { replicates: 4000, seed: 3 });
    expect(d.delta).toBeCloseTo(0.2, 14);
    expect(d.ci).toEqual([0, 0.6000000000000001].map((x) => expect.closeTo(x, 12)) as unknown as [number, number]);
    expect(d.p!).toBeGreaterThan(0.62);
    expect(d.p!).toBeLessThan(0.69);
    // seeded: the same call gives the same interval and p
    expect(recipeContrast([...a, ...zeros], "a", "b", { replicates: 4000, seed: 3 })[0]).toEqual(d);
  });
  it("one seed on a side: no interval, no p; a side without values: no difference", () => {
    const [c] = recipeContrast([row("a", 1, 0, 0.5), row("b", 1, 0, 0.25), row("b", 2, 0, 0.75)], "a", "b");
    expect(c).toMatchObject({ delta: 0, ci: null, p: null, method: "none" });
    expect(c.note).toMatch(/ignores training randomness/);
    const [e] = recipeContrast([row("a", 1, 0, null), row("b", 1, 0, 0.25)], "a", "b");
    expect(e).toMatchObject({ delta: null, mean_a: null, mean_b: 0.25, n_null_a: 1, method: "none" });
  });
  it("one row per (probe set, step) both recipes have; unknown recipes are refused", () => {
    const rows = [row("a", 1, 0, 0.5), row("a", 1, 5, 0.5), row("b", 1, 5, 0.25), row("a", 1, 5, 0.5, "refusal"), row("b", 1, 5, 0.5, "refusal")];
    expect(recipeContrast(rows, "a", "b").map((r) => [r.split, r.step])).toEqual([["harmful", 5], ["refusal", 5]]);
    expect(recipeContrast(rows, "a", "b", { split: "refusal" }).map((r) => r.split)).toEqual(["refusal"]);
    expect(() => recipeContrast(rows, "a", "c")).toThrow(/"c" is not a recipe of these rows \(a, b\)/);
    expect(() => recipeContrast(rows, "a", "a")).toThrow(RangeError);
  });
});

describe("describeRecipeContrast", () => {
  it("the last step's difference, and at how many steps the interval excludes 0", () => {
    const rows = [
      ...[1, 2].map((i) => row("a", i, 0, 0.5 + i / 10)), // 0.6, 0.7
      ...[1, 2].map((i) => row("b", i, 0, 0.6 + i / 10)), // 0.7, 0.8
      ...[1, 2].map((i) => row("a", i, 10, 0.6 + i / 100)), // 0.61, 0.62
      ...[1, 2].map((i) => row("b", i, 10, 0.2 + i / 100)), // 0.21, 0.22
    ];
    const c = recipeContrast(rows, "a", "b");
    // step 10: delta 0.4, s = sqrt(0.00005) each, se = sqrt(0.00005) = 0.0070711, half = 12.7062 * 0.0070711 = 0.0898;
    // t = 56.57, p = 1 - 2 atan(56.57) / pi = 0.01125. Step 0: delta -0.1, half 0.898: contains 0.
    expect(describeRecipeContrast(c, { k: 5 })).toEqual([
      "S5 on the harmful probes, step 10: a 62% (2 seeds) against b 22% (2 seeds), a difference of +40 points (95% CI +31 points to +49 points, p = 0.011; t rule across seeds (R = 2 and 2, df 1)). Over the 2 logged steps, the interval lies above 0 at 1 and below 0 at 0, and contains 0 at 1 (a minus b; not corrected for multiple steps).",
    ]);
  });
});

describe("describeRecipeContrast, small p", () => {
  it("says p < 0.001 below 0.001", () => {
    const ones = [1, 2, 3, 4, 5].map((i) => row("a", i, 0, 0.9));
    const zeros = [1, 2, 3, 4, 5].map((i) => row("b", i, 0, 0.1));
    // every replicate's difference is 0.8 > 0: p = 2 / (B + 1) = 0.000999 with B = 2000
    const [line] = describeRecipeContrast(recipeContrast([...ones, ...zeros], "a", "b"), { k: 5 });
    expect(line).toContain("a difference of +80 points (95% CI +80 points to +80 points, p < 0.001; bootstrap over seeds (R = 5 and 5, 2000 replicates)).");
  });
});
