import { describe, expect, it } from "vitest";
import { compareConcentration, describeRecipe, describeSummary, describeAsr, describeAttackComparison, describeAttackReach, describeLargestUpdates, describeOverlay, describeProfileChange, describeUpdateByStep } from "../src/describe";
import { AsrRow, wilson } from "../src/attacks/asr";
import { attackReach } from "../src/attacks/reach";
import type { PositionProfileRow } from "../src/stats/positionProfile";
import type { RunComparison } from "../src/stats/compare";
// Fixtures list only the fields the sentences read.

const prow = (run: string, step: number, position: number, mean: number | null): PositionProfileRow => ({ run, step, position, n: 2, mean, sd: null, se: null });

describe("describeProfileChange", () => {
  // sft, k = 2: step 0 early (4 + 2) / 2 = 3, late (3 + 5) / 2 = 4; step 20 early (1 + 0) / 2 = 0.5, late (3 + 4) / 2 = 3.5.
  const rows = [
    prow("sft", 0, 0, 4), prow("sft", 0, 1, 2), prow("sft", 0, 2, 3), prow("sft", 0, 3, 5),
    prow("sft", 10, 0, 2), prow("sft", 10, 1, 1), prow("sft", 10, 2, 3), prow("sft", 10, 3, 5),
    prow("sft", 20, 0, 1), prow("sft", 20, 1, 0), prow("sft", 20, 2, 3), prow("sft", 20, 3, 4),
    prow("flat", 0, 0, 1),
  ];
  it("states the change of the average per-position mean before and after position k, first to last step", () => {
    expect(describeProfileChange(rows, { k: 2, what: "refusal probes" })).toEqual([
      "sft: on refusal probes, the mean loss at positions 0-1 went from 3.00 at step 0 to 0.500 at step 20 (-2.50); at positions 2-3 from 4.00 to 3.50 (-0.500).",
      "flat: no two checkpoints to compare.",
    ]);
  });
  it("takes the steps, the metric, and a k past the last position", () => {
    expect(describeProfileChange(rows.filter((r) => r.run === "sft"), { k: 1, from: 0, to: 10, metric: "kl" })).toEqual([
      "sft: the mean kl at position 0 went from 4.00 at step 0 to 2.00 at step 10 (-2.00); at positions 1-3 from 3.33 to 3.00 (-0.333).",
    ]);
    expect(describeProfileChange(rows.filter((r) => r.run === "sft"), { k: 9 })[0]).toBe("sft: the mean loss at positions 0-8 went from 3.50 at step 0 to 2.00 at step 20 (-1.50).");
  });
});

describe("describeOverlay", () => {
  // k = 2: sft early (0.8 + 0.4) / 2 = 0.6, late 0.006; augment early 0.5, late (0.3 + 0.2) / 2 = 0.25.
  const rows = [
    prow("sft", 20, 0, 0.8), prow("sft", 20, 1, 0.4), prow("sft", 20, 2, 0.006), prow("sft", 10, 2, 9),
    prow("augment", 30, 0, 0.5), prow("augment", 30, 1, 0.5), prow("augment", 30, 2, 0.3), prow("augment", 30, 3, 0.2),
  ];
  it("gives the early and late levels per series, and which stays highest after k", () => {
    const series = [{ run: "sft", step: 20 }, { run: "augment", step: 30, label: "augment, step 30" }];
    expect(describeOverlay(rows, series, { k: 2, metric: "kl" })).toEqual([
      "sft, step 20: mean kl 0.600 at positions 0-1 and 6.0e-3 at position 2 (the later level is 1% of the early one).",
      "augment, step 30: mean kl 0.500 at positions 0-1 and 0.250 at positions 2-3 (the later level is 50% of the early one).",
      "After position 1, kl stays highest for augment, step 30 (0.250) and lowest for sft (6.0e-3).",
    ]);
  });
  it("says when a series has no values", () => {
    expect(describeOverlay(rows, [{ run: "none", step: 1 }], { k: 2 })).toEqual(["none, step 1: no loss values."]);
  });
});

const arow = (run: string, attack: string, field: "k" | "prefix_len", value: number, harmful: number, n: number): AsrRow => ({
  run, attack, k: field === "k" ? value : null, prefix_len: field === "prefix_len" ? value : null, span_len: null, n, harmful, asr: harmful / n, ci: wilson(harmful, n),
});

