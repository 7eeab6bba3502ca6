/** A statistic whose interval leaves out its own estimate is found (and summary warns about it). */
import { describe, expect, it } from "vitest";
import { estimatesOutsideIntervals } from "../../src/stats/summary";

describe("estimatesOutsideIntervals", () => {
  it("names the statistics whose estimate lies outside their interval, in the given order", () => {
    // early_share 0.778 with [0.760, 0.769] (the bench's sft at 10% scale): outside; N_k inside; z90 on its bound: inside
    const est = { net_early_share: 0.5, early_share: 0.778, z90: 3, z50: null };
    const ci = { net_early_share: [0.4, 0.6] as [number, number], early_share: [0.76, 0.769] as [number, number], z90: [3, 4] as [number, number], z50: [1, 2] as [number, number] };
    expect(estimatesOutsideIntervals(est, ci, ["net_early_share", "z50", "z90", "early_share"])).toEqual(["early_share"]);
    expect(estimatesOutsideIntervals({ early_share: 0.759 }, { early_share: null }, ["early_share"])).toEqual([]);
    expect(estimatesOutsideIntervals({ early_share: 0.7 }, { early_share: [0.71, 0.8] }, ["early_share"])).toEqual(["early_share"]);
  });
});
