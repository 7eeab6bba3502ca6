/**
 * METRICS.md v2 statistics against hand-computed values on tiny fixtures: net share N_k, interpolated
 * depths, counter-movement R, level share L_k, references, BCa pieces, replicate-run intervals, the
 * paired bootstrap p, and the case "prompt tokens with a segment label" (re-based: deltas -1.5, -0.1, 0).
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  acceleration,
  biasCorrection,
  bootstrapInterval,
  clampLevelValues,
  counterMovement,
  exampleTable,
  headroomEarlyShare,
  holm,
  interpolatedDepth,
  jackknife,
  levelShare,
  loadTokenLogs,
  netShare,
  normalCdf,
  normalQuantile,
  pairedComparison,
  recipeComparisonRule,
  tDifference,
  pairedP,
  recipeIntervals,
  replicatesForFamily,
  rng,
  runIntervals,
  t975,
  tInterval,
  uniformEarlyShare,
  updateSummary,
  UPDATE_STATISTICS,
} from "../../src/index";
import type { RunData } from "../../src/index";

describe("net share (METRICS 3.4)", () => {
  it("gives D, N_k, z50 and z90 of the case prompt-tokens-segment", () => {
    const n = netShare([0, 1, 2], [-1.5, -0.1, 0], 5);
    expect(n.netChange).toBeCloseTo(-1.6, 12);
    expect(n.netEarlyShare).toBeCloseTo(1, 12);
    expect(n.z50).toBeCloseTo(0.5 / 0.9375, 12); // 0.5333
    expect(n.z90).toBeCloseTo(0.96, 12);
    expect(netShare([0, 1, 2], [-1.5, -0.1, 0], 1).netEarlyShare).toBeCloseTo(0.9375, 12);
  });
  it("is null when D = 0", () => {
    const n = netShare([0, 1], [1, -1]);
    expect(n.netChange).toBe(0);
    expect([n.netEarlyShare, n.z50, n.z90]).toEqual([null, null, null]);
  });
  it("takes the first p with C(p) >= alpha even when C later falls below alpha", () => {
    // shares 0.5, 0.5, -0.5, 0.5; C = 0.5, 1, 0.5, 1: z90 = 1 + 0.4 / 0.5 = 1.8
    const n = netShare([0, 1, 2, 3], [1, 1, -1, 1]);
    expect(n.z90).toBeCloseTo(1.8, 12);
    expect(n.z50).toBeCloseTo(1, 12);
    expect(n.maxCumulative).toBeCloseTo(1, 12);
  });
  it("reports max C above 1.02", () => {
    // shares 1.5, -1, 0.5; C = 1.5, 0.5, 1: z90 = 0.9 / 1.5 = 0.6
    const n = netShare([0, 1, 2], [3, -2, 1]);
    expect(n.maxCumulative).toBeCloseTo(1.5, 12);
    expect(n.z90).toBeCloseTo(0.6, 12);
  });
  it("interpolates across a gap in the used positions", () => {
    // positions 0 and 7: shares 0.25, 0.75; z50 = 7 + (0.5 - 0.25) / 0.75
    expect(interpolatedDepth([0, 7], [0.25, 0.75], 0.5).depth).toBeCloseTo(7 + 1 / 3, 12);
  });
});

describe("counter-movement R (METRICS 3.4)", () => {
  it("gives R and warns above 0.1 when min(Pos, Neg) exceeds twice the noise", () => {
    const c = counterMovement([1, -0.5, 0.5], [0.1, 0.1, 0.1]);
    expect(c.pos).toBeCloseTo(1.5, 12);
    expect(c.neg).toBeCloseTo(0.5, 12);
    expect(c.r).toBeCloseTo(0.25, 12);
    expect(c.noiseThreshold).toBeCloseTo(0.6 / Math.sqrt(2 * Math.PI), 12); // 0.2394
    expect(c.warn).toBe(true);
  });
  it("does not warn when noise explains the counter-movement or R <= 0.1", () => {
    expect(counterMovement([1, -0.5, 0.5], [0.25, 0.25, 0.25]).warn).toBe(false); // threshold 0.598 > 0.5
    const small = counterMovement([1, -0.1], [0, 0]);
    expect(small.r).toBeCloseTo(0.1 / 1.1, 12);
    expect(small.warn).toBe(false);
    expect(counterMovement([0, 0], [0, 0]).r).toBeNull();
  });
});

describe("counter-movement with positions that have one pair (ragged logs)", () => {
  it("leaves positions without an se out of the noise term and counts them; null noise only when none has one", () => {
    const c = counterMovement([-0.6, 0.1, -0.2], [0.4 / Math.sqrt(3), 0.4 / Math.sqrt(3), null]);
    expect(c.r).toBeCloseTo(0.1 / 0.9, 12); // 0.1111 > 0.1
    expect(c.noNoise).toBe(1);
    expect(c.noiseThreshold).toBeCloseTo((2 * 0.8) / Math.sqrt(3) / Math.sqrt(2 * Math.PI), 12); // 0.36853
    expect(c.warn).toBe(false); // min(Pos, Neg) = 0.1 < 0.3685 (the old code took the noise as 0 and warned)
    const none = counterMovement([-1, 0.5], [null, null]);
    expect(none.noiseThreshold).toBeNull();
    expect(none.noNoise).toBe(2);
  });
  it("summary: no warning where noise explains R, a warning naming the left-out positions where it does not", async () => {
    const logs = await loadTokenLogs([join(__dirname, "..", "fixtures", "stats", "ragged-counter.jsonl")], { progress: false });
    try {
      const s = await updateSummary(logs, { bootstrap: 0 });
      const byRun = Object.fromEntries(s.runs.map((r) => [r.run, r]));
      // noise: deltas -0.6 (se 0.2309), 0.1 (se 0.2309), -0.2 (one pair): R = 0.1 / 0.9
      expect(byRun.noise.counter_movement).toBeCloseTo(0.1 / 0.9, 9);
      // counter: deltas -1.5 (se 0.1/sqrt 3), 0.4 (se 0.05/sqrt 3), -0.2 (one pair): R = 0.4 / 2.1, noise 0.15/sqrt 3 * 2/sqrt(2 pi) = 0.0691
      expect(byRun.counter.counter_movement).toBeCloseTo(0.4 / 2.1, 9);
      const cm = s.warnings.filter((w) => w.includes("counter-movement"));
      expect(cm).toEqual([
        "counter: counter-movement R = 0.190: 0.400 of the change moved against the net direction, more than twice what noise gives (0.0691); 1 position with fewer than 2 pairs (no se) left out of the noise term; read the net share with the update profile",
      ]);
    } finally {
      logs.close();
    }
  });
});

describe("level share and references (METRICS 3.5)", () => {
  it("gives L_k and its depths", () => {
    const l = levelShare([0, 1, 2, 3], [4, 2, 1, 1], 2);
    expect(l.levelEarlyShare).toBeCloseTo(0.75, 12);
    expect(l.z50).toBeCloseTo(1, 12);
    expect(l.z90).toBeCloseTo(3.2, 12); // C = .5 .75 .875 1
    expect(levelShare([0, 1], [0, 0]).levelEarlyShare).toBeNull();
  });
  it("counts small negative values as 0 and refuses large ones", () => {
    const v = Float64Array.from([1, -1e-7, 0.5]);
    expect(clampLevelValues(v)).toEqual({ clamped: 1, refused: null });
    expect(v[1]).toBe(0);
    expect(clampLevelValues(Float64Array.from([1, -0.01, -2e-6]))).toEqual({ clamped: 0, refused: { min: -0.01, count: 2 } });
  });
  it("gives the uniform and headroom references", () => {
    expect(uniformEarlyShare(5, 20)).toBeCloseTo(0.25, 12);
    expect(uniformEarlyShare(5, 3)).toBe(1);
    expect(uniformEarlyShare(5, 0)).toBeNull();
    expect(headroomEarlyShare([0, 1], [3, 1], 1, { nonNegative: true, netChange: -2 })).toEqual({ value: 0.75, reason: null });
    expect(headroomEarlyShare([0, 1], [3, 1], 1, { nonNegative: false, netChange: -2 }).value).toBeNull();
    expect(headroomEarlyShare([0, 1], [3, 1], 1, { nonNegative: true, netChange: 2 }).reason).toBe("net change is not negative");
  });
});

describe("BCa (METRICS 3.6)", () => {
  it("has a normal CDF and quantile that match tables", () => {
    expect(normalCdf(1.96)).toBeCloseTo(0.9750021048517795, 14);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 12);
    expect(normalQuantile(0.375)).toBeCloseTo(-0.31863936396437514, 12);
    expect(t975(2)).toBeCloseTo(4.30265273, 8);
  });
  it("computes z0 and a by hand", () => {
    // below 1, equal 1 of 4: share 1.5 / 4 = 0.375
    const b = biasCorrection([1, 2, 3, 4], 2);
    expect(b.share).toBe(0.375);
    expect(b.z0).toBeCloseTo(-0.31863936396437514, 12);
    // jackknife 1, 2, 3, 6: mean 3, d = 2, 1, 0, -3: sum d^2 = 14, sum d^3 = -18
    expect(acceleration([1, 2, 3, 6])).toBeCloseTo(-18 / (6 * 14 ** 1.5), 14); // -0.0572703
    expect(acceleration([1, 2, 3, 6])).toBeCloseTo(-0.0572703, 6);
    expect(acceleration([2, 2, 2])).toBe(0);
  });
  it("gives the BCa interval from the adjusted levels", () => {
    const reps = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    // z0 = Phi^-1(0.45) = -0.125661; a = 0 (symmetric jackknife)
    const r = bootstrapInterval(reps, 5, { method: "bca", jackknife: [1, 2, 3] });
    expect(r.z0).toBeCloseTo(-0.12566134685507402, 10);
    expect(r.a).toBe(0);
    const l1 = normalCdf(2 * r.z0! - 1.959963984540054);
    const l2 = normalCdf(2 * r.z0! + 1.959963984540054);
    expect(l1).toBeCloseTo(0.013508, 5); // Phi(-2.211287)
    expect(r.interval![0]).toBeCloseTo(1 + 9 * l1, 10);
    expect(r.interval![1]).toBeCloseTo(1 + 9 * l2, 10);
    expect(bootstrapInterval(reps, 5, { method: "percentile" }).interval).toEqual([1 + 9 * 0.025, 1 + 9 * 0.975]);
    const basic = bootstrapInterval(reps, 5, { method: "basic" }).interval!;
    expect(basic[0]).toBeCloseTo(10 - (1 + 9 * 0.975), 12);
    expect(basic[1]).toBeCloseTo(10 - (1 + 9 * 0.025), 12);
  });
  it("marks a degenerate interval and falls back to percentile when z0 is infinite", () => {
    expect(bootstrapInterval([1, 1, 1], 1, { method: "bca" })).toMatchObject({ interval: [1, 1], degenerate: true });
    expect(bootstrapInterval([2, 3, 4], 1, { method: "bca" }).method).toBe("percentile");
  });
});

/** A run whose examples all have the same diffs: N5 = x (delta x at position 0, 1 - x at position 5). */
function constantRun(x: number, index: Map<string, number>, examples = ["a", "b", "c"]): RunData {
  const ex = examples.flatMap((e) => [e, e]);
  const pos = examples.flatMap(() => [0, 5]);
  const diff = examples.flatMap(() => [x, 1 - x]);
  const pairs = exampleTable(ex, pos, [diff, diff.map(() => 1)], index);
  return { pairs, level: null, pool: Int32Array.from(examples.map((e) => index.get(e)!)) };
}
const N = UPDATE_STATISTICS.indexOf("net_early_share");

