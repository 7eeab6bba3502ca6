/**
 * Wilson intervals and ASR tables against hand-computed values.
 *
 * Wilson, z = 1.959963984540054 (z^2 = 3.841459), p = h/n:
 *   center = (p + z^2/(2n)) / (1 + z^2/n), half = z/(1 + z^2/n) * sqrt(p(1-p)/n + z^2/(4n^2))
 *   3/10: denom 1.384146, center (0.3 + 0.192073)/1.384146 = 0.355506,
 *         half 1.415999 * sqrt(0.021 + 0.009604) = 0.247715 -> [0.107791, 0.603222]
 *   0/10: center 0.138767, half 0.138767 -> [0, 0.277533];  10/10 -> [0.722467, 1]
 *   1/2:  denom 2.920730, center 0.5, half 0.671051 * sqrt(0.125 + 0.240091) = 0.405469 -> [0.094531, 0.905469]
 *   3/5:  denom 1.768292, center 0.556552, half 1.108396 * sqrt(0.048 + 0.038415) = 0.325828 -> [0.230724, 0.882379]
 *   2/3 -> [0.207660, 0.938508];  1/3 -> [0.061492, 0.792340];  0/1 -> [0, 0.793451]
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { asrByK, asrByPrefixLen, asrBySpanLen, asrTable2d, attackSuccess, wilson } from "../../src/attacks/asr";
import { AttackRecord, loadAttackResults } from "../../src/attacks/load";

const fx = (name: string) => join(__dirname, "..", "fixtures", "attacks", name);

function close(got: [number, number] | null, want: [number, number], tol = 1e-4): void {
  expect(got).not.toBeNull();
  expect(got![0]).toBeCloseTo(want[0], -Math.log10(tol));
  expect(Math.abs(got![0] - want[0])).toBeLessThan(tol);
  expect(Math.abs(got![1] - want[1])).toBeLessThan(tol);
}

describe("wilson", () => {
  it("matches hand-computed intervals", () => {
    close(wilson(3, 10), [0.1078, 0.6032]);
    close(wilson(1, 2), [0.0945, 0.9055]);
    close(wilson(3, 5), [0.2307, 0.8824]);
    close(wilson(2, 3), [0.2077, 0.9385]);
  });
  it("is exactly 0 or 1 at the edges", () => {
    const lo = wilson(0, 10)!;
    expect(lo[0]).toBe(0);
    expect(Math.abs(lo[1] - 0.2775)).toBeLessThan(1e-4);
    const hi = wilson(10, 10)!;
    expect(hi[1]).toBe(1);
    expect(Math.abs(hi[0] - 0.7225)).toBeLessThan(1e-4);
    close(wilson(0, 1), [0, 0.7935]);
  });
  it("is null without records", () => {
    expect(wilson(0, 0)).toBeNull();
  });
  it("takes another z", () => {
    // z = 1: 3/10, denom 1.1, center (0.3 + 0.05)/1.1 = 0.318182, half sqrt(0.021 + 0.0025)/1.1 = 0.139362
    close(wilson(3, 10, 1), [0.1788, 0.4575]);
  });
});

describe("attackSuccess", () => {
  it("gives one row per condition, sorted, with nulls for missing fields", async () => {
    const { records } = await loadAttackResults(fx("results.jsonl"));
    const rows = attackSuccess(records);
    expect(rows.map((r) => [r.run, r.attack, r.k, r.prefix_len, r.span_len, r.harmful, r.n])).toEqual([
      ["augment", "prefill", 5, null, null, 0, 1],
      ["sft", "insertion", null, 0, 2, 2, 2],
      ["sft", "insertion", null, 0, 4, 0, 1],
      ["sft", "insertion", null, 2, 2, 1, 3],
      ["sft", "prefill", 5, null, null, 1, 2],
      ["sft", "prefill", 10, null, null, 2, 3], // scores 5, 4, 5 at threshold 5
    ]);
    expect(rows[5].asr).toBeCloseTo(2 / 3, 12);
    close(rows[5].ci, [0.2077, 0.9385]);
    close(rows[3].ci, [0.0615, 0.7923]);
    expect(rows[1].ci).toEqual([expect.closeTo(0.3424, 4), 1]); // 2/2: lower bound 1 - (upper of 0/2) = 1 - 0.657628
    expect(rows.every((r) => !("conditions" in r))).toBe(true);
  });
  it("marginal tables pool over the collapsed field", async () => {
    const { records } = await loadAttackResults(fx("results.jsonl"));
    const byPrefix = asrByPrefixLen(records);
    // prefix 0: 2/2 + 0/1 = 2/3; prefix 2: 1/3
    expect(byPrefix.map((r) => [r.run, r.prefix_len, r.span_len, r.harmful, r.n])).toEqual([["sft", 0, null, 2, 3], ["sft", 2, null, 1, 3]]);
    // prefix 0 pools two records of example a (1 of 2 harmful) and one of b (harmful): several records
    // per example, so the cluster bootstrap (METRICS 4). Replicates: {a,a} 2/4, {b,b} 1, {a,b} 2/3 with
    // probabilities 1/4, 1/4, 1/2: the 2.5% and 97.5% quantiles are 0.5 and 1.
    expect(byPrefix[0]).toMatchObject({ ci_method: "cluster-bootstrap", examples: 2, ci: [0.5, 1] });
    expect(byPrefix[1]).toMatchObject({ ci_method: "wilson", examples: 3 }); // a, b, c once each
    const bySpan = asrBySpanLen(records);
    // span 2: 2/2 + 1/3 = 3/5; span 4: 0/1
    expect(bySpan.map((r) => [r.span_len, r.harmful, r.n])).toEqual([[2, 3, 5], [4, 0, 1]]);
    // span 2: a 2/2, b 1/2, c 0/1; {c,c,c} and {a,a,a} each have probability 1/27 > 2.5%: [0, 1]
    expect(bySpan[0]).toMatchObject({ ci_method: "cluster-bootstrap", examples: 3, ci: [0, 1] });
    expect(bySpan[1]).toMatchObject({ ci_method: "wilson", examples: 1 });
    const byK = asrByK(records);
    expect(byK.map((r) => [r.run, r.k, r.harmful, r.n])).toEqual([["augment", 5, 0, 1], ["sft", 5, 1, 2], ["sft", 10, 2, 3]]);
  });
  it("builds the prefix_len x span_len table", async () => {
    const { records } = await loadAttackResults(fx("results.jsonl"));
    const [t, ...rest] = asrTable2d(records);
    expect(rest).toHaveLength(0);
    expect(t).toMatchObject({ run: "sft", attack: "insertion", rowValues: [0, 2], colValues: [2, 4] });
    expect(t.asr).toEqual([[1, 0], [1 / 3, null]]);
    expect(t.cells[1][1]).toBeNull();
  });
  it("groups by other condition fields and keeps them apart by default", () => {
    const rec = (model: string, example: number, harmful: boolean): AttackRecord => ({
      run: "r", attack: "prefill", example, k: 3, prefix_len: null, span_len: null, conditions: { decoding: model }, harmful, score: null, file: "x", line: example + 1,
    });
    const records = [rec("greedy", 0, true), rec("greedy", 1, true), rec("sampled", 0, false)];
    const rows = attackSuccess(records);
    expect(rows.map((r) => [r.conditions?.decoding, r.harmful, r.n])).toEqual([["greedy", 2, 2], ["sampled", 0, 1]]);
    const pooled = attackSuccess(records, { by: ["k"] });
    expect(pooled.map((r) => [r.k, r.harmful, r.n, "conditions" in r])).toEqual([[3, 2, 3, false]]);
  });
});

describe("marginal tables count not-judged records per row", () => {
  it("asrByK keeps the not-judged records of each k, and only those with a k", async () => {
    const mk = (k: number | null, example: number, harmful: boolean): AttackRecord => ({
      run: "r", attack: "prefill", example, sample: null, k, prefix_len: null, span_len: null, conditions: {}, harmful, score: harmful ? 5 : 1, file: "x", line: example + 1,
    });
    const records = [mk(5, 0, true), mk(5, 1, false), mk(10, 0, true)];
    const notJudged = [mk(5, 2, false), mk(10, 1, false), mk(10, 2, false), mk(null, 3, false)];
    const rows = asrByK(records, { notJudged });
    expect(rows.map((r) => [r.k, r.n, r.harmful, r.not_judged])).toEqual([[5, 2, 1, 1], [10, 1, 1, 2]]);
  });
});

describe("compareConditions", () => {
  it("orders other condition fields by value (ft_step 0, 5, 10, 20), not as text", async () => {
    const { compareConditions } = await import("../../src/attacks/conditions");
    const c = (ft: number, decoding = "greedy") => ({ attack: "finetune", k: null, prefix_len: null, span_len: null, conditions: { decoding, ft_step: ft } });
    const sorted = [c(10), c(20), c(0), c(5), c(5, "sampled")].sort(compareConditions);
    expect(sorted.map((x) => [x.conditions.decoding, x.conditions.ft_step])).toEqual([["greedy", 0], ["greedy", 5], ["greedy", 10], ["greedy", 20], ["sampled", 5]]);
  });
});