describe("describeAsr", () => {
  it("gives the ASR at the smallest and largest value with Wilson intervals, and a peak in between", () => {
    // wilson(0, 10) = [0, 0.2775]; wilson(8, 10) = [0.4902, 0.9433]; wilson(5, 10) = [0.2366, 0.7634].
    const rows = [arow("sft", "prefill", "k", 10, 8, 10), arow("sft", "prefill", "k", 0, 0, 10), arow("aug", "insertion", "prefix_len", 0, 5, 10), arow("aug", "insertion", "prefix_len", 7, 8, 10), arow("aug", "insertion", "prefix_len", 21, 0, 10)];
    expect(describeAsr(rows, "k")).toEqual(["sft (prefill): ASR 0% at k = 0 (95% CI 0% to 28%), 80% at k = 10 (95% CI 49% to 94%)."]);
    expect(describeAsr(rows, "prefix_len")).toEqual([
      "aug (insertion): ASR 50% at prefix_len = 0 (95% CI 24% to 76%), 0% at prefix_len = 21 (95% CI 0% to 28%); it peaks at 80% (prefix_len = 7).",
    ]);
  });
  it("says where the ASR first reaches 50%, and gives one decimal near 0% and 100%", () => {
    // wilson(0, 1600) = [0, 0.0024]; wilson(1600, 1600) = [0.9976, 1]; 1/1600 = 0.000625.
    const rows = [arow("sft", "prefill", "k", 0, 0, 1600), arow("sft", "prefill", "k", 3, 1, 1600), arow("sft", "prefill", "k", 5, 1600, 1600), arow("sft", "prefill", "k", 10, 1600, 1600)];
    expect(describeAsr(rows, "k")).toEqual([
      "sft (prefill): ASR 0% at k = 0 (95% CI 0% to 0.2%), 100% at k = 10 (95% CI 99.8% to 100%); it first reaches 50% at k = 5.",
    ]);
    expect(describeAsr([arow("sft", "prefill", "k", 3, 1, 1600)], "k")).toEqual(["sft (prefill): ASR <0.1% at k = 3 (95% CI <0.1% to 0.4%)."]);
  });
});

describe("describeAttackReach", () => {
  it("names the largest prefix length at which the attack still works, or says none does", () => {
    // wilson(3, 10)[0] = 0.1078 > 0.1; wilson(2, 10)[0] = 0.0567.
    const rows = [arow("sft", "insertion", "prefix_len", 0, 8, 10), arow("sft", "insertion", "prefix_len", 21, 3, 10), arow("aug", "insertion", "prefix_len", 0, 8, 10), arow("aug", "insertion", "prefix_len", 7, 2, 10), arow("deep", "insertion", "prefix_len", 0, 0, 10), arow("deep", "insertion", "prefix_len", 21, 0, 10)];
    expect(describeAttackReach(attackReach(rows, { level: 0.1 }))).toEqual([
      "sft (insertion): still works after 21 refusal tokens, the longest tested: ASR 30%, 3/10 (95% CI 11% to 60%), lower bound above 10%.",
      "aug (insertion): still works after 0 refusal tokens (7 tested): ASR 80%, 8/10 (95% CI 49% to 94%), lower bound above 10%.",
      "deep (insertion): at no prefix_len tested (0 to 21) is the ASR's 95% lower bound above 10%.",
    ]);
  });
});

const comp = (run: string, early_share: number, d90: number, asr: Record<string, number | null>): RunComparison => ({
  run, split: "refusal", from: 0, to: 10, examples: 4, early_share, d50: 1, d90,
  net_early_share: early_share, z90: d90 - 0.5,
  ci: { early_share: [early_share - 0.1, early_share + 0.1], d50: [1, 1], d90: [d90, d90] },
  final_step: 10, final_loss: {},
  asr: Object.fromEntries(Object.entries(asr).map(([a, v]) => [a, { attack: a, condition: a === "prefill" ? "k=10" : "mean over 9 conditions", conditions: 1, n: 10, harmful: 0, asr: v, ci: null }])),
}) as unknown as RunComparison;

