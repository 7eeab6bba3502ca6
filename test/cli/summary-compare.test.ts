/**
 * summary per probe set and per recipe, and compare, through `main`, on test/fixtures/stats/seeds.jsonl:
 * recipes sft and aug with three seeds each; harmful probes h1, h2 (identical, so example resampling
 * adds no variance) and refusal probes r1, r2; loss 2 everywhere at step 0, at step 10:
 *   harmful deltas: sft-seed1 [1, 0, 0], seed2 [0.8, 0.2, 0], seed3 [0.9, 0.1, 0] -> N1 1, 0.8, 0.9
 *                   aug-seed1 [0.5, 0.5, 0], seed2 [0.4, 0.6, 0], seed3 [0.6, 0.4, 0] -> N1 0.5, 0.4, 0.6
 *   refusal deltas: [-1, 0, 0] in every run: D = -1, N1 = 1, headroom H1 = 2 / 6 = 1/3.
 * Recipe sft, harmful: mean N1 0.9, sd 0.1, t rule (R = 3): 0.9 +/- 4.302653 * 0.1 / sqrt(3) = 0.9 +/- 0.248414.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { run } from "./run";

const fx = join(__dirname, "..", "fixtures", "stats", "seeds.jsonl");

describe("summary per probe set and recipe", () => {
  it("analyses each probe set separately by default and groups seeds by --recipe-pattern", async () => {
    const r = await run(["summary", fx, "--k", "1", "--bootstrap", "100", "--recipe-pattern", "^(?<recipe>.+)-seed\\d+$", "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.schema).toBe(2);
    expect(j.runs).toHaveLength(12);
    expect(j.warnings.join("\n")).toMatch(/split has 2 values/);
    expect(j.warnings.join("\n")).not.toMatch(/ignore training randomness/);
    const s1 = j.runs.find((x: { run: string; probe_set: string }) => x.run === "sft-seed2" && x.probe_set === "harmful");
    expect(s1.net_early_share).toBeCloseTo(0.8, 12);
    expect(s1.headroom_early_share).toBeNull();
    expect(s1.headroom_reason).toBe("net change is not negative");
    const ref = j.runs.find((x: { run: string; probe_set: string }) => x.run === "aug-seed1" && x.probe_set === "refusal");
    expect(ref.net_change).toBeCloseTo(-1, 12);
    expect(ref.headroom_early_share).toBeCloseTo(1 / 3, 12);
    expect(ref.headroom_difference).toBeCloseTo(2 / 3, 12);
    const sft = j.recipes.find((x: { recipe: string; probe_set: string }) => x.recipe === "sft" && x.probe_set === "harmful");
    expect(sft).toMatchObject({ runs: 3, run_names: ["sft-seed1", "sft-seed2", "sft-seed3"] });
    expect(sft.net_early_share).toBeCloseTo(0.9, 12);
    expect(sft.sd.net_early_share).toBeCloseTo(0.1, 12);
    expect(sft.ci_info.rule).toBe("t");
    expect(sft.ci.net_early_share[0]).toBeCloseTo(0.9 - 0.2484137, 6);
    expect(sft.ci.net_early_share[1]).toBeCloseTo(0.9 + 0.2484137, 6);
  });
  it("pools probe sets only when asked, and warns when their net changes differ in sign", async () => {
    const r = await run(["summary", fx, "--k", "1", "--bootstrap", "0", "--pooled", "--run", "sft-seed1", "--json"]);
    const j = JSON.parse(r.stdout);
    expect(j.runs).toHaveLength(1);
    expect(j.runs[0].probe_set).toBeNull();
    // pooled deltas: (1 + 1 - 1 - 1) / 4 = 0 at position 0: D = 0, every net statistic null
    expect(j.runs[0].net_change).toBeCloseTo(0, 12);
    expect(j.runs[0].net_early_share).toBeNull();
    expect(j.warnings.join("\n")).toMatch(/different signs in the pooled probe sets \(harmful: 1\.00, refusal: -1\.00\)/);
    expect(j.warnings.join("\n")).toMatch(/ignore training randomness/);
  });
  it("refuses a recipe pattern without a named group (usage error)", async () => {
    const r = await run(["summary", fx, "--recipe-pattern", "^(.+)-seed\\d+$"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/named group/);
  });
});

describe("compare", () => {
  it("compares two recipes of 3 runs each with the t rule over runs (METRICS 4 with 3.7) and Holm over the table", async () => {
    const r = await run(["compare", "sft", "aug", fx, "--k", "1", "--where", "split=harmful", "--recipe-pattern", "^(?<recipe>.+)-seed\\d+$", "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.comparisons).toHaveLength(1);
    const c = j.comparisons[0];
    expect(c).toMatchObject({ a: "sft", b: "aug", kind: ["recipe", "recipe"], examples: 2, dropped_examples: 0, B: 2000, probe_set: "harmful", runs_resampled: false });
    expect(c.ci_info).toMatchObject({ rule: "t", df: 2, runs: [3, 3] });
    expect(c.missing_examples).toEqual({ "sft-seed1": 0, "sft-seed2": 0, "sft-seed3": 0, "aug-seed1": 0, "aug-seed2": 0, "aug-seed3": 0 });
    const n = c.rows.find((x: { statistic: string }) => x.statistic === "net_early_share");
    // N1: sft 1, 0.8, 0.9 (mean 0.9, sd 0.1); aug 0.5, 0.4, 0.6 (mean 0.5, sd 0.1); identical examples: v_ex = 0.
    // se = sqrt(0.01/3 + 0.01/3) = 0.0816497; half-width t(2) se = 4.3026527 * 0.0816497 = 0.3513101
    expect(n.difference).toBeCloseTo(0.4, 12);
    expect([n.sd_a, n.sd_b].map((x: number) => Math.round(x * 1e9) / 1e9)).toEqual([0.1, 0.1]);
    expect(n.ci[0]).toBeCloseTo(0.4 - 0.3513101, 6);
    expect(n.ci[1]).toBeCloseTo(0.4 + 0.3513101, 6);
    // t = 0.4 / 0.0816497 = 4.898979; df 2: two-sided p = 1 - t / sqrt(2 + t^2) = 0.0392305 (not the runs-fixed 2 / 2001)
    expect(n.p).toBeCloseTo(1 - 4.898979486 / Math.sqrt(2 + 24), 7);
    expect(c.rows.map((x: { statistic: string }) => x.statistic)).toEqual(["net_early_share", "z90", "early_share"]);
    const text = await run(["compare", "sft", "aug", fx, "--k", "1", "--where", "split=harmful", "--recipe-pattern", "^(?<recipe>.+)-seed\\d+$"]);
    expect(text.stdout).toMatch(/interval and p: t rule over runs \(R = 3 and 3, df 2\)/);
  });
  it("counts the compared examples a run of a recipe lacks (seeds-missing.jsonl: seeds.jsonl without sft-seed2's h2)", async () => {
    const f = join(__dirname, "..", "fixtures", "stats", "seeds-missing.jsonl");
    const r = await run(["compare", "sft", "aug", f, "--k", "1", "--where", "split=harmful", "--recipe-pattern", "^(?<recipe>.+)-seed\\d+$", "--json"]);
    const c = JSON.parse(r.stdout).comparisons[0];
    expect(c).toMatchObject({ examples: 2, dropped_examples: 0 });
    expect(c.missing_examples).toEqual({ "sft-seed1": 0, "sft-seed2": 1, "sft-seed3": 0, "aug-seed1": 0, "aug-seed2": 0, "aug-seed3": 0 });
    // h1 and h2 are identical: sft-seed2's N1 on h1 alone is still 0.8, the difference still 0.4
    expect(c.rows[0].difference).toBeCloseTo(0.4, 12);
    expect(JSON.parse(r.stdout).warnings).toContain("run sft-seed2 of sft lacks 1 of the 2 compared examples: its statistics use the other 1");
  });
  it("compares two runs per probe set, and refuses unknown names", async () => {
    const r = await run(["compare", "sft-seed1", "aug-seed1", fx, "--k", "1", "--bootstrap", "2000", "--json"]);
    const j = JSON.parse(r.stdout);
    expect(j.comparisons.map((c: { probe_set: string }) => c.probe_set)).toEqual(["harmful", "refusal"]);
    expect(j.comparisons[0].rows[0].difference).toBeCloseTo(0.5, 12);
    expect(j.comparisons[1].rows[0].difference).toBeCloseTo(0, 12);
    expect(j.warnings.join("\n")).toMatch(/ignore training randomness/);
    const bad = await run(["compare", "sft", "nope", fx]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/neither a run/);
  });
});

describe("level share through summary", () => {
  it("gives L_k and its depths of kl at the last step (test/fixtures/compare: sft refusal kl [0.8, 0.1, 0])", async () => {
    const f = join(__dirname, "..", "fixtures", "compare", "logs.jsonl");
    const r = await run(["summary", f, "--where", "split=refusal", "--run", "sft", "--level-metric", "kl", "--k", "1", "--bootstrap", "0", "--json"]);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout).runs[0];
    // mu = (1 + 0.6) / 2, (0.2 + 0) / 2, 0 = 0.8, 0.1, 0: L1 = 0.8 / 0.9; z50 = 0.5 / (8/9) = 0.5625; z90 = 1 + (0.9 - 8/9) / (1/9) = 1.1
    expect(s.level_early_share).toBeCloseTo(8 / 9, 12);
    expect(s.level_z50).toBeCloseTo(0.5625, 12);
    expect(s.level_z90).toBeCloseTo(1.1, 12);
  });
});

describe("--probe-set names another label", () => {
  it("pools when the named label does not exist, and separates by it when it does", async () => {
    const none = JSON.parse((await run(["summary", fx, "--k", "1", "--bootstrap", "0", "--probe-set", "tag", "--run", "sft-seed1", "--json"])).stdout);
    expect(none.runs).toHaveLength(1);
    expect(none.runs[0].probe_set).toBeNull();
    const split = JSON.parse((await run(["summary", fx, "--k", "1", "--bootstrap", "0", "--probe-set", "split", "--run", "sft-seed1", "--json"])).stdout);
    expect(split.runs.map((r: { probe_set: string }) => r.probe_set)).toEqual(["harmful", "refusal"]);
  });
});

describe("one-run recipes", () => {
  it("use the run's own interval and say that it ignores training randomness; unmatched runs are named", async () => {
    const r = await run(["summary", fx, "--k", "1", "--bootstrap", "50", "--where", "split=harmful", "--recipe-pattern", "^(?<recipe>sft)-seed1$", "--json"]);
    const j = JSON.parse(r.stdout);
    const sft = j.recipes.find((x: { recipe: string }) => x.recipe === "sft");
    expect(sft).toMatchObject({ runs: 1, run_names: ["sft-seed1"] });
    expect(sft.ci_info.rule).toBe("one run");
    expect(sft.net_early_share).toBeCloseTo(1, 12);
    expect(sft.sd.net_early_share).toBeNull();
    const w = j.warnings.join("\n");
    expect(w).toMatch(/ignore training randomness/);
    expect(w).toMatch(/runs not matched by the recipe pattern: aug-seed1, aug-seed2, aug-seed3, sft-seed2, sft-seed3/);
  });
});

describe("a one-run recipe beside recipes with replicates", () => {
  it("is named in its own warning; the general one-run note (\"per recipe\") is not given", async () => {
    // sft-seed1, sft-seed2 and aug-seed1, aug-seed2 match; sft-seed3 and aug-seed3 stay recipes of one run
    const r = await run(["summary", fx, "--k", "1", "--bootstrap", "50", "--where", "split=harmful", "--recipe-pattern", "^(?<recipe>sft|aug)-seed[12]$", "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.recipes.find((x: { recipe: string }) => x.recipe === "sft")).toMatchObject({ runs: 2 });
    const w: string[] = j.warnings;
    expect(w).toContain("recipe sft-seed3 has one run: its interval covers the sampling of examples only and ignores training randomness (seeds)");
    expect(w).toContain("recipe aug-seed3 has one run: its interval covers the sampling of examples only and ignores training randomness (seeds)");
    expect(w.join("\n")).not.toMatch(/one run per recipe/);
  });
});

describe("a run whose net change cannot be told from 0", () => {
  it("is named when its net statistics enter the recipe's mean", async () => {
    // r-seed1: both examples rise at position 0 (D = 1); r-seed2: one rises by 1, one falls by 0.8 (D = 0.1,
    // and the bootstrap over its 2 examples gives D* in {1, 0.1, -0.8}: not distinguishable from 0)
    const f = join(mkdtempSync(join(tmpdir(), "shaky-")), "shaky.jsonl");
    const rows: object[] = [];
    const add = (run: string, ex: string, d0: number) => {
      rows.push({ run, step: 0, example: ex, loss: [1, 1] }, { run, step: 10, example: ex, loss: [1 + d0, 1] });
    };
    add("r-seed1", "e1", 1); add("r-seed1", "e2", 1); add("r-seed2", "e1", 1); add("r-seed2", "e2", -0.8);
    writeFileSync(f, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const r = await run(["summary", f, "--k", "1", "--bootstrap", "200", "--recipe-pattern", "^(?<recipe>.+)-seed\\d+$", "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.warnings).toContain("r-seed2: net change not distinguishable from 0: no interval for the net statistics");
    expect(j.warnings).toContain("recipe r: the net change of r-seed2 is not distinguishable from 0, yet its net statistics (N_k, z50, z90) enter the recipe's mean; read the mean with the per-run values");
    expect(j.recipes[0].net_early_share).toBeCloseTo(1, 12); // both runs' N1 is 1 (all change at position 0)
  });
});

describe("compare --attacks", () => {
  // test/fixtures/stats/seeds-attacks.jsonl, prefill, sft-seed1 vs aug-seed1 on examples e1..e4:
  //   k 5:  sft [1, 1, 1, 0], aug [0, 1, 0, 0]: table a 1, b 2, c 0, d 1: diff 3/4 - 1/4 = 0.5, McNemar p = 2 / 2^2 = 0.5
  //   k 10: sft [1, 0, 0, 0], aug [0, 0, 0, 0]: table a 0, b 1, c 0, d 3: diff 0.25, p = min(1, 2 / 2) = 1
  //   Holm over {0.5, 1}: 2 * 0.5 = 1, then 1: both 1.
  const attacksFx = join(__dirname, "..", "fixtures", "stats", "seeds-attacks.jsonl");
  it("adds the attack-success comparison to the JSON and the text (under 100 columns)", async () => {
    const argv = ["compare", "sft-seed1", "aug-seed1", fx, "--k", "1", "--where", "split=harmful", "--attacks", attacksFx];
    const r = await run([...argv, "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.comparisons).toHaveLength(1);
    expect(j.comparisons[0].rows[0].difference).toBeCloseTo(0.5, 12);
    expect(j.attacks).toMatchObject({ a: "sft-seed1", b: "aug-seed1", runs_a: ["sft-seed1"], runs_b: ["aug-seed1"], unmatched: [] });
    const [k5, k10] = j.attacks.rows;
    expect(k5).toMatchObject({ attack: "prefill", k: 5, method: "mcnemar-newcombe-paired", table: { a: 1, b: 2, c: 0, d: 1 }, examples: 4 });
    expect(k5.diff).toBeCloseTo(0.5, 15);
    expect(k5.p).toBeCloseTo(0.5, 15);
    expect(k5.p_holm).toBeCloseTo(1, 15);
    expect(k10).toMatchObject({ k: 10, table: { a: 0, b: 1, c: 0, d: 3 } });
    expect(k10.diff).toBeCloseTo(0.25, 15);
    expect(k10.p).toBeCloseTo(1, 15);
    const t = await run(argv);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/net_early_share/);
    expect(t.stdout).toMatch(/difference of attack success rates/);
    expect(t.stdout).toMatch(/prefill \(Holm over its 2 tests\)/);
    for (const line of t.stdout.split("\n")) expect(line.length).toBeLessThan(100);
  });
  it("without --attacks the JSON says attacks: null; --attack alone is a usage error", async () => {
    const r = await run(["compare", "sft-seed1", "aug-seed1", fx, "--k", "1", "--where", "split=harmful", "--json"]);
    expect(JSON.parse(r.stdout).attacks).toBeNull();
    const bad = await run(["compare", "sft-seed1", "aug-seed1", fx, "--attack", "prefill"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--attack needs --attacks/);
  });
  it("the API: compareRunsAll gives both comparisons", async () => {
    const { compareRunsAll, loadTokenLogs, loadAttackResults } = await import("../../src/index");
    const logs = await loadTokenLogs(fx, { progress: false });
    try {
      const res = await compareRunsAll(logs, await loadAttackResults(attacksFx), "sft-seed1", "aug-seed1", { k: 1, where: { split: "harmful" } });
      expect(res.updates[0].rows[0].difference).toBeCloseTo(0.5, 12);
      expect(res.attacks!.rows[0].diff).toBeCloseTo(0.5, 15);
      expect((await compareRunsAll(logs, null, "sft-seed1", "aug-seed1", { k: 1, where: { split: "harmful" } })).attacks).toBeNull();
    } finally {
      logs.close();
    }
  });
});
