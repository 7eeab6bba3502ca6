import { describe, expect, it } from "vitest";
import { holm } from "../../src/stats/holm";
import { groupRecipes, compileRecipePattern } from "../../src/stats/recipes";
import { UsageError } from "../../src/errors";

describe("holm", () => {
  it("matches the step-down values computed by hand", () => {
    // sorted 0.01, 0.03, 0.04 (m = 3): 3*0.01 = 0.03; max(0.03, 2*0.03) = 0.06; max(0.06, 1*0.04) = 0.06
    expect(holm([0.01, 0.04, 0.03])).toEqual([0.03, 0.06, 0.06]);
    // capped at 1, and monotone: 0.5*2 = 1, then max(1, 0.6) = 1
    expect(holm([0.6, 0.5])).toEqual([1, 1]);
    // Holm (1979)-style example: 0.005, 0.011, 0.02, 0.04, 0.13 -> 0.025, 0.044, 0.06, 0.08, 0.13
    const adj = holm([0.04, 0.005, 0.13, 0.011, 0.02]) as number[];
    [0.08, 0.025, 0.13, 0.044, 0.06].forEach((v, i) => expect(adj[i]).toBeCloseTo(v, 12));
  });
  it("leaves nulls out of the family", () => {
    expect(holm([null, 0.02, 0.01])).toEqual([null, 0.02, 0.02]);
  });
  it("refuses p-values outside [0, 1]", () => {
    expect(() => holm([0.2, 1.5])).toThrow(RangeError);
    expect(() => holm([NaN])).toThrow(RangeError);
  });
});

describe("groupRecipes", () => {
  it("groups seeds by the pattern's named group", () => {
    const g = groupRecipes(["sft-seed2", "sft-seed1", "augment-seed1", "base"], { pattern: "^(?<recipe>.+)-seed\\d+$" });
    expect(g.source).toBe("pattern");
    expect([...g.runsOf]).toEqual([["augment", ["augment-seed1"]], ["base", ["base"]], ["sft", ["sft-seed1", "sft-seed2"]]]);
    expect(g.unmatched).toEqual(["base"]);
  });
  it("uses recipe labels when no pattern is given", () => {
    const g = groupRecipes(["a", "b", "c"], { labels: new Map([["a", "sft"], ["b", "sft"], ["c", null]]) });
    expect(g.source).toBe("label");
    expect(g.recipeOf.get("b")).toBe("sft");
    expect(g.unmatched).toEqual(["c"]);
  });
  it("keeps each run its own recipe otherwise", () => {
    const g = groupRecipes(["x", "y"]);
    expect(g.source).toBe("none");
    expect(g.runsOf.size).toBe(2);
  });
  it("refuses a pattern without a recipe group or an invalid one", () => {
    expect(() => compileRecipePattern("^(.+)-seed")).toThrow(UsageError);
    expect(() => compileRecipePattern("(?<recipe>")).toThrow(UsageError);
  });
});