describe("describeAttackComparison", () => {
  it("names the run with the lowest and the highest ASR per attack", () => {
    const rows = [comp("sft", 0.9, 3, { prefill: 0.8, insertion: 0.5 }), comp("augment", 0.4, 12, { prefill: 0.1, insertion: null }), comp("worst", 0.5, 9, { prefill: 0.3, insertion: 0.2 })];
    expect(describeAttackComparison(rows)).toEqual([
      "insertion: the lowest ASR is worst (20%, mean over 9 conditions), the highest sft (50%, mean over 9 conditions).",
      "prefill: the lowest ASR is augment (10%, k=10), the highest sft (80%, k=10).",
    ]);
  });
  it("says when every run has the same ASR", () => {
    expect(describeAttackComparison([comp("sft", 0.9, 3, { insertion: 0 }), comp("augment", 0.4, 12, { insertion: 0 })])).toEqual([
      "insertion: every run has the same ASR, 0% (mean over 9 conditions).",
    ]);
  });
  it("compareConcentration also takes run comparisons, and states the paired test, never an overlap", () => {
    const rows = [comp("sft", 0.9, 3, {}), comp("augment", 0.4, 12, {})];
    expect(compareConcentration(rows, 5)).toBe(
      "The most front-loaded update is sft (N5 90%, z90 2.5); the least is augment (N5 40%, z90 11.5). Whether they differ is a paired test over the same examples (aligndepth compare).",
    );
    // B - A given: the sentence turns it around to hi - lo.
    const paired = { a: "augment", b: "sft", runs_resampled: false, rows: [{ statistic: "net_early_share" as const, a: 0.4, b: 0.9, difference: -0.5, ci: [-0.6, -0.35] as [number, number], p: 0.001, p_holm: 0.004, n_null: 0 }] };
    expect(compareConcentration(rows, 5, paired)).toBe(
      "The most front-loaded update is sft (N5 90%, z90 2.5); the least is augment (N5 40%, z90 11.5). Paired over the same examples, N5(sft) - N5(augment) = 0.500 (95% CI 0.350 to 0.600), p = 0.004: the difference is clear at this sample size. The test covers the sampling of examples, not training randomness.",
    );
    expect(compareConcentration(rows, 5, paired)).not.toMatch(/overlap/);
    expect(compareConcentration([comp("a", 0.5, 3, {}), comp("b", 0.5, 4, {})], 5)).toBe("Every run has the same N5, 50%.");
  });
});

describe("describeUpdateByStep", () => {
  const u = (step: number, position: number, delta: number) => ({ run: "sft", from: 0, step, position, n: 3, delta });
  it("states the final average change before and after k, and when each reached half of it", () => {
    // k = 2. Early: step 5 (-2 + -2) / 2 = -2, step 10 -3, step 20 -4 -> half (-2) reached by step 5.
    // Late: step 5 0, step 10 (-0.2 + -0.4) / 2 = -0.3, step 20 -1 -> half (-0.5) first reached at step 20.
    const rows = [
      u(5, 0, -2), u(5, 1, -2), u(5, 2, 0), u(5, 3, 0),
      u(10, 0, -3), u(10, 1, -3), u(10, 2, -0.2), u(10, 3, -0.4),
      u(20, 0, -5), u(20, 1, -3), u(20, 2, -1), u(20, 3, -1),
    ];
    expect(describeUpdateByStep(rows, { k: 2 })).toEqual([
      "sft: by step 20 the loss changed on average by -4.00 at positions 0-1 (half of it by step 5) and -1.00 at positions 2-3 (half of it by step 20), since step 0.",
    ]);
  });
  it("handles k past the last position and no change", () => {
    expect(describeUpdateByStep([u(5, 0, 0)], { k: 5, metric: "kl" })).toEqual(["sft: by step 5 the kl changed on average by 0 at position 0, since step 0."]);
  });
});

describe("describeLargestUpdates", () => {
  const t = (position: number, change: number) => ({ run: "sft", example: "r1", position, token: "sorry", from: 0, to: 20, from_value: 5, to_value: 5 + change, change });
  it("names the largest change and counts the early ones", () => {
    expect(describeLargestUpdates([t(0, -4.5), t(7, 3), t(1, -1)], { k: 5 })).toBe(
      'The largest change in loss is -4.50 at position 0 (token "sorry") of example r1 in sft, step 0 to 20; 2 of these 3 largest changes are at positions 0-4.',
    );
    expect(describeLargestUpdates([], { k: 5, metric: "kl" })).toBe("No token has a kl at two checkpoints.");
  });
});

