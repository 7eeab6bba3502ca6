/** The across-seed interval (METRICS 3.7), and Student's t quantiles. */
import { describe, expect, it } from "vitest";
import { seedInterval } from "../../src/dynamics/seedInterval";
import { studentTCdf, studentTQuantile } from "../../src/dynamics/studentT";
import { percentile, rng } from "../../src/stats/bootstrap";

describe("studentTQuantile", () => {
  it("matches tabulated 97.5% quantiles", () => {
    // df 1: tan(0.475 pi); df 2: 0.95 / sqrt(2 * 0.975 * 0.025); df 3, 4, 30 from tables (R qt)
    expect(studentTQuantile(0.975, 1)).toBeCloseTo(Math.tan(0.475 * Math.PI), 10);
    expect(studentTQuantile(0.975, 2)).toBeCloseTo(0.95 / Math.sqrt(2 * 0.975 * 0.025), 10);
    expect(studentTQuantile(0.975, 3)).toBeCloseTo(3.182446305284263, 10);
    expect(studentTQuantile(0.975, 4)).toBeCloseTo(2.776445105197799, 10);
    expect(studentTQuantile(0.975, 30)).toBeCloseTo(2.042272456301238, 10);
    expect(studentTQuantile(0.025, 3)).toBeCloseTo(-3.182446305284263, 10);
    expect(studentTQuantile(0.5, 3)).toBe(0);
    // df 1 is the Cauchy distribution: CDF(1) = 0.75
    expect(studentTCdf(1, 1)).toBeCloseTo(0.75, 12);
    expect(() => studentTQuantile(1, 3)).toThrow(RangeError);
  });
});

describe("seedInterval", () => {
  it("R = 3: mean +/- t(2, 0.975) s / sqrt(3)", () => {
    // [1, 2, 4]: mean 7/3, s^2 = ((4/3)^2 + (1/3)^2 + (5/3)^2) / 2 = 42/18 = 7/3, s = 1.5275252316519468
    const iv = seedInterval([1, 2, null, 4]);
    expect(iv.mean).toBeCloseTo(7 / 3, 14);
    expect(iv.sd).toBeCloseTo(Math.sqrt(7 / 3), 14);
    expect(iv.runs).toBe(3);
    expect(iv.n_null).toBe(1);
    const half = (4.302652729749464 * Math.sqrt(7 / 3)) / Math.sqrt(3);
    expect(iv.ci![0]).toBeCloseTo(7 / 3 - half, 9);
    expect(iv.ci![1]).toBeCloseTo(7 / 3 + half, 9);
    expect(iv.ci_method).toBe("t");
  });
  it("R = 1: no interval and the note; R = 0: nothing", () => {
    expect(seedInterval([0.3])).toEqual({ mean: 0.3, sd: null, runs: 1, n_null: 0, ci: null, ci_method: "none", note: "one run: no interval, and a single seed ignores training randomness" });
    expect(seedInterval([null])).toMatchObject({ mean: null, runs: 0, n_null: 1, ci: null });
  });
  it("R >= 5: percentile bootstrap over runs, seeded and reproducible", () => {
    const xs = [1, 2, 3, 4, 10];
    const iv = seedInterval(xs, { replicates: 500, seed: 7 });
    expect(iv.mean).toBe(4);
    expect(iv.ci_method).toBe("bootstrap-runs");
    // the same draws, written out: R runs with replacement per replicate, mean, type-7 percentiles
    const rand = rng(7);
    const reps: number[] = [];
    for (let b = 0; b < 500; b++) {
      let s = 0;
      for (let i = 0; i < 5; i++) s += xs[Math.floor(rand() * 5)];
      reps.push(s / 5);
    }
    reps.sort((a, b) => a - b);
    expect(iv.ci).toEqual([percentile(reps, 0.025), percentile(reps, 0.975)]);
    expect(iv.ci![0]).toBeGreaterThanOrEqual(1);
    expect(iv.ci![1]).toBeLessThanOrEqual(10);
    expect(iv.ci![0]).toBeLessThan(4);
    expect(iv.ci![1]).toBeGreaterThan(4);
    expect(seedInterval(xs, { replicates: 500, seed: 7 })).toEqual(iv);
  });
});

describe("seedInterval with bounds (a share of a non-negative quantity)", () => {
  it("clips the t interval to [0, 1] and marks it; inside the bounds nothing changes", () => {
    // 3 seeds 0.9, 0.5, 0.4: mean 0.6, sd 0.26458; t(2) = 4.302653: 0.6 +/- 0.65722 -> [-0.0572, 1.2572]
    const r = seedInterval([0.9, 0.5, 0.4], { bounds: [0, 1] });
    expect(r.mean).toBeCloseTo(0.6, 12);
    expect(r.ci).toEqual([0, 1]);
    expect(r.ci_clipped).toBe(true);
    const free = seedInterval([0.9, 0.5, 0.4]);
    expect(free.ci![0]).toBeCloseTo(0.6 - 4.302652729749464 * Math.sqrt(0.07 / 3), 10);
    expect(free.ci_clipped).toBeUndefined();
    const inside = seedInterval([0.5, 0.51, 0.49], { bounds: [0, 1] });
    expect(inside.ci_clipped).toBeUndefined();
    expect(inside.ci![0]).toBeGreaterThan(0);
  });
});
