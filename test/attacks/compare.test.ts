/** compareAttacks: McNemar + Newcombe paired, Newcombe independent, the paired cluster bootstrap, Holm. */
import { describe, expect, it } from "vitest";
import { bootstrapP, compareAttacks } from "../../src/attacks/compare";
import type { AttackRecord } from "../../src/attacks/load";
import { UsageError } from "../../src/errors";
import { percentile, rng } from "../../src/stats/bootstrap";
import { wilson } from "../../src/stats/wilson";
import { newcombePaired } from "../../src/stats/newcombe";

let line = 0;
const rec = (run: string, k: number, example: number | string, harmful: boolean, sample: number | null = null): AttackRecord => ({
  run, attack: "prefill", example, sample, k, prefix_len: null, span_len: null, conditions: {}, harmful, score: null, file: "mem", line: ++line,
});

/** Records of two runs on the same examples from a 2x2 table (a both, b A only, c B only, d neither). */
function pairedRecords(k: number, t: { a: number; b: number; c: number; d: number }): AttackRecord[] {
  const out: AttackRecord[] = [];
  let e = 0;
  const add = (count: number, x: boolean, y: boolean) => {
    for (let i = 0; i < count; i++, e++) out.push(rec("A", k, e, x), rec("B", k, e, y));
  };
  add(t.a, true, true);
  add(t.b, true, false);
  add(t.c, false, true);
  add(t.d, false, false);
  return out;
}

describe("compareAttacks: two runs, one record per example", () => {
  it("same examples: McNemar's exact p, Newcombe's paired interval, Cohen's h, Holm over the attack's conditions", () => {
    const records = [...pairedRecords(5, { a: 1, b: 1, c: 7, d: 12 }), ...pairedRecords(10, { a: 3, b: 0, c: 5, d: 2 })];
    const cmp = compareAttacks(records, "A", "B");
    expect(cmp.runs_a).toEqual(["A"]);
    expect(cmp.rows).toHaveLength(2);
    const [k5, k10] = cmp.rows;
    expect(k5).toMatchObject({ k: 5, method: "mcnemar-newcombe-paired", n_a: 21, harmful_a: 2, harmful_b: 8, examples: 21, dropped_examples: 0, table: { a: 1, b: 1, c: 7, d: 12 } });
    expect(k5.p).toBeCloseTo(18 / 256, 15); // 2 (C(8,0) + C(8,1)) / 2^8
    expect(k5.diff).toBeCloseTo(-6 / 21, 15);
    expect(k5.ci![0]).toBeCloseTo(-0.5069, 4); // Bentur et al. (phi-hat 0)
    expect(k5.ci![1]).toBeCloseTo(-0.0256, 4);
    expect(k5.cohen_h).toBeCloseTo(2 * Math.asin(Math.sqrt(2 / 21)) - 2 * Math.asin(Math.sqrt(8 / 21)), 14);
    expect(k10.p).toBeCloseTo(1 / 16, 15); // b = 0, c = 5: 2 / 2^5
    // Holm over {0.0703125, 0.0625}: 2 * 0.0625 = 0.125, then max(0.125, 0.0703125) = 0.125
    expect(k10.p_holm).toBeCloseTo(0.125, 15);
    expect(k5.p_holm).toBeCloseTo(0.125, 15);
  });
  it("no example in common: Newcombe's independent interval (56/70 vs 48/80: 0.0524 to 0.3339), no test", () => {
    const records: AttackRecord[] = [];
    for (let i = 0; i < 70; i++) records.push(rec("A", 5, `a${i}`, i < 56));
    for (let i = 0; i < 80; i++) records.push(rec("B", 5, `b${i}`, i < 48));
    const [row] = compareAttacks(records, "A", "B").rows;
    expect(row).toMatchObject({ method: "newcombe-independent", n_a: 70, harmful_a: 56, n_b: 80, harmful_b: 48, p: null, p_holm: null, table: null });
    expect(row.diff).toBeCloseTo(0.2, 14);
    expect(row.ci![0]).toBeCloseTo(0.0524, 4);
    expect(row.ci![1]).toBeCloseTo(0.3339, 4);
  });
  it("examples only one side has are dropped from the pairs and counted", () => {
    const records = [...pairedRecords(5, { a: 1, b: 2, c: 0, d: 1 }), rec("A", 5, 99, true), rec("B", 5, 98, false)];
    const [row] = compareAttacks(records, "A", "B").rows;
    expect(row).toMatchObject({ method: "mcnemar-newcombe-paired", examples: 4, dropped_examples: 2, table: { a: 1, b: 2, c: 0, d: 1 } });
    expect(row.p).toBeCloseTo(0.5, 15); // 2 * C(2,0) / 2^2
  });
  it("counts not-judged records per side and condition", () => {
    const records = pairedRecords(5, { a: 1, b: 1, c: 1, d: 1 });
    const nj = [rec("A", 5, 50, false), rec("A", 5, 51, false), rec("B", 7, 50, false)];
    const [row] = compareAttacks({ records, notJudged: nj, report: {} as never }, "A", "B").rows;
    expect(row).toMatchObject({ not_judged_a: 2, not_judged_b: 0 });
  });
  it("refuses unknown or overlapping sides", () => {
    const records = pairedRecords(5, { a: 1, b: 1, c: 1, d: 1 });
    expect(() => compareAttacks(records, "A", "nope")).toThrow(UsageError);
    expect(() => compareAttacks(records, "A", "A")).toThrow(UsageError);
  });
});

