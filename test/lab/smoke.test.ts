/**
 * The lab's smoke configuration, run for real (PyTorch under /usr/bin/python3), and its logs read by
 * the kit: every token log validates and loads, and the summary has a value for every recipe.
 */
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadAttackResults, loadTokenLogs, summary } from "../../src/index";
import { main } from "../../src/cli/main";
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

  it("writes token logs that `aligndepth validate` accepts (each log family on its own: they share keys)", async () => {
    const all = readdirSync(join(dir, "lab"));
    for (const family of ["tokens-", "gradnorm-"]) {
      const files = all.filter((f) => f.startsWith(family) && f.endsWith(".jsonl.gz"));
      expect(files).toHaveLength(3);
      let out = "";
      const o: Output = { json: (v) => (out += JSON.stringify(v)), text: () => undefined, note: () => undefined };
      const code = await main(["validate", ...files.map((f) => join(dir, "lab", f)), "--json"], o);
      const res = JSON.parse(out) as { files: Array<{ path: string; valid: boolean; rows: number }> };
      expect(res.files.map((f) => f.valid)).toEqual(files.map(() => true));
      expect(code).toBe(0);
      for (const f of res.files) expect(f.rows).toBeGreaterThan(0);
    }
  });

  it("writes attack results the kit reads: every run, both attacks", async () => {
    const { records, report } = await loadAttackResults(join(dir, "lab", "attacks.jsonl.gz"));
    expect(report.recordsSkipped).toBe(0);
    expect(report.recordsUsed).toBe(records.length);
    expect([...new Set(records.map((r) => r.run))].sort()).toEqual(["augment", "base", "sft", "worst_insertion"]);
    expect([...new Set(records.map((r) => r.attack))].sort()).toEqual(["insertion", "prefill"]);
  });

  it("loads every recipe with loss and kl, and the refusal probes have an update", async () => {
    const logs = await loadTokenLogs(join(dir, "lab", "tokens-*.jsonl.gz"), { progress: false });
    expect(await logs.runs()).toEqual(["augment", "sft", "worst_insertion"]);
    expect(logs.metrics).toEqual(expect.arrayContaining(["loss", "kl"]));
    const runs = await summary(logs, { where: { split: "refusal" }, bootstrap: 20 });
    expect(runs).toHaveLength(3);
    for (const r of runs) {
      expect(r.early_share).not.toBeNull();
      expect(r.examples).toBeGreaterThan(0);
    }
    logs.close();
  });
});
