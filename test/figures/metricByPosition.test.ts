import { describe, expect, it } from "vitest";
import { profileYRange } from "../../src/figures/figure";
import { metricByPositionFigure } from "../../src/figures/metricByPosition";

const row = (run: string, step: number, position: number, mean: number | null, se: number | null) => ({ run, step, position, n: 4, mean, sd: se === null ? null : 2 * se, se });

describe("one y range for several runs' profiles", () => {
  const rows = [row("a", 0, 0, 12, 0.5), row("a", 0, 1, 2, null), row("b", 0, 0, 7.5, 0.1), row("b", 0, 1, 0, 0.2), row("b", 0, 2, null, null)];
  it("spans every run's means ±1.96 se, padded by 5%", () => {
    // lo = 0 - 0.392 = -0.392; hi = 12 + 0.98 = 12.98; pad = 0.05 * 13.372 = 0.6686
    const [lo, hi] = profileYRange(rows)!;
    expect(lo).toBeCloseTo(-0.392 - 0.6686, 12);
    expect(hi).toBeCloseTo(12.98 + 0.6686, 12);
    const [l2, h2] = profileYRange(rows, { band: false })!;
    expect(l2).toBeCloseTo(-0.6, 12);
    expect(h2).toBeCloseTo(12.6, 12);
    expect(profileYRange([row("a", 0, 0, null, null)])).toBeUndefined();
  });
  it("is applied to each run's figure", () => {
    const yRange = profileYRange(rows, { band: false })!;
    for (const run of ["a", "b"]) expect((metricByPositionFigure(rows, { run, yRange }).layout.yaxis as { range: number[] }).range).toEqual(yRange);
    expect((metricByPositionFigure(rows, { run: "a" }).layout.yaxis as { range?: number[] }).range).toBeUndefined();
  });
});