describe("replicate runs (METRICS 3.7)", () => {
  it("uses the t rule for R = 3: mean +/- t(2) sqrt(s^2 / 3 + v_ex)", () => {
    const index = new Map<string, number>();
    const runs = [0.5, 0.6, 0.7].map((x) => constantRun(x, index));
    const r = recipeIntervals("sft", ["s1", "s2", "s3"], runs, runs[0].pool, { B: 50, seed: 1 });
    expect(r.info.rule).toBe("t");
    expect(r.estimate[N]).toBeCloseTo(0.6, 12);
    expect(r.sd[N]).toBeCloseTo(0.1, 12);
    // identical examples: v_ex = 0; half-width 4.30265 * 0.1 / sqrt(3) = 0.248414
    expect(r.ci.net_early_share![0]).toBeCloseTo(0.6 - 0.2484137, 6);
    expect(r.ci.net_early_share![1]).toBeCloseTo(0.6 + 0.2484137, 6);
    expect(tInterval(0.5, 0.1, 3, 0.0004)[1]).toBeCloseTo(0.5 + 4.30265273 * Math.sqrt(0.01 / 3 + 0.0004), 8);
  });
  it("clips the t interval of the bounded E_k to [0, 1] (marked), never that of N_k", () => {
    const index = new Map<string, number>();
    const runs = [0.5, 0.9, 0.95].map((x) => constantRun(x, index));
    const r = recipeIntervals("sft", ["s1", "s2", "s3"], runs, runs[0].pool, { B: 50, seed: 1 });
    // E5 = N5 = x per run: mean 0.78333, sd 0.246644, half-width 4.302653 * 0.246644 / sqrt(3) = 0.612691
    const half = 4.30265273 * Math.sqrt(((0.5 - 0.78333333333) ** 2 + (0.9 - 0.78333333333) ** 2 + (0.95 - 0.78333333333) ** 2) / 2 / 3);
    expect(r.ci.net_early_share![1]).toBeCloseTo(0.78333333333 + half, 6); // 1.396: N_k is not bounded
    expect(r.ci.early_share![0]).toBeCloseTo(0.78333333333 - half, 6);
    expect(r.ci.early_share![1]).toBe(1);
    expect(r.info.clipped).toEqual(["early_share"]);
  });
  it("draws R runs with replacement and one shared example draw per replicate for R >= 5", () => {
    const index = new Map<string, number>();
    const xs = [0.5, 0.55, 0.6, 0.8, 0.9];
    const runs = xs.map((x) => constantRun(x, index));
    const B = 200;
    const r = recipeIntervals("sft", xs.map((_, i) => `s${i}`), runs, runs[0].pool, { B, seed: 7 });
    expect(r.info.rule).toBe("two-stage bootstrap");
    // Straightforward recomputation with the same generator: R run draws, then 3 example draws.
    const rand = rng(7);
    const means: number[] = [];
    for (let b = 0; b < B; b++) {
      let s = 0;
      for (let i = 0; i < 5; i++) s += xs[Math.floor(rand() * 5)];
      for (let i = 0; i < 3; i++) rand();
      means.push(s / 5);
    }
    means.sort((a, b) => a - b);
    const q = (p: number) => {
      const h = (B - 1) * p;
      const lo = Math.floor(h);
      return means[lo] + (h - lo) * (means[lo + 1] - means[lo]);
    };
    expect(r.ci.net_early_share![0]).toBeCloseTo(q(0.025), 12);
    expect(r.ci.net_early_share![1]).toBeCloseTo(q(0.975), 12);
  });
});

