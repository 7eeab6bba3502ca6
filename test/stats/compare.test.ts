/**
 * compareRuns, profileSeries and the token helpers on test/fixtures/compare/logs.jsonl, a hand-made
 * log: runs sft (steps 0, 10) and augment (steps 0, 20); refusal probes e1, e2 and harmful probe e3,
 * three positions each.
 *
 * sft, refusal: loss diffs e1 [-1.5, -0.5, 0], e2 [-0.5, 0, 0] -> delta [-1, -0.25, 0], sum |delta| 1.25,
 *   shares [0.8, 0.2, 0]: E_1 = 0.8, d50 = 1, d90 = 2. Bootstrap over {e1, e2}: {e1,e1} E_1 0.75,
 *   {e2,e2} 1 (d90 1), {e1,e2} 0.8 -> E_1 interval inside [0.75, 1], d90 inside [1, 2].
 *   With e3 (all tokens): delta [-2/3, -5/6, 0] -> E_1 = (2/3) / 1.5 = 4/9.
 *   Final loss at step 10: refusal (0.5+1.5+2+1.5+2+2)/6 = 19/12, harmful (3+1+3)/3 = 7/3.
 * augment, refusal: delta [-0.5, -0.5, -0.5] -> E_1 = 1/3, d50 = 2, d90 = 3 in every replicate.
 *   Final loss at step 20: refusal 1.5, harmful 2.
 * Attacks (attacks.jsonl): sft prefill k=10 2/2 (largest k), insertion (0,2) 2/2 and (2,2) 1/3 -> mean 2/3;
 *   augment prefill k=10 1/3, Wilson [0.061492, 0.792340].
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadAttackResults, AttackRecord } from "../../src/attacks/load";
import { loadTokenLogs, TokenLogs } from "../../src/load";
import { attackSummaries, compareRuns } from "../../src/stats/compare";
import { finalSteps, gradientMetrics, profileSeries } from "../../src/stats/profileSeries";
import { exampleTokens, largestUpdates } from "../../src/stats/tokens";

const fx = (name: string) => join(__dirname, "..", "fixtures", "compare", name);
let logs: TokenLogs;
let attacks: AttackRecord[];
beforeAll(async () => {
  logs = await loadTokenLogs(fx("logs.jsonl"), { progress: false, threads: 1, memoryLimit: "256MB" });
  attacks = (await loadAttackResults(fx("attacks.jsonl"))).records;
});
afterAll(() => logs.close());

describe("compareRuns", () => {
  it("summarizes the harmful probes by default (METRICS 6): sft delta [0, -2, 0] -> D -2, N1 0, z50 1.5, z90 1.9", async () => {
    const rows = await compareRuns(logs, { k: 1, bootstrap: 0 });
    const sft = rows.find((r) => r.run === "sft")!;
    expect(rows.every((r) => r.split === "harmful")).toBe(true);
    expect(sft.net_change).toBeCloseTo(-2, 12);
    expect(sft.net_early_share).toBeCloseTo(0, 12);
    expect(sft.z50).toBeCloseTo(1.5, 12);
    expect(sft.z90).toBeCloseTo(1.9, 12);
  });
  it("summarizes the refusal probes when asked, with final losses and ASR", async () => {
    const rows = await compareRuns(logs, { k: 1, bootstrap: 200, seed: 1, attacks, split: "refusal" });
    expect(rows.map((r) => r.run)).toEqual(["augment", "sft"]);
    const [aug, sft] = rows;
    expect(sft).toMatchObject({ split: "refusal", from: 0, to: 10, examples: 2, d50: 1, d90: 2, final_step: 10 });
    expect(sft.early_share).toBeCloseTo(0.8, 12);
    // net: D = -1.25, N1 = 0.8, z50 = 0.5 / 0.8, z90 = 1 + 0.1 / 0.2
    expect(sft.net_change).toBeCloseTo(-1.25, 12);
    expect(sft.net_early_share).toBeCloseTo(0.8, 12);
    expect(sft.z50).toBeCloseTo(0.625, 12);
    expect(sft.z90).toBeCloseTo(1.5, 12);
    expect(sft.ci.early_share![0]).toBeGreaterThanOrEqual(0.75 - 1e-12);
    expect(sft.ci.early_share![1]).toBeLessThanOrEqual(1 + 1e-12);
    expect(sft.ci.d90![0]).toBeGreaterThanOrEqual(1);
    expect(sft.ci.d90![1]).toBeLessThanOrEqual(2);
    expect(sft.final_loss.refusal).toBeCloseTo(19 / 12, 12);
    expect(sft.final_loss.harmful).toBeCloseTo(7 / 3, 12);
    expect(aug).toMatchObject({ from: 0, to: 20, d50: 2, d90: 3, final_step: 20, final_loss: { refusal: 1.5, harmful: 2 } });
    expect(aug.early_share).toBeCloseTo(1 / 3, 12);
    expect(aug.ci.early_share![0]).toBeCloseTo(1 / 3, 12);
    expect(aug.ci.early_share![1]).toBeCloseTo(1 / 3, 12);
    expect(sft.asr.prefill).toMatchObject({ condition: "k=10", n: 2, harmful: 2, asr: 1 });
    expect(sft.asr.prefill.ci![1]).toBe(1);
    expect(sft.asr.insertion).toMatchObject({ condition: "mean over 2 conditions", conditions: 2, n: 5, harmful: 3, ci: null });
    expect(sft.asr.insertion.asr).toBeCloseTo(2 / 3, 12);
    expect(aug.asr.prefill.asr).toBeCloseTo(1 / 3, 12);
    expect(aug.asr.prefill.ci![0]).toBeCloseTo(0.061492, 5);
    expect(aug.asr.prefill.ci![1]).toBeCloseTo(0.79234, 5);
    expect(Object.keys(aug.asr)).toEqual(["prefill"]);
  });
  it("uses all tokens with split: null, a chosen k, and no attacks", async () => {
    const rows = await compareRuns(logs, { k: 1, bootstrap: 0, split: null, attacks, prefillK: 5, runs: ["sft"] });
    expect(rows).toHaveLength(1);
    expect(rows[0].split).toBeNull();
    expect(rows[0].early_share).toBeCloseTo(4 / 9, 12);
    expect(rows[0].ci.early_share).toBeNull();
    expect(rows[0].asr.prefill).toMatchObject({ condition: "k=5", n: 2, harmful: 1, asr: 0.5 });
    const none = await compareRuns(logs, { k: 1, bootstrap: 0, split: "harmful" });
    expect(none[1].asr).toEqual({});
    // sft harmful e3: diffs [0, -2, 0] -> E_1 = 0, d50 = d90 = 2
    expect(none[1]).toMatchObject({ run: "sft", split: "harmful", early_share: 0, d50: 2, d90: 2, examples: 1 });
  });
});

describe("profileSeries", () => {
  it("finds gradient columns and final steps, and profiles exactly those (run, step) pairs", async () => {
    expect(gradientMetrics(logs)).toEqual(["grad_norm", "grad_norm_l0"]);
    const series = await finalSteps(logs, ["sft", "augment"]);
    expect(series).toEqual([{ run: "sft", step: 10, label: "sft, step 10" }, { run: "augment", step: 20, label: "augment, step 20" }]);
    const rows = await profileSeries(logs, { metric: "kl", series });
    expect(rows.map((r) => [r.run, r.step, r.position, r.n])).toEqual([
      ["augment", 20, 0, 3], ["augment", 20, 1, 3], ["augment", 20, 2, 3],
      ["sft", 10, 0, 3], ["sft", 10, 1, 3], ["sft", 10, 2, 3],
    ]);
    // sft kl at step 10: position 0 mean(1.0, 0.6, 0.8) = 0.8, sd 0.2; position 1 mean(0.2, 0, 0.1) = 0.1
    expect(rows[3].mean).toBeCloseTo(0.8, 12);
    expect(rows[3].sd).toBeCloseTo(0.2, 12);
    expect(rows[4].mean).toBeCloseTo(0.1, 12);
    expect(rows[2].mean).toBeCloseTo(0.4, 12);
    const two = await profileSeries(logs, { metric: "loss", series: [{ run: "sft", step: 0 }, { run: "sft", step: 10 }], where: { split: "refusal" } });
    expect(two.filter((r) => r.step === 10).map((r) => r.mean)).toEqual([1, 1.75, 2]);
  });
});

describe("tokens", () => {
  it("fetches one example's tokens with bound parameters", async () => {
    const rows = await exampleTokens(logs, { run: "sft", example: "e1", steps: [10] });
    expect(rows).toEqual([
      { step: 10, position: 0, token: "<script>alert(1)</script>", value: 0.5 },
      { step: 10, position: 1, token: "</script>", value: 1.5 },
      { step: 10, position: 2, token: "<img src=x onerror=alert(1)>", value: 2 },
    ]);
    expect(await exampleTokens(logs, { run: "sft' OR '1'='1", example: "e1" })).toEqual([]);
    expect(await exampleTokens(logs, { run: "sft", example: "e1' OR 1=1 --" })).toEqual([]);
    expect((await exampleTokens(logs, { run: "augment", example: "e3", metric: "kl" })).length).toBe(6);
  });
  it("lists the largest updates, largest |change| first", async () => {
    const top = await largestUpdates(logs, { n: 3 });
    expect(top.map((t) => [t.run, t.example, t.position, t.token, t.from, t.to, t.change])).toEqual([
      ["sft", "e3", 1, ",", 0, 10, -2],
      ["sft", "e1", 0, "<script>alert(1)</script>", 0, 10, -1.5],
      ["augment", "e3", 0, "Sure", 0, 20, -1],
    ]);
    const kl = await largestUpdates(logs, { metric: "kl", runs: ["sft"], n: 1, where: { split: "refusal" } });
    expect(kl).toMatchObject([{ example: "e1", position: 0, from_value: 0, to_value: 1, change: 1 }]);
    expect(await largestUpdates(logs, { from: 10, to: 10 })).toEqual([]);
  });
});

describe("attackSummaries: the interval rule of attackSuccess (METRICS 4)", () => {
  const rec = (example: string, sample: number | null, harmful: boolean): AttackRecord => ({ run: "sft", attack: "prefill", example, sample, k: 5, prefix_len: null, span_len: null, conditions: {}, harmful, score: null, file: "mem", line: 1 });
  it("one record per example: Wilson; several (samples): the cluster bootstrap over examples", () => {
    const one = attackSummaries([rec("e1", null, true), rec("e2", null, false), rec("e3", null, false)]).prefill;
    // 1/3: Wilson [0.061492, 0.792340]
    expect(one).toMatchObject({ condition: "k=5", n: 3, harmful: 1, ci_method: "wilson" });
    expect(one.ci![0]).toBeCloseTo(0.061492, 6);
    expect(one.ci![1]).toBeCloseTo(0.79234, 5);
    // e1 [harmful, not], e2 [not, not]: ASR 1/4; replicates draw {e1, e1} 0.5 (p 1/4), {e1, e2} 0.25 (1/2), {e2, e2} 0 (1/4):
    // the 2.5% and 97.5% percentiles are 0 and 0.5 (Wilson on 4 records would say [0.0456, 0.6994])
    const several = attackSummaries([rec("e1", 0, true), rec("e1", 1, false), rec("e2", 0, false), rec("e2", 1, false)]).prefill;
    expect(several).toMatchObject({ n: 4, harmful: 1, asr: 0.25, ci_method: "cluster-bootstrap", ci: [0, 0.5] });
  });
});
