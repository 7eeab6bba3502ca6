/** McNemar's exact test, Newcombe's intervals, Cohen's h and Wilson, against hand and published values. */
import { describe, expect, it } from "vitest";
import { binomCdfHalf, mcnemarExact } from "../../src/stats/mcnemar";
import { newcombeIndependent, newcombePaired, newcombePhi } from "../../src/stats/newcombe";
import { cohenH } from "../../src/stats/cohenH";
import { wilson } from "../../src/stats/wilson";

describe("mcnemarExact", () => {
  it("is twice the binomial tail of the smaller discordant count", () => {
    // b = 1, c = 7: 2 * (C(8,0) + C(8,1)) / 2^8 = 2 * 9 / 256
    expect(mcnemarExact(1, 7)).toBeCloseTo(18 / 256, 15);
    expect(mcnemarExact(7, 1)).toBeCloseTo(18 / 256, 15);
    // b = 0, c = 5: 2 / 32
    expect(mcnemarExact(0, 5)).toBeCloseTo(1 / 16, 15);
    // b = 2, c = 3: 2 * (1 + 5 + 10) / 32 = 1 (capped)
    expect(mcnemarExact(2, 3)).toBe(1);
    expect(mcnemarExact(0, 0)).toBe(1);
    // Cavo et al. 2012 (b = 6, c = 16): 2 * sum_{i<=6} C(22, i) / 2^22
    const c22 = [1, 22, 231, 1540, 7315, 26334, 74613];
    expect(mcnemarExact(6, 16)).toBeCloseTo((2 * c22.reduce((a, b) => a + b, 0)) / 2 ** 22, 14);
  });
  it("sums large tails without overflow", () => {
    expect(binomCdfHalf(500, 1000)).toBeCloseTo(0.5 + 0.5 * 0.0252250181784, 9); // P(X = 500) = 0.0252250181784 (exact-sum branch)
    expect(binomCdfHalf(1000, 2000)).toBeCloseTo(0.5 + 0.5 * 0.0178390111459, 9); // P(X = 1000) of Binomial(2000, 1/2) (log-space branch)
    expect(binomCdfHalf(-1, 3)).toBe(0);
    expect(binomCdfHalf(3, 3)).toBe(1);
    expect(() => mcnemarExact(-1, 2)).toThrow(RangeError);
  });
});

describe("newcombeIndependent (Stat Med 17:873-890, method 10)", () => {
  it("reproduces the paper's 56/70 vs 48/80 example: 0.0524 to 0.3339", () => {
    const r = newcombeIndependent(56, 70, 48, 80)!;
    expect(r.diff).toBeCloseTo(0.2, 12);
    expect(r.ci[0]).toBeCloseTo(0.0524, 4);
    expect(r.ci[1]).toBeCloseTo(0.3339, 4);
  });
  it("is null without observations", () => expect(newcombeIndependent(0, 0, 1, 2)).toBeNull());
});

describe("newcombePaired (Stat Med 17:2635-2650, method 10)", () => {
  it("reproduces the paper's worked examples (a, b, c, d = e, f, g, h of its table)", () => {
    const cases: Array<[[number, number, number, number], number, number]> = [
      [[36, 12, 2, 0], 0.0569, 0.3404],
      [[18, 12, 2, 18], 0.0562, 0.329],
      [[53, 0, 0, 1], -0.0729, 0.0729],
      [[0, 30, 0, 0], 0.8395, 1],
    ];
    for (const [[a, b, c, d], lo, hi] of cases) {
      const r = newcombePaired({ a, b, c, d })!;
      expect(r.diff).toBeCloseTo((b - c) / (a + b + c + d), 14);
      expect(r.ci[0], `${a} ${b} ${c} ${d}`).toBeCloseTo(lo, 4);
      expect(r.ci[1], `${a} ${b} ${c} ${d}`).toBeCloseTo(hi, 4);
    }
  });
  it("reproduces Fagerland et al.'s Cavo et al. example: -0.0621 (-0.1186 to -0.0046)", () => {
    const r = newcombePaired({ a: 59, b: 6, c: 16, d: 80 })!;
    expect(r.diff).toBeCloseTo(-10 / 161, 12);
    expect(r.ci[0]).toBeCloseTo(-0.1186, 4);
    expect(r.ci[1]).toBeCloseTo(-0.0046, 4);
  });
  it("phi-hat: continuity-adjusted, 0 when a margin is 0 or 0 <= ad - bc <= n/2", () => {
    // 59*80 - 6*16 = 4624 > 80.5: (4624 - 80.5) / sqrt(65 * 96 * 75 * 86)
    expect(newcombePhi({ a: 59, b: 6, c: 16, d: 80 })).toBeCloseTo(4543.5 / Math.sqrt(65 * 96 * 75 * 86), 14);
    // Bentur et al. 2009: a=1, b=1, c=7, d=12: ad - bc = 5 <= n/2 = 10.5 -> 0
    expect(newcombePhi({ a: 1, b: 1, c: 7, d: 12 })).toBe(0);
    expect(newcombePhi({ a: 0, b: 3, c: 0, d: 5 })).toBe(0); // margin a + c = 0
    // ad - bc < 0: no adjustment: (0*1 - 2*3) / sqrt(2*4*3*3)
    expect(newcombePhi({ a: 0, b: 2, c: 3, d: 1 })).toBeCloseTo(-6 / Math.sqrt(2 * 4 * 3 * 3), 14);
  });
  it("with phi 0 is the independent square-and-add of the two Wilson intervals (Bentur: a=1, b=1, c=7, d=12)", () => {
    const r = newcombePaired({ a: 1, b: 1, c: 7, d: 12 })!;
    const [l1, u1] = wilson(2, 21)!;
    const [l2, u2] = wilson(8, 21)!;
    const p1 = 2 / 21;
    const p2 = 8 / 21;
    expect(r.diff).toBeCloseTo(-6 / 21, 14);
    expect(r.ci[0]).toBeCloseTo(p1 - p2 - Math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), 14);
    expect(r.ci[1]).toBeCloseTo(p1 - p2 + Math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2), 14);
    expect(r.ci[0]).toBeCloseTo(-0.5069, 4);
    expect(r.ci[1]).toBeCloseTo(-0.0256, 4);
  });
  it("Altman et al. (Statistics with Confidence, table 6.2: 14, 5, 0, 22): 0.122 (0.011 to 0.226)", () => {
    const r = newcombePaired({ a: 14, b: 5, c: 0, d: 22 })!;
    expect(r.diff).toBeCloseTo(5 / 41, 12);
    expect(r.ci[0]).toBeCloseTo(0.0115, 4);
    expect(r.ci[1]).toBeCloseTo(0.2265, 4);
  });
});

describe("cohenH and wilson", () => {
  it("computes h by hand", () => {
    expect(cohenH(0.5, 0)).toBeCloseTo(Math.PI / 2, 14);
    expect(cohenH(1, 0)).toBeCloseTo(Math.PI, 14);
    expect(cohenH(0.25, 0.75)).toBeCloseTo(2 * (Math.PI / 6) - 2 * (Math.PI / 3), 14);
    expect(() => cohenH(1.2, 0)).toThrow(RangeError);
  });
  it("Wilson at 0 and n: exact 0 / 1 and z^2 / (n + z^2)", () => {
    const z2 = 1.959963984540054 ** 2;
    expect(wilson(0, 10)).toEqual([0, expect.closeTo(z2 / (10 + z2), 14)]);
    expect(wilson(10, 10)).toEqual([expect.closeTo(10 / (10 + z2), 14), 1]);
    expect(wilson(0, 0)).toBeNull();
  });
});