describe("paired comparison (METRICS 4)", () => {
  it("computes p = min(1, 2 min((1 + #<=0) / (B + 1), (1 + #>=0) / (B + 1)))", () => {
    expect(pairedP([1, 2, 3, 4])).toBeCloseTo(0.4, 12);
    expect(pairedP([-1, 0, 1, 2])).toBe(1);
    expect(pairedP([-3, -2, -1, 1, 2])).toBeCloseTo(2 * (1 + 2) / 6, 12);
    expect(replicatesForFamily(4)).toBe(1600);
  });
  it("differences two runs on their common examples and Holm-adjusts the family", () => {
    const index = new Map<string, number>();
    const a = constantRun(0.9, index, ["a", "b", "c", "d"]);
    const b = constantRun(0.4, index, ["a", "b", "c"]);
    const c = pairedComparison({ name: "A", runs: ["A"], data: [a] }, { name: "B", runs: ["B"], data: [b] }, { B: 100, seed: 0, statistics: ["net_early_share", "early_share"] });
    expect(c.B).toBe(800); // raised to 20 * 2 / 0.05
    expect(c.examples).toBe(3);
    expect(c.dropped_examples).toBe(1);
    expect(c.rows[0].difference).toBeCloseTo(0.5, 12);
    // every replicate gives 0.5: p = 2 (1 + 0) / 801
    expect(c.rows[0].p).toBeCloseTo(2 / 801, 12);
    expect(c.rows.map((r) => r.p_holm)).toEqual(holm(c.rows.map((r) => r.p)));
  });
});