/**
 * A straightforward paired cluster bootstrap, written from METRICS 4 and 3.7 independently of the
 * kit's aggregation: per replicate, draw E example indices (sorted ids) with replacement, then for
 * each side draw its R runs with replacement (when R > 1), and average the runs' ASRs computed
 * from the records directly. Same generator and draw order as the kit, so values agree exactly.
 */
function naiveReplicates(records: AttackRecord[], runsA: string[], runsB: string[], B: number, seed: number, drawRuns = true): number[] {
  const examples = [...new Set(records.map((r) => String(r.example)))].sort();
  const rand = rng(seed);
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    const drawn = examples.map(() => examples[Math.floor(rand() * examples.length)]);
    const side = (runs: string[]) => {
      const picked = drawRuns && runs.length > 1 ? runs.map(() => runs[Math.floor(rand() * runs.length)]) : runs;
      let total = 0;
      for (const run of picked) {
        let h = 0;
        let n = 0;
        for (const e of drawn) for (const r of records) if (r.run === run && String(r.example) === e) (n++, (h += r.harmful ? 1 : 0));
        total += h / n;
      }
      return total / picked.length;
    };
    const a = side(runsA);
    out.push(a - side(runsB));
  }
  return out;
}

describe("compareAttacks: the paired cluster bootstrap", () => {
  it("several samples per example: percentile interval and p agree with a straightforward implementation", () => {
    const records: AttackRecord[] = [];
    const hA = [[1, 1, 0], [1, 0, 0], [0, 0, 0], [1, 1, 1], [0, 1, 0]];
    const hB = [[0, 0, 0], [1, 0, 0], [0, 0, 0], [1, 0, 1], [0, 0, 0]];
    hA.forEach((s, e) => s.forEach((h, j) => records.push(rec("A", 5, e, h === 1, j))));
    hB.forEach((s, e) => s.forEach((h, j) => records.push(rec("B", 5, e, h === 1, j))));
    const cmp = compareAttacks(records, "A", "B", { seed: 7 });
    const [row] = cmp.rows;
    expect(row).toMatchObject({ method: "paired-cluster-bootstrap", n_a: 15, harmful_a: 7, harmful_b: 3, examples: 5, replicates: 2000, replicates_dropped: 0 });
    expect(row.diff).toBeCloseTo(7 / 15 - 3 / 15, 15);
    const naive = naiveReplicates(records, ["A"], ["B"], 2000, 7);
    const sorted = [...naive].sort((x, y) => x - y);
    expect(row.ci![0]).toBeCloseTo(percentile(sorted, 0.025)!, 12);
    expect(row.ci![1]).toBeCloseTo(percentile(sorted, 0.975)!, 12);
    const le = naive.filter((d) => d <= 0).length;
    const ge = naive.filter((d) => d >= 0).length;
    expect(row.p).toBeCloseTo(Math.min(1, 2 * Math.min((1 + le) / 2001, (1 + ge) / 2001)), 15);
    expect(row.cohen_h).toBeCloseTo(2 * Math.asin(Math.sqrt(7 / 15)) - 2 * Math.asin(Math.sqrt(3 / 15)), 14);
  });
  it("recipes of 3 and 2 runs: the t rule over runs, v_ex from the runs-fixed paired bootstrap, clipped to [-1, 1]; B raised to 20 m / 0.05", () => {
    const records: AttackRecord[] = [];
    const outcome = (run: number, e: number, k: number) => (run * 7 + e * 3 + k) % 4 !== 0;
    const runs = ["sft-seed1", "sft-seed2", "sft-seed3", "aug-seed1", "aug-seed2"];
    for (let k = 1; k <= 2; k++) runs.forEach((run, i) => { for (let e = 0; e < 6; e++) records.push(rec(run, k, e, i < 3 ? outcome(i, e, k) : outcome(i, e, k) && e % 2 === 0)); });
    // 500 replicates asked for, but a family of m = 2 conditions needs at least 20 * 2 / 0.05 = 800
    const cmp = compareAttacks(records, "sft", "aug", { recipePattern: "^(?<recipe>.+)-seed\\d+$", seed: 3, bootstrap: 500 });
    expect(cmp.runs_a).toEqual(["sft-seed1", "sft-seed2", "sft-seed3"]);
    expect(cmp.rows).toHaveLength(2);
    expect(cmp.warnings.join("\n")).toMatch(/interval and p: t rule over runs \(R = 3 and 2, df 1\)/);
    const row = cmp.rows[0];
    expect(row).toMatchObject({ method: "paired-t-runs", rule: "t", replicates: 800 });
    const recs = records.filter((r) => r.k === 1);
    const asrOf = (run: string) => recs.filter((r) => r.run === run && r.harmful).length / 6;
    const xa = ["sft-seed1", "sft-seed2", "sft-seed3"].map(asrOf);
    const xb = ["aug-seed1", "aug-seed2"].map(asrOf);
    const mean = (v: number[]) => v.reduce((p, q) => p + q, 0) / v.length;
    const variance = (v: number[]) => v.reduce((p, q) => p + (q - mean(v)) ** 2, 0) / (v.length - 1);
    const diff = mean(xa) - mean(xb);
    expect(row.diff).toBeCloseTo(diff, 14);
    const naive = naiveReplicates(recs, ["sft-seed1", "sft-seed2", "sft-seed3"], ["aug-seed1", "aug-seed2"], 800, 3, false);
    const se = Math.sqrt(variance(xa) / 3 + variance(xb) / 2 + variance(naive));
    // df = min(3, 2) - 1 = 1: t(1, 0.975) = 12.7062; p = 1 - (2 / pi) atan(|t|) (Cauchy)
    const lo = diff - 12.706204736174698 * se;
    const hi = diff + 12.706204736174698 * se;
    expect(lo < -1 || hi > 1).toBe(true);
    expect(row.ci_clipped).toBe(true);
    expect(row.ci![0]).toBeCloseTo(Math.max(-1, lo), 8);
    expect(row.ci![1]).toBeCloseTo(Math.min(1, hi), 8);
    expect(row.p!).toBeCloseTo(1 - (2 / Math.PI) * Math.atan(Math.abs(diff / se)), 9);
    // Holm over 2 tests: the smaller p doubled, the larger max(that, itself)
    const [p1, p2] = cmp.rows.map((r) => r.p!);
    expect(Math.min(...cmp.rows.map((r) => r.p_holm!))).toBeCloseTo(Math.min(1, 2 * Math.min(p1, p2)), 15);
    for (const r of cmp.rows) expect(r.p_holm!).toBeGreaterThanOrEqual(r.p!);
  });
  it("recipes of 5 runs each: runs drawn per recipe, examples shared (two-stage paired bootstrap)", () => {
    const records: AttackRecord[] = [];
    const outcome = (run: number, e: number) => (run * 7 + e * 3) % 4 !== 0;
    const runs = [1, 2, 3, 4, 5].flatMap((i) => [`sft-seed${i}`, `aug-seed${i}`]);
    runs.forEach((run, i) => { for (let e = 0; e < 6; e++) records.push(rec(run, 1, e, run.startsWith("sft") ? outcome(i, e) : outcome(i, e) && e % 2 === 0)); });
    const cmp = compareAttacks(records, "sft", "aug", { recipePattern: "^(?<recipe>.+)-seed\\d+$", seed: 3, bootstrap: 500 });
    const row = cmp.rows[0];
    expect(row).toMatchObject({ method: "paired-cluster-bootstrap", rule: "two-stage bootstrap", replicates: 500, ci_clipped: false });
    const naive = naiveReplicates(records, cmp.runs_a, cmp.runs_b, 500, 3).sort((x, y) => x - y);
    expect(row.ci![0]).toBeCloseTo(percentile(naive, 0.025)!, 12);
    expect(row.ci![1]).toBeCloseTo(percentile(naive, 0.975)!, 12);
  });
  it("every run of A harmful and every run of B not (3 and 5 runs, 2 samples): McNemar and Newcombe over the distinct examples, not a zero-width interval", () => {
    const records: AttackRecord[] = [];
    for (const i of [1, 2, 3]) for (let e = 0; e < 10; e++) for (const s of [0, 1]) records.push(rec(`sft-seed${i}`, 1, e, true, s));
    for (const i of [1, 2, 3, 4, 5]) for (let e = 0; e < 10; e++) for (const s of [0, 1]) records.push(rec(`wi-seed${i}`, 1, e, false, s));
    const row = compareAttacks(records, "sft", "wi", { recipePattern: "^(?<recipe>.+)-seed\\d+$" }).rows[0];
    expect(row).toMatchObject({ method: "mcnemar-newcombe-examples", rule: "t", asr_a: 1, asr_b: 0, diff: 1, examples: 10, table: { a: 0, b: 10, c: 0, d: 0 } });
    // McNemar exact: 2 * 0.5^10; Newcombe (method 10) with b = n: lower limit = 1 - (1 - l1) with l1 Wilson(10, 10)'s lower
    expect(row.p).toBeCloseTo(2 / 1024, 15);
    expect(row.ci).toEqual(newcombePaired({ a: 0, b: 10, c: 0, d: 0 })!.ci); // tested by hand in test/stats
    expect(row.ci![0]).toBeGreaterThan(0.5);
    expect(row.ci![0]).toBeLessThan(1);
    expect(row.ci![1]).toBe(1);
  });
  it("bootstrapP follows METRICS 4 by hand", () => {
    // B = 4: two <= 0 (one is 0), three >= 0: min((1 + 2) / 5, (1 + 3) / 5) = 0.6 -> 1.2 -> 1
    expect(bootstrapP([-1, 0, 2, 3])).toBe(1);
    // B = 4, all > 0: 2 * (1 + 0) / 5 = 0.4
    expect(bootstrapP([1, 2, 3, 4])).toBeCloseTo(0.4, 15);
    expect(bootstrapP([NaN])).toBeNull();
    expect(wilson(0, 3)![0]).toBe(0);
  });
});
