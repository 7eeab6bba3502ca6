/** `aligndepth dynamics`: the JSON contract on the hand-made fixture, the text output, and the exit codes. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { run } from "./run";

const dir = join(__dirname, "..", "fixtures", "dynamics");
const files = ["influence-sft.jsonl", "train-gradient-sft.jsonl", "probe-change-sft.jsonl"].map((f) => join(dir, f));

describe("aligndepth dynamics", () => {
  it("--json holds every statistic, the approximation table and the warnings", async () => {
    const r = await run(["dynamics", ...files, "--k", "2", "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j)).toEqual(["k", "recipe_pattern", "runs", "influence", "train_gradient", "approximation", "recipes", "recipe_train_gradient", "left_out", "warnings"]);
    expect(j.k).toBe(2);
    expect(j.recipe_pattern).toBe("^(?<recipe>.+)-seed\\d+$");
    // sft-seed1, step 0, harmful, k = 2: S_2 0.95, token share 0.8, z50 5/7, z90 1.8, X_2 0.75
    const a = j.influence.find((x: { run: string; step: number; split: string }) => x.run === "sft-seed1" && x.step === 0 && x.split === "harmful");
    expect(a).toMatchObject({ recipe: "sft", net_influence: -1.25, positions: 3, sources: 3, missing_cells: 0, source_max_cumulative: null, check_ratio_of_sums: 1 });
    expect(a.check_pearson_r).toBeCloseTo(Math.sqrt(4 / 7), 12);
    expect(a.check_relative_l2_error).toBeCloseTo(0.17677669529663687 / 0.75, 12);
    expect(a.source_early_share).toBeCloseTo(0.95, 12);
    expect(a.token_share).toBeCloseTo(0.8, 12);
    expect(a.source_z50).toBeCloseTo(5 / 7, 12);
    expect(a.source_z90).toBeCloseTo(1.8, 12);
    expect(a.cross_influence).toBeCloseTo(0.75, 12);
    // refusal step 0, k = 2: S_2 0.75, X_2 -1
    const b = j.influence.find((x: { run: string; step: number; split: string }) => x.run === "sft-seed1" && x.step === 0 && x.split === "refusal");
    expect(b.source_early_share).toBeCloseTo(0.75, 12);
    expect(b.cross_influence).toBeCloseTo(-1, 12);
    expect([b.check_pearson_r, b.check_ratio_of_sums, b.check_relative_l2_error]).toEqual([null, null, null]); // no probe-change log
    // training gradient, sft-seed1 step 0, k = 2: L_2 = 5/6, token share 0.8
    expect(j.train_gradient[0]).toMatchObject({ run: "sft-seed1", step: 0, recipe: "sft", k: 2 });
    expect(j.train_gradient[0].level_early_share).toBeCloseTo(5 / 6, 12);
    expect(j.train_gradient[0].positions[0]).toEqual({ source_position: 0, train_grad_norm: 3, n_tokens: 4, grad_norm_per_token: 0.75 });
    // approximation table
    expect(j.approximation.map((x: { run: string; step: number; split: string }) => [x.run, x.step, x.split])).toEqual([["sft-seed1", 0, "harmful"], ["sft-seed1", 10, "harmful"]]);
    expect(j.approximation[0].pearson_r).toBeCloseTo(Math.sqrt(4 / 7), 12);
    expect(j.approximation[0].ratio_of_sums).toBeCloseTo(1, 12);
    expect(j.approximation[0].relative_l2_error).toBeCloseTo(0.17677669529663687 / 0.75, 12);
    // recipe sft, harmful, step 0, k = 2: S_2 seeds [0.95, 1]: mean 0.975, sd 0.035355339, t(1) half width 12.7062 * 0.025 = 0.31765511840
    const rec = j.recipes.find((x: { recipe: string; split: string; step: number }) => x.recipe === "sft" && x.split === "harmful" && x.step === 0);
    expect(rec.run_names).toEqual(["sft-seed1", "sft-seed2"]);
    expect(rec.source_early_share.mean).toBeCloseTo(0.975, 12);
    expect(rec.source_early_share.sd).toBeCloseTo(Math.sqrt(0.00125), 12);
    expect(rec.source_early_share.ci[0]).toBeCloseTo(0.975 - 12.706204736174698 * 0.025, 9);
    expect(rec.source_early_share.ci[1]).toBeCloseTo(0.975 + 12.706204736174698 * 0.025, 9);
    expect(j.left_out).toMatch(/momentum/);
    expect(j.warnings[0]).toBe(j.left_out);
    expect(r.stderr).toContain("warning: the influence is a first-order estimate that leaves out momentum");
  });
  it("prints sentences and tables without --json", async () => {
    const r = await run(["dynamics", ...files, "--k", "1"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("sft, harmful probes, step 0: training positions < 1 cause 60% (95% CI across 2 seeds -67% to 187%)");
    const lines = r.stdout.split("\n");
    const head = lines.findIndex((l) => /^run\s+recipe\s+step\s+split\s+S1\s+token_share\s+z50\s+z90\s+X1\s+check_rel_error$/.test(l.trim()));
    expect(head).toBeGreaterThan(0);
    expect(lines[head + 2].trim().split(/\s+/)).toEqual(["sft-seed1", "sft", "0", "harmful", "0.7000", "0.4000", "0.7143", "1.8000", "0.6000", "0.2357"]);
  });
  it("--tokens joins with token logs by run and step, and warns about unmatched steps", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "aligndepth-dyntok-"));
    const tok = join(tmp, "tokens.jsonl");
    writeFileSync(tok, '{"run": "sft-seed1", "step": 0, "example": 1, "position": 0, "loss": 1}\n{"run": "sft-seed1", "step": 10, "example": 1, "position": 0, "loss": 0.5}\n');
    const r = await run(["dynamics", ...files, "--tokens", tok, "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.token_join).toEqual({ matched: [{ run: "sft-seed1", step: 0 }, { run: "sft-seed1", step: 10 }], unmatched: [{ run: "sft-seed2", step: 0 }], runsMissing: ["sft-seed2"] });
    expect(j.warnings).toContain('1 (run, step) pairs of the dynamics logs have no token-log checkpoint at the same step (e.g. run "sft-seed2", step 0)');
  });
  it("--tokens takes the load options of every command (--columns, --unscored, --mask, --span)", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "aligndepth-dyntokmap-"));
    const tok = join(tmp, "hf.jsonl");
    // a Hugging Face-style dump: its own column names, a prompt token with labels -100, a 0/1 mask and a segment label
    const row = (step: number, idx: number, labels: number, nll: number) => JSON.stringify({ run: "sft-seed1", global_step: step, sample_id: 1, token_idx: idx, labels, nll, keep: 1, segment: idx === 0 ? "prompt" : "response" });
    writeFileSync(tok, [row(0, 0, -100, 9), row(0, 1, 5, 1), row(10, 0, -100, 9), row(10, 1, 5, 0.5)].join("\n") + "\n");
    const mapped = ["--tokens", tok, "--columns", "step=global_step,example=sample_id,position=token_idx,loss=nll"];
    const want = { matched: [{ run: "sft-seed1", step: 0 }, { run: "sft-seed1", step: 10 }], unmatched: [{ run: "sft-seed2", step: 0 }], runsMissing: ["sft-seed2"] };
    for (const extra of [["--unscored", "labels=-100"], ["--span", "segment=response", "--mask", "keep"]]) {
      const r = await run(["dynamics", ...files, ...mapped, ...extra, "--json"]);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).token_join).toEqual(want);
    }
    const unmapped = await run(["dynamics", ...files, "--tokens", tok, "--json"]);
    expect(unmapped.code).toBe(1);
    expect(unmapped.stderr).toMatch(/hf.jsonl:1: field "position"/);
  });
  it("--compare A B: the difference of two recipes' S_k and X_k across seeds, in JSON and in sentences", async () => {
    // each seed its own recipe: harmful step 0, S_1 0.7 (seed 1) and 0.5 (seed 2); X_1 0.6 and null (statistics.test.ts)
    const pattern = ["--recipe-pattern", "^(?<recipe>sft-seed\\d)$"];
    const r = await run(["dynamics", ...files, "--k", "1", ...pattern, "--compare", "sft-seed1", "sft-seed2", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const c = JSON.parse(r.stdout).contrast;
    expect(c.a).toBe("sft-seed1");
    expect(c.source_early_share).toHaveLength(1); // only harmful step 0 has both
    expect(c.source_early_share[0]).toMatchObject({ split: "harmful", step: 0, mean_a: 0.7, mean_b: 0.5, runs_a: 1, runs_b: 1, ci: null, p: null, method: "none" });
    expect(c.source_early_share[0].delta).toBeCloseTo(0.2, 12);
    expect(c.cross_influence[0]).toMatchObject({ mean_a: 0.6, mean_b: null, delta: null, n_null_b: 1 });
    const text = await run(["dynamics", ...files, "--k", "1", ...pattern, "--compare", "sft-seed1", "sft-seed2"]);
    expect(text.stdout).toContain("S1 on the harmful probes, step 0: sft-seed1 70% (1 seed) against sft-seed2 50% (1 seed), a difference of +20 points (one seed on a side: no interval, and it ignores training randomness).");
    const bad = await run(["dynamics", ...files, "--compare", "sft", "nope"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('dynamics: --compare: "nope" is not a recipe of these logs (sft)');
  });
  it("exits 1 on invalid input, naming file, line and field", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "aligndepth-dyncli-"));
    const f = join(tmp, "influence-bad.jsonl");
    writeFileSync(f, '{"run": "r", "step": 0, "split": "h", "position": 0, "source_position": 0, "influence": 1}\n{"run": "r", "step": "0", "split": "h", "position": 1, "source_position": 0, "influence": 1}\n');
    const r = await run(["dynamics", f, "--json"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`error: ${f}:2: field "step": expected an integer >= 0, got "0"`);
  });
  it("--skip-invalid uses the valid lines and says what it left out; a file of another kind exits 1", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "aligndepth-dynskip-"));
    const f = join(tmp, "influence-some-bad.jsonl");
    writeFileSync(f, '{"run": "r-seed1", "step": 0, "split": "h", "position": 0, "source_position": 0, "influence": -1}\n{"run": "r-seed1", "step": 0, "split": "h", "position": 1, "source_position": 0, "influence": NaN}\n');
    const r = await run(["dynamics", f, "--json", "--skip-invalid"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("skipped 1 of 2 records (1 not-finite); used 1");
    const j = JSON.parse(r.stdout);
    expect(j.warnings).toContain("skipped 1 of 2 records (1 not-finite)");
    expect(j.influence[0]).toMatchObject({ run: "r-seed1", source_early_share: 1, positions: 1, sources: 1 });
    const other = join(tmp, "tokens.jsonl");
    writeFileSync(other, '{"run": "r", "step": 0, "example": 1, "position": 0, "loss": 1}\n');
    const bad = await run(["dynamics", other]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`error: ${other}: not a learning-dynamics log: its name must start with influence-, train-gradient-, probe-change-`);
  });
  it("exits 2 on usage errors, including logs without influence records", async () => {
    for (const argv of [
      ["dynamics"],
      ["dynamics", ...files, "--k", "0"],
      ["dynamics", ...files, "--recipe-pattern", "^(.+)$"],
      ["dynamics", ...files, "--recipe-pattern", "("],
      ["dynamics", files[1]],
    ]) {
      const r = await run(argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.stderr).toMatch(/^error: /);
    }
  });
});