describe("recipe comparison rule (recipeDifference.ts: METRICS 4 with 3.7)", () => {
  it("picks the rule by min(R_A, R_B) and gives the t interval and p by hand", () => {
    expect([recipeComparisonRule(5, 7), recipeComparisonRule(3, 7), recipeComparisonRule(2, 2), recipeComparisonRule(1, 4)]).toEqual(["two-stage bootstrap", "t", "t", "runs fixed"]);
    // se = sqrt(0.01/3 + 0.01/3 + 0) = 0.0816497, df 2, t = 4.898979: p = 1 - t / sqrt(2 + t^2) (Student t, df 2, closed form)
    const t = tDifference(0.4, 0.1, 3, 0.1, 3, 0);
    expect(t.df).toBe(2);
    expect(t.se).toBeCloseTo(Math.sqrt(0.02 / 3), 12);
    expect(t.ci[1]).toBeCloseTo(0.4 + 0.35131012, 7);
    expect(t.p).toBeCloseTo(1 - 4.898979486 / Math.sqrt(26), 7);
    // df = min(3, 4) - 1 = 2 with v_ex: se = sqrt(0.04/3 + 0.09/4 + 0.01) = 0.214127
    const u = tDifference(-0.2, 0.2, 3, 0.3, 4, 0.01);
    expect(u.se).toBeCloseTo(Math.sqrt(0.04 / 3 + 0.09 / 4 + 0.01), 12);
    expect(u.ci[0]).toBeCloseTo(-0.2 - 4.302652729749464 * u.se, 8);
    const tt = 0.2 / u.se;
    expect(u.p).toBeCloseTo(1 - tt / Math.sqrt(2 + tt * tt), 9);
  });
  it("uses the t rule for 3 vs 3 runs and the two-stage bootstrap for 5 vs 5 (runs drawn per recipe, one example draw)", () => {
    const index = new Map<string, number>();
    const xs = [0.5, 0.6, 0.7];
    const ys = [0.4, 0.45, 0.2];
    const side = (name: string, v: number[]) => ({ name, runs: v.map((_, i) => `${name}${i}`), data: v.map((x) => constantRun(x, index)) });
    const t = pairedComparison(side("A", xs), side("B", ys), { B: 400, seed: 0, statistics: ["net_early_share"] });
    expect(t.ci_info.rule).toBe("t");
    const sdB = Math.sqrt(((0.05) ** 2 + (0.1) ** 2 + (0.15) ** 2) / 2); // mean 0.35
    expect(t.rows[0].difference).toBeCloseTo(0.25, 12);
    expect(t.rows[0].sd_b).toBeCloseTo(sdB, 12);
    const se = Math.sqrt(0.01 / 3 + (sdB * sdB) / 3);
    expect(t.rows[0].ci![0]).toBeCloseTo(0.25 - 4.302652729749464 * se, 9);
    const five = [0.5, 0.55, 0.6, 0.8, 0.9];
    const fiveB = [0.3, 0.35, 0.6, 0.4, 0.5];
    const B = 400;
    const c = pairedComparison(side("C", five), side("D", fiveB), { B, seed: 3, statistics: ["net_early_share"] });
    expect(c.ci_info.rule).toBe("two-stage bootstrap");
    expect(c.runs_resampled).toBe(true);
    // Straightforward recomputation: per replicate 5 run draws of A, 5 of B, then 3 example draws.
    const rand = rng(3);
    const d: number[] = [];
    for (let b = 0; b < B; b++) {
      let sa = 0;
      let sb = 0;
      for (let i = 0; i < 5; i++) sa += five[Math.floor(rand() * 5)];
      for (let i = 0; i < 5; i++) sb += fiveB[Math.floor(rand() * 5)];
      for (let i = 0; i < 3; i++) rand();
      d.push(sa / 5 - sb / 5);
    }
    d.sort((a, b) => a - b);
    const q = (p: number) => {
      const h = (B - 1) * p;
      const lo = Math.floor(h);
      return d[lo] + (h - lo) * (d[lo + 1] - d[lo]);
    };
    expect(c.rows[0].ci![0]).toBeCloseTo(q(0.025), 12);
    expect(c.rows[0].ci![1]).toBeCloseTo(q(0.975), 12);
    expect(c.rows[0].p).toBeCloseTo(pairedP(d)!, 12);
    const one = pairedComparison(side("E", [0.5]), side("F", xs), { B: 400, seed: 0, statistics: ["net_early_share"] });
    expect(one.ci_info.rule).toBe("runs fixed");
    expect(one.notes.join("\n")).toMatch(/ignore training randomness/);
  });
  it("counts the compared examples a run lacks", () => {
    const index = new Map<string, number>();
    const A = { name: "A", runs: ["a1", "a2"], data: [constantRun(0.9, index), constantRun(0.8, index, ["a", "b"])] };
    const Bs = { name: "B", runs: ["b1", "b2"], data: [constantRun(0.4, index), constantRun(0.5, index)] };
    const c = pairedComparison(A, Bs, { B: 400, seed: 0, statistics: ["net_early_share"] });
    expect(c.examples).toBe(3);
    expect(c.missing_examples).toEqual({ a1: 0, a2: 1, b1: 0, b2: 0 });
    expect(c.notes.join("\n")).toMatch(/run a2 of A lacks 1 of the 3 compared examples: its statistics use the other 2/);
  });
});

