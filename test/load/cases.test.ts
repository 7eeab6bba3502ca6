/**
 * The cases of logs as researchers write them (test/fixtures/cases), each with its right value
 * computed here independently of the kit (METRICS 1.1-1.4, 3.3).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { loadTokenLogs, positionProfile, positionStartWarnings, summary, updateProfile, UsageError } from "../../src/index";
import { run } from "../cli/run";

const C = join(__dirname, "..", "fixtures", "cases");
const HF = join(C, "hf_tokens.csv.gz");
const HF_COLUMNS = { run: "run_name", step: "global_step", example: "sample_id", position: "token_idx", loss: "nll", token: "token_str" };
const HF_FLAG = "run=run_name,step=global_step,example=sample_id,position=token_idx,loss=nll,token=token_str";

/** Splits one CSV line (quoted fields may hold commas and doubled quotes). */
function splitCsv(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) {
      if (c === '"' && line[i + 1] === '"') (cur += '"'), i++;
      else if (c === '"') q = false;
      else cur += c;
    } else if (c === '"') q = true;
    else if (c === ",") out.push(cur), (cur = "");
    else cur += c;
  }
  out.push(cur);
  return out;
}

/**
 * Absolute early share E_k (METRICS 3.3) of each run from its first to its last step, over the rows
 * `keep` selects, positions counted over the kept rows of each (run, step, example) in order.
 */
function earlyShareByHand(rows: Array<Record<string, string>>, keep: (r: Record<string, string>) => boolean, k = 5): Record<string, number> {
  const seqs = new Map<string, Array<{ idx: number; nll: number }>>();
  for (const r of rows) {
    if (!keep(r)) continue;
    const key = `${r.run_name}\u0000${r.global_step}\u0000${r.sample_id}`;
    const s = seqs.get(key) ?? [];
    s.push({ idx: Number(r.token_idx), nll: Number(r.nll) });
    seqs.set(key, s);
  }
  const value = new Map<string, number>(); // run|step|example|position -> loss
  const steps = new Map<string, Set<number>>();
  for (const [key, s] of seqs) {
    s.sort((a, b) => a.idx - b.idx);
    const [run, step, ex] = key.split("\u0000");
    s.forEach((t, p) => value.set(`${run}|${step}|${ex}|${p}`, t.nll));
    (steps.get(run) ?? steps.set(run, new Set()).get(run)!).add(Number(step));
  }
  const out: Record<string, number> = {};
  for (const [run, st] of steps) {
    const a = Math.min(...st);
    const b = Math.max(...st);
    const sums = new Map<number, { s: number; n: number }>();
    for (const [key, vb] of value) {
      const [r, step, ex, p] = key.split("|");
      if (r !== run || Number(step) !== b) continue;
      const va = value.get(`${run}|${a}|${ex}|${p}`);
      if (va === undefined) continue;
      const acc = sums.get(Number(p)) ?? { s: 0, n: 0 };
      acc.s += vb - va;
      acc.n++;
      sums.set(Number(p), acc);
    }
    let total = 0;
    let early = 0;
    for (const [p, { s, n }] of sums) {
      const d = Math.abs(s / n);
      total += d;
      if (p < k) early += d;
    }
    out[run] = early / total;
  }
  return out;
}

