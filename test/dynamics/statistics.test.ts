/**
 * Learning-dynamics statistics on the hand-made fixture test/fixtures/dynamics (2 steps, 2 probe
 * sets, 3 x 3 (p, q) matrices), every number computed by hand in the comments.
 *
 * sft-seed1, step 0, harmful: I(p, q) rows p = 0..2, columns q = 0..2
 *   p0: -0.5    -0.125   0
 *   p1: -0.25   -0.125   0
 *   p2: -0.125  -0.0625 -0.0625
 *   source profile s(q) = sum_p I = [-0.875, -0.3125, -0.0625], D = -1.25
 *   S_1 = -0.875 / -1.25 = 0.7; S_2 = -1.1875 / -1.25 = 0.95
 *   C = [0.7, 0.95, 1]: z50 = 0 + 0.5 / 0.7 = 5/7; z90 = 1 + (0.9 - 0.7) / (0.95 - 0.7) = 1.8
 *   X_1 = (p >= 1, q < 1) / (p >= 1) = (-0.25 - 0.125) / (-0.375 - 0.25) = 0.6
 *   X_2 = (p2, q < 2) / (p2) = -0.1875 / -0.25 = 0.75
 *   predicted change sum_q I = [-0.625, -0.375, -0.25]; measured = [2.5-3, 1.5-2, 1.25-1.5] = [-0.5, -0.5, -0.25]
 *   deviations in 1/24: x [-5, 1, 4], y [-2, -2, 4]: r = 24 / sqrt(42 * 24) = sqrt(4/7) = 0.7559289460184544
 *   ratio of sums = -1.25 / -1.25 = 1; relative L2 = sqrt(0.125^2 + 0.125^2) / sqrt(0.5625) = 0.17677669529663687 / 0.75
 * sft-seed1, step 0, refusal:
 *   p0: -0.5  0.25  0 / p1: 0 -0.25 0.125 / p2: 0.125 0 -0.25
 *   s(q) = [-0.375, 0, -0.125], D = -0.5: S_1 = S_2 = 0.75; C = [0.75, 0.75, 1]: z50 = 0.5 / 0.75 = 2/3, z90 = 2 + 0.15 / 0.25 = 2.6
 *   X_1 = (0 + 0.125) / (-0.125 - 0.125) = -0.5; X_2 = 0.125 / -0.125 = -1; no probe-change records: unchecked
 * sft-seed1, step 10, harmful (the (p1, q2) record is absent: one missing cell)
 *   p0: -0.25 0.25 0 / p1: 0 0 (none) / p2: 0 0.125 -0.125
 *   s(q) = [-0.25, 0.375, -0.125], D = 0: S_k, z null; p >= 1 sums to 0: X_1, X_2 null
 *   predicted [0, 0, 0], measured [-0.25, 0.125, 0]: r null (constant), ratio 0 / -0.125 = 0, relative L2 = 1
 * sft-seed1, step 10, refusal: 2 x (step 0, harmful): S_1 0.7, S_2 0.95, X_1 0.6, X_2 0.75, D = -2.5
 * sft-seed2, step 0, harmful: p0: -0.5 -0.5 0, the rest 0: D = -1, S_1 = 0.5, S_2 = 1; C = [0.5, 1, 1]:
 *   z50 = 0.5 / 0.5 = 1, z90 = 1 + 0.4 / 0.5 = 1.8; X_1, X_2 null (p >= 1 sums to 0)
 * Training gradient (g, n_tokens) per q:
 *   sft-seed1 step 0 and sft-seed2 step 0: (3, 4), (2, 4), (1, 2): L_1 = 3/6 = 0.5, L_2 = 5/6; token share k=1 4/10, k=2 8/10;
 *     C = [0.5, 5/6, 1]: z50 = 0.5 / 0.5 = 1; z90 = 2 + (0.9 - 5/6) / (1/6) = 2.4; per token [0.75, 0.5, 0.5]
 *   sft-seed1 step 10: (1, 4), (1, 4), (2, 2): L_1 = 0.25, L_2 = 0.5; C = [0.25, 0.5, 1]: z50 = 1 + 0.25 / 0.25 = 2; z90 = 2 + 0.4 / 0.5 = 2.8
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadDynamicsLogs } from "../../src/dynamics/load";
import { influenceMatrices, predictedChange, sourceProfile } from "../../src/dynamics/influenceMatrix";
import { sourceEarlyShare } from "../../src/dynamics/sourceEarlyShare";
import { crossInfluence } from "../../src/dynamics/crossInfluence";
import { trainGradientProfile } from "../../src/dynamics/trainGradientProfile";
import { approximationCheck, pearson } from "../../src/dynamics/approximationCheck";
import { tokenShares } from "../../src/dynamics/tokenShare";
import { dynamicsSummary, LEFT_OUT_WARNING } from "../../src/dynamics/summary";

const dir = join(__dirname, "..", "fixtures", "dynamics");
const files = ["influence-sft.jsonl", "train-gradient-sft.jsonl", "probe-change-sft.jsonl"].map((f) => join(dir, f));
const load = () => loadDynamicsLogs(files);
const at = <T extends { run: string; step: number; split?: string }>(rows: T[], run: string, step: number, split?: string) =>
  rows.find((r) => r.run === run && r.step === step && (split === undefined || r.split === split)) as T;

describe("influence matrices", () => {
  it("one per (run, step, split), cells by position and source position, missing cells counted", async () => {
    const logs = await load();
    const ms = influenceMatrices(logs.influence);
    expect(ms.map((m) => [m.run, m.split, m.step])).toEqual([
      ["sft-seed1", "harmful", 0],
      ["sft-seed1", "harmful", 10],
      ["sft-seed1", "refusal", 0],
      ["sft-seed1", "refusal", 10],
      ["sft-seed2", "harmful", 0],
    ]);
    const a = ms[0];
    expect(a.positions).toEqual([0, 1, 2]);
    expect(a.sources).toEqual([0, 1, 2]);
    expect(Array.from(a.values)).toEqual([-0.5, -0.125, 0, -0.25, -0.125, 0, -0.125, -0.0625, -0.0625]);
    expect(sourceProfile(a)).toEqual([-0.875, -0.3125, -0.0625]);
    expect(predictedChange(a)).toEqual([-0.625, -0.375, -0.25]);
    expect(ms[1].missingCells).toBe(1);
    expect(ms[0].missingCells).toBe(0);
  });
});

describe("source early share S_k and cross influence X_k", () => {
  it("k = 1 and k = 2 on every matrix of the fixture", async () => {
    const logs = await load();
    const ms = influenceMatrices(logs.influence);
    const s1 = sourceEarlyShare(ms, logs.trainGradient, { k: 1 });
    const s2 = sourceEarlyShare(ms, logs.trainGradient, { k: 2 });
    const x1 = crossInfluence(ms, { k: 1 });
    const x2 = crossInfluence(ms, { k: 2 });
    const a1 = at(s1, "sft-seed1", 0, "harmful");
    expect(a1.net_influence).toBeCloseTo(-1.25, 14);
    expect(a1.source_early_share).toBeCloseTo(0.7, 12);
    expect(at(s2, "sft-seed1", 0, "harmful").source_early_share).toBeCloseTo(0.95, 12);
    expect(a1.token_share).toBeCloseTo(0.4, 12);
    expect(at(s2, "sft-seed1", 0, "harmful").token_share).toBeCloseTo(0.8, 12);
    expect(a1.source_z50).toBeCloseTo(5 / 7, 12);
    expect(a1.source_z90).toBeCloseTo(1.8, 12);
    expect(a1.source_max_cumulative).toBeNull();
    expect(at(x1, "sft-seed1", 0, "harmful").cross_influence).toBeCloseTo(0.6, 12);
    expect(at(x2, "sft-seed1", 0, "harmful").cross_influence).toBeCloseTo(0.75, 12);

    const b1 = at(s1, "sft-seed1", 0, "refusal");
    expect(b1.source_early_share).toBeCloseTo(0.75, 12);
    expect(at(s2, "sft-seed1", 0, "refusal").source_early_share).toBeCloseTo(0.75, 12);
    expect(b1.source_z50).toBeCloseTo(2 / 3, 12);
    expect(b1.source_z90).toBeCloseTo(2.6, 12);
    expect(at(x1, "sft-seed1", 0, "refusal").cross_influence).toBeCloseTo(-0.5, 12);
    expect(at(x2, "sft-seed1", 0, "refusal").cross_influence).toBeCloseTo(-1, 12);

    const c1 = at(s1, "sft-seed1", 10, "harmful");
    expect(c1.net_influence).toBe(0);
    expect(c1.source_early_share).toBeNull();
    expect(c1.source_z50).toBeNull();
    expect(c1.missing_cells).toBe(1);
    expect(at(x1, "sft-seed1", 10, "harmful").cross_influence).toBeNull();
    expect(at(x2, "sft-seed1", 10, "harmful").cross_influence).toBeNull();

    expect(at(s1, "sft-seed1", 10, "refusal").source_early_share).toBeCloseTo(0.7, 12);
    expect(at(s1, "sft-seed1", 10, "refusal").net_influence).toBeCloseTo(-2.5, 12);
    // step 10 training gradient: n_tokens (4, 4, 2): token share k = 1 is 0.4
    expect(at(s1, "sft-seed1", 10, "refusal").token_share).toBeCloseTo(0.4, 12);

    const d = at(s1, "sft-seed2", 0, "harmful");
    expect(d.source_early_share).toBeCloseTo(0.5, 12);
    expect(at(s2, "sft-seed2", 0, "harmful").source_early_share).toBeCloseTo(1, 12);
    expect(d.source_z50).toBeCloseTo(1, 12);
    expect(d.source_z90).toBeCloseTo(1.8, 12);
    expect(at(x1, "sft-seed2", 0, "harmful").cross_influence).toBeNull();
  });
  it("the token share is null without training-gradient records for the step", async () => {
    const logs = await load();
    expect(sourceEarlyShare(influenceMatrices(logs.influence), [], { k: 1 })[0].token_share).toBeNull();
    expect(tokenShares([{ run: "a", step: 0, source_position: 0, train_grad_norm: 1, n_tokens: 0 }], 1).get('["a",0]')).toBeNull();
  });
  it("a counter-moving source profile reports its maximum cumulative share", () => {
    // s(q) = [3, -2, 1] (one probe position): D = 2, S_1 = 1.5, C = [1.5, 0.5, 1]
    const m = influenceMatrices([0, 1, 2].map((q) => ({ run: "r", step: 0, split: "s", position: 0, source_position: q, influence: [3, -2, 1][q] })));
    const [row] = sourceEarlyShare(m, [], { k: 1 });
    expect(row.source_early_share).toBe(1.5);
    expect(row.source_max_cumulative).toBe(1.5);
  });
});

describe("training-gradient profile g(q)", () => {
  it("level share, depths, token share and g per token", async () => {
    const logs = await load();
    const r1 = trainGradientProfile(logs.trainGradient, { k: 1 });
    const r2 = trainGradientProfile(logs.trainGradient, { k: 2 });
    expect(r1.map((r) => [r.run, r.step])).toEqual([["sft-seed1", 0], ["sft-seed1", 10], ["sft-seed2", 0]]);
    expect(r1[0].level_early_share).toBeCloseTo(0.5, 12);
    expect(r2[0].level_early_share).toBeCloseTo(5 / 6, 12);
    expect(r1[0].token_share).toBeCloseTo(0.4, 12);
    expect(r2[0].token_share).toBeCloseTo(0.8, 12);
    expect(r1[0].level_z50).toBeCloseTo(1, 12);
    expect(r1[0].level_z90).toBeCloseTo(2.4, 12);
    expect(r1[0].positions.map((p) => p.grad_norm_per_token)).toEqual([0.75, 0.5, 0.5]);
    expect(r1[1].level_early_share).toBeCloseTo(0.25, 12);
    expect(r2[1].level_early_share).toBeCloseTo(0.5, 12);
    expect(r1[1].level_z50).toBeCloseTo(2, 12);
    expect(r1[1].level_z90).toBeCloseTo(2.8, 12);
  });
  it("g per token is null where no training token sits; an all-zero gradient has no level share", () => {
    const [r] = trainGradientProfile([
      { run: "a", step: 1, source_position: 0, train_grad_norm: 0, n_tokens: 0 },
      { run: "a", step: 1, source_position: 1, train_grad_norm: 0, n_tokens: 3 },
    ]);
    expect(r.positions.map((p) => p.grad_norm_per_token)).toEqual([null, 0]);
    expect(r.level_early_share).toBeNull();
    expect(r.level_z50).toBeNull();
  });
});

describe("approximation check", () => {
  it("Pearson r, ratio of sums and relative L2 error per (run, step, split); the rest unchecked", async () => {
    const logs = await load();
    const { rows, unchecked } = approximationCheck(influenceMatrices(logs.influence), logs.probeChange);
    expect(rows.map((r) => [r.run, r.step, r.split])).toEqual([["sft-seed1", 0, "harmful"], ["sft-seed1", 10, "harmful"]]);
    expect(unchecked).toEqual([
      { run: "sft-seed1", step: 0, split: "refusal" },
      { run: "sft-seed1", step: 10, split: "refusal" },
      { run: "sft-seed2", step: 0, split: "harmful" },
    ]);
    const a = rows[0];
    expect(a.n_positions).toBe(3);
    expect(a.positions).toEqual([
      { position: 0, predicted: -0.625, measured: -0.5 },
      { position: 1, predicted: -0.375, measured: -0.5 },
      { position: 2, predicted: -0.25, measured: -0.25 },
    ]);
    expect(a.pearson_r).toBeCloseTo(Math.sqrt(4 / 7), 12);
    expect(a.ratio_of_sums).toBeCloseTo(1, 12);
    expect(a.relative_l2_error).toBeCloseTo(0.17677669529663687 / 0.75, 12);
    const c = rows[1];
    expect(c.pearson_r).toBeNull();
    expect(c.ratio_of_sums).toBeCloseTo(0, 12);
    expect(c.relative_l2_error).toBeCloseTo(1, 12);
    expect(c.measured_sum).toBeCloseTo(-0.125, 12);
  });
  it("counts positions in one log only", () => {
    const m = influenceMatrices([0, 1].map((p) => ({ run: "r", step: 0, split: "s", position: p, source_position: 0, influence: -1 })));
    const { rows } = approximationCheck(m, [
      { run: "r", step: 0, split: "s", position: 1, loss_before: 1, loss_after: 0 },
      { run: "r", step: 0, split: "s", position: 5, loss_before: 1, loss_after: 0.5 },
    ]);
    expect(rows[0]).toMatchObject({ n_positions: 1, positions_without_measurement: 1, positions_without_influence: 1, pearson_r: null, ratio_of_sums: 1, relative_l2_error: 0 });
  });
  it("pearson of perfectly (anti-)correlated values", () => {
    expect(pearson([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 14);
    expect(pearson([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 14);
    expect(pearson([1], [1])).toBeNull();
  });
});

describe("dynamicsSummary", () => {
  it("merges S_k and X_k per matrix, groups seeds into recipes, and warns", async () => {
    const s = dynamicsSummary(await load(), { k: 1 });
    expect(s.runs).toEqual([{ run: "sft-seed1", recipe: "sft", seed: null }, { run: "sft-seed2", recipe: "sft", seed: null }]);
    expect(s.influence).toHaveLength(5);
    // sft, harmful, step 0: S_1 over seeds [0.7, 0.5]: mean 0.6, sd sqrt(0.02) = 0.1414213562373095,
    // t(1, 0.975) = 12.706204736174698: half width 12.706204736174698 * 0.1414213562373095 / sqrt(2) = 1.2706204736174698
    const r = s.recipes.find((x) => x.recipe === "sft" && x.split === "harmful" && x.step === 0)!;
    expect(r.run_names).toEqual(["sft-seed1", "sft-seed2"]);
    expect(r.source_early_share.mean).toBeCloseTo(0.6, 12);
    expect(r.source_early_share.sd).toBeCloseTo(Math.sqrt(0.02), 12);
    expect(r.source_early_share.ci![0]).toBeCloseTo(0.6 - 1.2706204736174698, 9);
    expect(r.source_early_share.ci![1]).toBeCloseTo(0.6 + 1.2706204736174698, 9);
    expect(r.source_early_share.ci_method).toBe("t");
    // X_1 over seeds [0.6, null]: one run with a value
    expect(r.cross_influence).toMatchObject({ mean: 0.6, runs: 1, n_null: 1, ci: null, ci_method: "none" });
    expect(r.cross_influence.note).toMatch(/ignores training randomness/);
    // sft, step 0 training gradient: L_1 over seeds [0.5, 0.5]: mean 0.5, sd 0, interval [0.5, 0.5]
    const g = s.recipe_train_gradient.find((x) => x.recipe === "sft" && x.step === 0)!;
    expect(g.level_early_share).toMatchObject({ mean: 0.5, sd: 0, runs: 2, ci: [0.5, 0.5] });
    expect(s.approximation).toHaveLength(2);
    expect(s.warnings[0]).toBe(LEFT_OUT_WARNING);
    expect(s.left_out).toMatch(/momentum.*decoupled weight decay.*clipping/);
    expect(s.warnings.some((w) => /1 of 5 influence matrices lack cells/.test(w))).toBe(true);
    expect(s.warnings.some((w) => /3 of 5 influence matrices have no probe-change records/.test(w))).toBe(true);
    expect(s.warnings.some((w) => /misses the measured change .* in 1 of 2 checks/.test(w))).toBe(true);
  });
  it("recipe labels group the runs when no pattern is given; unlabelled or unmatched runs are their own recipes, warned about", async () => {
    const logs = await load();
    logs.labels.set("sft-seed2", { recipe: "other", seed: "2" });
    const s = dynamicsSummary(logs, { k: 1 });
    expect(s.recipe_pattern).toBeNull();
    expect(s.runs).toEqual([{ run: "sft-seed1", recipe: "sft-seed1", seed: null }, { run: "sft-seed2", recipe: "other", seed: "2" }]);
    expect(s.warnings).toContain('1 run without a recipe label, each kept as a recipe of its own: "sft-seed1"');
    expect(s.warnings.some((w) => /recipes "other", "sft-seed1" have one run/.test(w))).toBe(true);
    // an explicit pattern wins over labels
    expect(dynamicsSummary(logs, { k: 1, recipePattern: "^(?<recipe>[a-z]+)-" }).runs.map((r) => r.recipe)).toEqual(["sft", "sft"]);
    const t = dynamicsSummary(await load(), { k: 1, recipePattern: "^(?<recipe>none)$" });
    expect(t.runs.map((r) => r.recipe)).toEqual(["sft-seed1", "sft-seed2"]);
    expect(t.warnings).toContain('2 runs not matched by the recipe pattern ^(?<recipe>none)$, each kept as a recipe of its own: "sft-seed1", "sft-seed2"');
  });
});