describe("runIntervals and summary on the re-based case prompt-tokens-segment", () => {
  it("gives the case's values with a degenerate [1, 1] interval", async () => {
    const logs = await loadTokenLogs([join(__dirname, "..", "fixtures", "stats", "prompt-tokens-rebased.jsonl")], { progress: false });
    try {
      const s = await updateSummary(logs, { bootstrap: 200, seed: 0 });
      expect(s.schema).toBe(2);
      const r = s.runs[0];
      expect(r.net_change).toBeCloseTo(-1.6, 12);
      expect(r.net_early_share).toBeCloseTo(1, 12);
      expect(r.early_share).toBeCloseTo(1, 12);
      expect([r.d50, r.d90]).toEqual([1, 1]);
      expect(r.z50).toBeCloseTo(0.533333333333, 9);
      expect(r.z90).toBeCloseTo(0.96, 12);
      expect(r.counter_movement).toBe(0);
      expect(r.headroom_early_share).toBeCloseTo(1, 12);
      expect(r.uniform_early_share).toBe(1);
      expect(r.ci.net_early_share).toEqual([1, 1]);
      expect(r.ci_info.degenerate).toContain("net_early_share");
      expect(r.ci_info).toMatchObject({ method: "bca", B: 200, seed: 0 });
      expect(s.warnings.some((w) => /ignore training randomness/.test(w))).toBe(true);
    } finally {
      logs.close();
    }
  });
  it("jackknife deletions equal recomputation without the example", () => {
    const index = new Map<string, number>();
    const ex = ["a", "a", "b", "b", "c"];
    const pos = [0, 1, 0, 1, 0];
    const diff = [-1, 0.5, -2, 0.2, -0.5];
    const d: RunData = { pairs: exampleTable(ex, pos, [diff, diff.map(() => 1)], index), level: null, pool: Int32Array.from([0, 1, 2]) };
    // all: deltas -3.5/3, 0.35: N1 = (-3.5/3) / (-3.5/3 + 0.35) = 1.428571
    expect(runIntervals(d, { B: 0, k: 1 }).estimate[N]).toBeCloseTo(1 / 0.7, 12);
    const S = UPDATE_STATISTICS.length;
    const jk = jackknife(d, { k: 1 });
    // without a: deltas -1.25, 0.2: N1 = -1.25 / -1.05; without b: -0.75, 0.5: N1 = 3; without c: -1.5, 0.35: N1 = -1.5 / -1.15
    expect(jk[0 * S + N]).toBeCloseTo(1.25 / 1.05, 12);
    expect(jk[1 * S + N]).toBeCloseTo(3, 12);
    expect(jk[2 * S + N]).toBeCloseTo(1.5 / 1.15, 12);
  });
});