describe("case hf-style-log: own column names, prompt tokens labelled -100, NaN padding", () => {
  const lines = gunzipSync(readFileSync(HF)).toString("utf8").trim().split("\n");
  const header = splitCsv(lines[0]);
  const rows = lines.slice(1).map((l) => Object.fromEntries(splitCsv(l).map((v, i) => [header[i], v])));
  const byHand = earlyShareByHand(rows, (r) => r.labels !== "-100");

  it("the right value by hand: sft E5 about 0.97", () => {
    expect(byHand["sft-lr2e-5"]).toBeGreaterThan(0.96);
    expect(byHand["sft-lr2e-5"]).toBeLessThan(0.98);
  });

  for (const [name, opts] of [
    ["--unscored labels=-100", { unscored: { labels: -100 } }],
    ["--mask loss_mask", { mask: "loss_mask" }],
  ] as const) {
    it(`loads in one API call with ${name}: E5 equals the hand computation, positions re-based, prompt and padding rows counted`, async () => {
      const logs = await loadTokenLogs(HF, { columns: HF_COLUMNS, ...opts, progress: false });
      try {
        const s = await summary(logs, { k: 5, bootstrap: 0 });
        for (const r of s) expect(r.early_share).toBeCloseTo(byHand[r.run], 12);
        const scored = rows.filter((r) => r.labels !== "-100").length;
        expect(logs.report.tokens).toBe(scored);
        expect(logs.report.unscored?.rows).toBe(rows.length - scored);
        expect(logs.report.rebased).toBe(true);
        expect(logs.metrics).toEqual(["loss"]); // labels and loss_mask are never metrics
        expect(await positionStartWarnings(logs)).toEqual([]);
        const [{ lo }] = await logs.engine.rows<{ lo: number }>(`SELECT max(p) AS lo FROM (SELECT min("position") AS p FROM tokens GROUP BY run, step, example)`);
        expect(lo).toBe(0);
      } finally {
        logs.close();
      }
    });
  }

  it("one CLI command gives the same E5; without naming the unscored rows it refuses", async () => {
    const r = await run(["summary", HF, "--columns", HF_FLAG, "--unscored", "labels=-100", "--bootstrap", "0", "--json", "--no-progress"]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    const sft = out.runs.find((x: { run: string }) => x.run === "sft-lr2e-5");
    expect(sft.early_share).toBeCloseTo(byHand["sft-lr2e-5"], 12);
    expect(out.unscored.rows).toBe(rows.filter((x) => x.labels === "-100").length);
    expect(r.stderr).toMatch(/rows not scored, dropped \(--unscored labels=-100: \d+\)/);
    const refused = await run(["summary", HF, "--columns", HF_FLAG, "--bootstrap", "0", "--no-progress"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/field "loss": a scored row with no metric value .*--mask, --unscored or --span/);
  });

  it("convert writes the scored rows under the fields' names; the converted log gives the same E5", async () => {
    const { mkdtempSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "aligndepth-hfconv-"));
    try {
      for (const ext of ["jsonl", "parquet"]) {
        const out = join(dir, `hf.${ext}`);
        const c = await run(["convert", HF, "--columns", HF_FLAG, "--mask", "loss_mask", "--out", out, "--no-progress"]);
        expect(c.code).toBe(0);
        const r = await run(["summary", out, "--bootstrap", "0", "--json", "--no-progress"]);
        expect(r.code).toBe(0);
        const sft = JSON.parse(r.stdout).runs.find((x: { run: string }) => x.run === "sft-lr2e-5");
        expect(sft.early_share).toBeCloseTo(byHand["sft-lr2e-5"], 12);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a missing field's error names the columns that could be it; an unknown mapped column is a usage error", async () => {
    const r = await run(["profile", HF, "--no-progress"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('could be "run_name": name it with --columns run=run_name');
    const u = await run(["profile", HF, "--columns", "step=global_stp", "--no-progress"]);
    expect(u.code).toBe(2);
    expect(u.stderr).toContain('--columns step=global_stp: no input has a column "global_stp"');
    await expect(loadTokenLogs(HF, { columns: { ...HF_COLUMNS, loss: "nl" }, progress: false })).rejects.toThrow(UsageError);
  });

  it("a mask that is not boolean or 0/1 is a located usage error (exit 2)", async () => {
    const r = await run(["profile", HF, "--columns", HF_FLAG, "--mask", "token_str", "--no-progress"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--mask token: .*hf_tokens\.csv\.gz:2: field "token": expected a boolean or 0\/1/);
  });
});

describe("case prompt-tokens-segment: prompt tokens kept with a segment label", () => {
  const F = join(C, "prompt-tokens-segment.jsonl");
  it("with the span named: deltas -1.5, -0.1, 0.0 at positions 0-2, E5 = 1, d50 = d90 = 1, no warning", async () => {
    const logs = await loadTokenLogs(F, { span: { segment: "response" }, progress: false });
    try {
      const up = await updateProfile(logs, {});
      expect(up.map((r) => r.position)).toEqual([0, 1, 2]);
      expect(up[0].delta).toBeCloseTo(-1.5, 12);
      expect(up[1].delta).toBeCloseTo(-0.1, 12);
      expect(up[2].delta).toBeCloseTo(0, 12);
      const [s] = await summary(logs, { k: 5, bootstrap: 0 });
      expect(s.early_share).toBeCloseTo(1, 12);
      expect([s.d50, s.d90]).toEqual([1, 1]);
      expect(await positionStartWarnings(logs)).toEqual([]);
      expect(logs.report.unscored).toEqual({ rows: 20, byOption: { "--span segment=response": 20 } });
    } finally {
      logs.close();
    }
  });
  it("with --where only: every output warns that positions do not start at 0 (stderr and JSON)", async () => {
    const logs = await loadTokenLogs(F, { progress: false });
    try {
      const w = await positionStartWarnings(logs, { where: { segment: "response" } });
      expect(w).toHaveLength(1);
      expect(w[0]).toMatch(/^2 of 2 examples do not start at position 0 \(first position 4\) after --where segment=response/);
    } finally {
      logs.close();
    }
    for (const cmd of [["summary", "--bootstrap", "0"], ["profile"]]) {
      const r = await run([cmd[0], F, ...cmd.slice(1), "--where", "segment=response", "--json", "--no-progress"]);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/warning: 2 of 2 examples do not start at position 0/);
      expect(JSON.parse(r.stdout).warnings[0]).toMatch(/2 of 2 examples do not start at position 0/);
    }
  });
  it("validate warns (stderr and JSON) when a file's rows do not start at position 0", async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "aligndepth-offset-"));
    try {
      const f = join(dir, "offset.jsonl");
      writeFileSync(f, `${JSON.stringify({ run: "r", step: 0, example: "a", offset: 3, loss: [1, 2] })}\n${JSON.stringify({ run: "r", step: 0, example: "b", loss: [1, 2] })}\n`);
      const r = await run(["validate", f, "--json", "--no-progress"]);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).files[0].warnings[0]).toMatch(/^1 of 2 examples do not start at position 0 \(first position 3\) in the logs as loaded/);
      expect(r.stderr).toMatch(/warning: 1 of 2 examples do not start at position 0/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a span value that selects nothing is a usage error naming the values present", async () => {
    await expect(loadTokenLogs(F, { span: { segment: "answer" }, progress: false })).rejects.toThrow(/--span segment=answer selects no row \(values of "segment": "prompt", "response"\)/);
  });
});

describe("case logger-sparse-kl: kl measured at some checkpoints only", () => {
  const F = join(C, "logger-sparse-kl.jsonl");
  it("loads; loss analyses use steps 0, 50, 100; kl analyses use 0 and 100 and say how many rows", async () => {
    const logs = await loadTokenLogs(F, { progress: false });
    try {
      expect(logs.report.metricRows).toEqual({ loss: 18, kl: 12, logprob: 18 });
      const loss = await positionProfile(logs, { metric: "loss" });
      expect([...new Set(loss.map((r) => r.step))]).toEqual([0, 50, 100]);
      const kl = await positionProfile(logs, { metric: "kl" });
      expect([...new Set(kl.map((r) => r.step))]).toEqual([0, 100]);
      // kl at step 0, position 0: mean of p0 and p1 (0.998336, 0.445105)
      expect(kl.find((r) => r.step === 0 && r.position === 0)!.mean).toBeCloseTo((0.998336 + 0.445105) / 2, 12);
      expect(logs.report.notes).toContain('"kl" is measured at 12 of 18 rows (not measured elsewhere); analyses of "kl" use those rows');
    } finally {
      logs.close();
    }
    const r = await run(["profile", F, "--metric", "kl", "--json", "--no-progress"]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.rows_used).toBe(12);
    expect(out.metric_rows.kl).toBe(12);
    const l = JSON.parse((await run(["profile", F, "--json", "--no-progress"])).stdout);
    expect(l.rows_used).toBe(18);
  });

  it("convert keeps 'not measured' in every format and layout; a metric measured at part of a record cannot be written wide", async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "aligndepth-sparseconv-"));
    try {
      for (const [ext, layout] of [["jsonl", "long"], ["jsonl", "wide"], ["csv", "long"], ["parquet", "long"], ["parquet", "wide"]]) {
        const out = join(dir, `kl-${layout}.${ext}`);
        const c = await run(["convert", F, "--out", out, "--layout", layout, "--no-progress"]);
        expect(c.code, `${ext} ${layout}: ${c.stderr}`).toBe(0);
        const logs = await loadTokenLogs(out, { progress: false });
        try {
          expect(logs.report.metricRows, `${ext} ${layout}`).toEqual({ loss: 18, kl: 12, logprob: 18 });
          const kl = await positionProfile(logs, { metric: "kl" });
          expect(kl.find((r) => r.step === 0 && r.position === 0)!.mean).toBeCloseTo((0.998336 + 0.445105) / 2, 12);
        } finally {
          logs.close();
        }
      }
      const part = join(dir, "part.jsonl");
      writeFileSync(part, [0, 1].map((p) => JSON.stringify({ run: "r", step: 0, example: "a", position: p, loss: 1, ...(p === 0 ? { kl: 0.5 } : {}) })).join("\n") + "\n");
      const w = await run(["convert", part, "--out", join(dir, "part-wide.jsonl"), "--layout", "wide", "--no-progress"]);
      expect(w.code).toBe(1);
      expect(w.stderr).toContain('field "kl": measured at some positions of a (run, step, example) only');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the lab's files loaded together: token logs, gradient-norm logs and attack results", () => {
  it("profile 'dir/*.jsonl.gz' --metric grad_norm joins the gradient files by key and leaves the attack results out", async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { gzipSync } = await import("node:zlib");
    const dir = mkdtempSync(join(tmpdir(), "aligndepth-lab-"));
    try {
      const gz = (name: string, recs: object[]) => writeFileSync(join(dir, name), gzipSync(recs.map((r) => JSON.stringify(r)).join("\n") + "\n"));
      const tokens: object[] = [];
      const grads: object[] = [];
      const gradsWithLoss: object[] = [];
      for (const step of [0, 40])
        for (const e of [0, 1]) {
          const base = { run: "sft", step, example: `refusal-00${e}`, split: "refusal" };
          const loss = [1 + e, 0.5, 0.25].map((v) => v / (step + 1));
          tokens.push({ ...base, loss, kl: [0.1, 0.2, 0.3], token: ["I", " can", "not"] });
          if (step === 40) {
            grads.push({ ...base, grad_norm: [10 + e, 2, 1], token: ["I", " can", "not"] });
            gradsWithLoss.push({ ...base, loss, grad_norm: [10 + e, 2, 1], token: ["I", " can", "not"] });
          }
        }
      gz("tokens-sft.jsonl.gz", tokens);
      gz("gradnorm-sft.jsonl.gz", grads);
      gz("attacks.jsonl.gz", [{ run: "sft", attack: "prefill", example: "p000", k: 0, harmful: true }]);
      const r = await run(["profile", join(dir, "*.jsonl.gz"), "--metric", "grad_norm", "--json", "--no-progress"]);
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.rows_used).toBe(6);
      expect(out.rows.map((x: { step: number; position: number; mean: number }) => [x.step, x.position, x.mean])).toEqual([[40, 0, 10.5], [40, 1, 2], [40, 2, 1]]);
      expect(out.left_out).toEqual([{ path: join(dir, "attacks.jsonl.gz"), kind: "attack results" }]);
      expect(r.stderr).toContain(`left out ${join(dir, "attacks.jsonl.gz")}: it holds attack results, not token logs`);
      // The loss analyses still use every step.
      const l = JSON.parse((await run(["profile", join(dir, "*.jsonl.gz"), "--json", "--no-progress"])).stdout);
      expect(l.rows_used).toBe(12);
      // A gradient file that also carries the loss: the same metric twice for one key, naming both files.
      gz("gradnorm-sft.jsonl.gz", gradsWithLoss);
      const dup = await run(["profile", join(dir, "*.jsonl.gz"), "--metric", "grad_norm", "--no-progress"]);
      expect(dup.code).toBe(1);
      expect(dup.stderr).toContain(`field "loss": the same metric twice for 6 keys`);
      expect(dup.stderr).toContain("gradnorm-sft.jsonl.gz");
      expect(dup.stderr).toContain("tokens-sft.jsonl.gz");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
