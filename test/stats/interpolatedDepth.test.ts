/** interpolatedDepth (METRICS 3.4): z_alpha of a signed profile on any position axis, hand-computed. */
import { describe, expect, it } from "vitest";
import { interpolatedDepth } from "../../src/stats/interpolatedDepth";

describe("interpolatedDepth (METRICS 3.4 on any axis)", () => {
  it("hand-computed depths, null when the net sum is 0, and the maximum cumulative share", () => {
    expect(interpolatedDepth([0, 1, 2], [-0.875, -0.3125, -0.0625], 0.5).depth).toBeCloseTo(5 / 7, 12);
    expect(interpolatedDepth([0, 1, 2], [-0.875, -0.3125, -0.0625], 0.9).depth).toBeCloseTo(1.8, 12);
    expect(interpolatedDepth([0, 1], [1, -1], 0.5)).toEqual({ depth: null, maxCumulative: null });
    // [2, -1, 1]: D = 2, C = [1, 0.5, 1]: z50 = 0 + 0.5 / 1 = 0.5 (first crossing), max C = 1
    expect(interpolatedDepth([0, 1, 2], [2, -1, 1], 0.5)).toEqual({ depth: 0.5, maxCumulative: 1 });
    // [3, -2, 1]: D = 2, C = [1.5, 0.5, 1]: z90 = 0 + 0.9 / 1.5 = 0.6; max C = 1.5
    expect(interpolatedDepth([0, 1, 2], [3, -2, 1], 0.9)).toEqual({ depth: 0.6, maxCumulative: 1.5 });
    // gaps: positions [0, 4] values [1, 1]: C(3) = C(0) = 0.5, z90 = 4 + 0.4 / 0.5 = 4.8
    expect(interpolatedDepth([0, 4], [1, 1], 0.9).depth).toBeCloseTo(4.8, 12);
    expect(() => interpolatedDepth([0], [1], 0)).toThrow(RangeError);
  });
});