describe("describeSummary (METRICS v2)", () => {
  const base = { run: "sft", from: 0, to: 100, examples: 2, positions: 3, net_change: -1.6, net_early_share: 1, z50: 0.5333, z90: 0.96, uniform_early_share: 1, headroom_early_share: 1, counter_movement: 0 };
  const none = { net_change: null, net_early_share: null, z50: null, z90: null, counter_movement: null, headroom_early_share: null, headroom_difference: null, early_share: null, d50: null, d90: null, level_early_share: null, level_z50: null, level_z90: null };
  it("states N_k with its interval, the references and z50/z90", () => {
    expect(describeSummary({ ...base, ci: { ...none, net_early_share: [1, 1], z50: [0.5, 0.6], z90: [0.9, 1] } }, { k: 5, what: "harmful-answer probes" })).toBe(
      "sft: the first 5 positions carry 100% (95% CI 100% to 100%) of the net change in loss on harmful-answer probes (-1.60 summed over positions) between step 0 and step 100 " +
        "(reference: 100% if spread evenly; 100% if every position fell by the same fraction of its starting loss); half of it lies in the first 0.5 positions (95% CI 0.5 to 0.6) and 90% in the first 1.0 (95% CI 0.9 to 1.0), over 3 positions and 2 examples.",
    );
  });
  it("says why there is no interval and when there is no net change", () => {
    const s = describeSummary({ ...base, headroom_early_share: null, ci: none, ci_info: { method: "bca", B: 10, seed: 0, n_null: {}, degenerate: [], reason: "net change not distinguishable from 0" } }, { k: 5 });
    expect(s).toContain("100% (no interval: net change not distinguishable from 0)");
    expect(s).not.toContain("starting loss");
    expect(describeSummary({ ...base, net_change: 0, net_early_share: null, ci: none }, { k: 5 })).toBe("sft: no net change in loss between step 0 and step 100 (2 examples paired), so the update has no net shape.");
  });
});

describe("describeRecipe", () => {
  const nul = { net_change: null, net_early_share: null, z50: null, z90: null, counter_movement: null, headroom_early_share: null, headroom_difference: null, early_share: null, d50: null, d90: null, level_early_share: null, level_z50: null, level_z90: null };
  it("states the mean over runs, the sd and the interval rule", () => {
    const r = { recipe: "sft", runs: 3, probe_set: "harmful", net_early_share: 0.9, z90: 1.13, sd: { ...nul, net_early_share: 0.1 }, ci: { ...nul, net_early_share: [0.652, 1.148] as [number, number] }, ci_info: { method: "t", B: 100, seed: 0, n_null: {}, degenerate: [], rule: "t" } };
    expect(describeRecipe(r, { k: 1 })).toBe("sft (3 runs, harmful probes): the first 1 positions carry 90% of the net change in loss on average (sd 10% across runs; 95% CI 65% to 115%, t rule over runs and examples); 90% of it lies in the first 1.1 positions.");
    expect(describeRecipe({ ...r, runs: 1, sd: nul, ci_info: { ...r.ci_info, rule: "one run" } }, { k: 1 })).toContain("it ignores training randomness");
  });
});

describe("describePairedComparison", () => {
  const base = {
    a: "sft",
    b: "augment",
    examples: 21,
    runs_resampled: true,
    probe_set: "harmful",
    ci_info: { rule: "two-stage bootstrap" as const, df: null, runs: [5, 5] as [number, number], note: "" },
    rows: [{ statistic: "net_early_share" as const, a: 0.9, b: 0.3, difference: 0.6, ci: [0.5, 0.7] as [number, number], p: 0.0004, p_holm: 0.0004, n_null: 0, sd_a: null, sd_b: null }],
  };
  it("states the difference, interval, p, the rule and whether it is clear", async () => {
    const { describePairedComparison } = await import("../src/describe");
    expect(describePairedComparison(base, { k: 5 })).toBe(
      "sft (5 runs) against augment (5 runs), harmful probes: N5 differs by +0.600 (N5 0.900 against 0.300; 95% CI 0.500 to 0.700), p = <0.001, paired over 21 shared examples (seeds and examples resampled): the difference is clear at this sample size.",
    );
    // a family-adjusted p replaces the comparison's own; the t rule names its df
    const t = { ...base, runs_resampled: false, ci_info: { rule: "t" as const, df: 4, runs: [3, 3] as [number, number], note: "" } };
    expect(describePairedComparison(t, { k: 5, pAdjusted: 0.12, family: "3 recipe pairs" })).toBe(
      "sft (3 runs) against augment (3 runs), harmful probes: N5 differs by +0.600 (N5 0.900 against 0.300; 95% CI 0.500 to 0.700), p = 0.120 (Holm-adjusted over 3 recipe pairs), paired over 21 shared examples (t rule over seeds, df 4, with the examples' variance): the difference is not clear at this sample size.",
    );
    const one = { ...base, runs_resampled: false, ci_info: { rule: "runs fixed" as const, df: null, runs: [1, 1] as [number, number], note: "" } };
    expect(describePairedComparison(one, { k: 5 })).toContain("(examples resampled with the runs fixed: it ignores training randomness)");
  });
});
