/**
 * The lab's smoke configuration, run for real (PyTorch under /usr/bin/python3), and its logs read by
 * the kit: every token log validates and loads, the seeds group into recipes, the attack results
 * (greedy and sampled) load, and the summary has a value for every run.
 */
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadAttackResults, loadTokenLogs, summary } from "../../src/index";
import { main } from "../../src/cli/main";
import { groupRecipes } from "../../src/stats/recipes";
import type { Output } from "../../src/cli/output";

const root = join(__dirname, "..", "..");
const python = process.env.LAB_PYTHON ?? "/usr/bin/python3";
const hasTorch = existsSync(python) && spawnSync(python, ["-c", "import torch"]).status === 0;

describe.skipIf(!hasTorch)("lab smoke run", () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ad-lab-"));
    // Asynchronous, so that the test worker keeps answering vitest while PyTorch trains.
    await promisify(execFile)(python, ["-m", "aligndepth_lab", "run", "--smoke", "--out", dir], {
      cwd: root,
      env: { ...process.env, PYTHONPATH: join(root, "lab") },
      timeout: 540_000,
      maxBuffer: 64 * 1024 * 1024,
    });
  }, 600_000);

  // The smoke plan: 3 recipes x 2 alignment seeds on the main base, sft on each ablation's base.
  const core = ["augment-seed1", "augment-seed2", "sft-seed1", "sft-seed2", "worst_insertion-seed1", "worst_insertion-seed2"];
  const runs = [...core, "sft-derail0-seed1", "sft-lowconsistency-seed1", "sft-pretrain2-seed1"].sort();

  it("writes token logs that `aligndepth validate` accepts (each log family on its own: they share keys)", async () => {
    const all = readdirSync(join(dir, "lab"));
    for (const [family, n] of [["tokens-", runs.length], ["gradnorm-", core.length], ["finetune-", runs.length]] as const) {
      const files = all.filter((f) => f.startsWith(family) && f.endsWith(".jsonl.gz"));
      expect(files).toHaveLength(n);
      let out = "";
      const o: Output = { json: (v) => (out += JSON.stringify(v)), text: () => undefined, note: () => undefined };
      const code = await main(["validate", ...files.map((f) => join(dir, "lab", f)), "--json"], o);
      const res = JSON.parse(out) as { files: Array<{ path: string; valid: boolean; rows: number }> };
      expect(res.files.map((f) => f.valid)).toEqual(files.map(() => true));
      expect(code).toBe(0);
      for (const f of res.files) expect(f.rows).toBeGreaterThan(0);
    }
  }, 120_000);

  it("writes gradient-norm files of the core runs with grad_norm and labels only (no loss: the token logs carry it)", () => {
    const files = readdirSync(join(dir, "lab")).filter((f) => f.startsWith("gradnorm-")).sort();
    expect(files).toEqual(core.map((r) => `gradnorm-${r}.jsonl.gz`));
    for (const f of files) {
      const recs = gunzipSync(readFileSync(join(dir, "lab", f))).toString("utf8").trim().split("\n").map((l) => JSON.parse(l));
      for (const r of recs) {
        expect(Object.keys(r).sort()).toEqual(
          ["base", "consistency", "derail", "example", "grad_norm", "method", "recipe", "run", "seed", "segment", "split", "step", "token"],
        );
        expect(r.grad_norm).toHaveLength(r.token.length);
      }
    }
  });

  it("token logs and gradient-norm files load together: grad_norm joins loss and kl by key", async () => {
    const logs = await loadTokenLogs([join(dir, "lab", "tokens-*.jsonl.gz"), join(dir, "lab", "gradnorm-*.jsonl.gz")], { progress: false });
    expect(logs.metrics).toEqual(expect.arrayContaining(["loss", "kl", "grad_norm"]));
    expect(await logs.runs()).toEqual(runs);
    logs.close();
  }, 120_000);

  it("writes attack results the kit reads: every model, greedy and sampled, the out-of-distribution and fine-tuning attacks", async () => {
    const { records, report } = await loadAttackResults(join(dir, "lab", "attacks.jsonl.gz"));
    expect(report.recordsSkipped).toBe(0);
    expect(report.recordsUsed).toBe(records.length);
    const bases = ["base", "base-derail0", "base-lowconsistency", "base-pretrain2"];
    const finetuned = runs.map((r) => r.replace(/-seed(\d+)$/, "-finetune-seed$1"));
    expect([...new Set(records.map((r) => r.run))].sort()).toEqual([...bases, ...runs, ...finetuned].sort());
    expect([...new Set(records.map((r) => r.attack))].sort()).toEqual(["finetune", "insertion", "insertion_foreign", "prefill"]);
    expect([...new Set(records.map((r) => r.conditions.decoding))].sort()).toEqual(["greedy", "sampled"]);
    const sampled = records.filter((r) => r.conditions.decoding === "sampled");
    expect(sampled.length).toBeGreaterThan(0);
    expect([...new Set(sampled.map((r) => r.sample))].sort()).toEqual([0, 1]);
    expect(records.filter((r) => r.conditions.decoding === "greedy").every((r) => r.sample === null)).toBe(true);
  }, 60_000);

  it("loads every run with loss and kl, groups the seeds by the run-name pattern, and the refusal probes have an update", async () => {
    const logs = await loadTokenLogs(join(dir, "lab", "tokens-*.jsonl.gz"), { progress: false });
    expect(await logs.runs()).toEqual(runs);
    expect(logs.metrics).toEqual(expect.arrayContaining(["loss", "kl"]));
    const grouping = groupRecipes(runs, { pattern: "^(?<recipe>.+)-seed\\d+$" });
    expect([...grouping.runsOf.keys()].sort()).toEqual(
      ["augment", "sft", "sft-derail0", "sft-lowconsistency", "sft-pretrain2", "worst_insertion"],
    );
    expect(grouping.runsOf.get("sft")).toEqual(["sft-seed1", "sft-seed2"]);
    const res = await summary(logs, { where: { split: "refusal" }, bootstrap: 20 });
    expect(res).toHaveLength(runs.length);
    for (const r of res) {
      expect(r.early_share).not.toBeNull();
      expect(r.examples).toBeGreaterThan(0);
    }
    logs.close();
  }, 120_000);
});
