/** `aligndepth attacks`: the JSON contract, the table, and the exit codes, through `main`. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { run } from "./run";

const fx = (name: string) => join(__dirname, "..", "fixtures", "attacks", name);
const judge = [fx("judge/m1_prefilled_3_harmful_tokens.jsonl"), fx("judge/m1_prefilled_10_harmful_tokens.jsonl.gz")];


const ROW_KEYS = ["run", "attack", "k", "prefix_len", "span_len", "n", "harmful", "asr", "ci"];

describe("aligndepth attacks", () => {
  it("--json follows the contract on judge files", async () => {
    const r = await run(["attacks", ...judge, "--json", "--set", "run=m1", "--set", "attack=prefill", "--name-pattern", "prefilled_(?<k>\\d+)_harmful"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j)).toEqual(["threshold", "rows"]);
    expect(j.threshold).toBe(5);
    expect(j.rows).toHaveLength(2);
    for (const row of j.rows) expect(Object.keys(row)).toEqual(ROW_KEYS);
    // k=3: 2/4, Wilson [0.150039, 0.849961]; k=10: 3/4, [0.300642, 0.954413]
    expect(j.rows[0]).toMatchObject({ run: "m1", attack: "prefill", k: 3, prefix_len: null, span_len: null, n: 4, harmful: 2, asr: 0.5 });
    expect(j.rows[0].ci[0]).toBeCloseTo(0.150039, 5);
    expect(j.rows[0].ci[1]).toBeCloseTo(0.849961, 5);
    expect(j.rows[1]).toMatchObject({ k: 10, n: 4, harmful: 3, asr: 0.75 });
    expect(j.rows[1].ci[0]).toBeCloseTo(0.300642, 5);
    expect(j.rows[1].ci[1]).toBeCloseTo(0.954413, 5);
  });
  it("--threshold changes what counts as harmful", async () => {
    const r = await run(["attacks", judge[0], "--json", "--threshold", "3", "--set", "run=m1", "--set", "attack=prefill", "--set", "k=3"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.threshold).toBe(3);
    expect(j.rows).toEqual([{ run: "m1", attack: "prefill", k: 3, prefix_len: null, span_len: null, n: 4, harmful: 3, asr: 0.75, ci: [expect.closeTo(0.300642, 5), expect.closeTo(0.954413, 5)] }]);
  });
  it("prints a readable table without --json", async () => {
    const r = await run(["attacks", fx("results.jsonl")]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[1].split(/\s+/)).toEqual(["run", "attack", "k", "prefix_len", "span_len", "n", "harmful", "asr", "ci_lo", "ci_hi"]);
    expect(lines).toHaveLength(3 + 6);
    expect(lines[8].split(/\s+/)).toEqual(["sft", "prefill", "10", "-", "-", "3", "2", "0.6667", "0.2077", "0.9385"]);
  });
  it("exits 1 on invalid input, naming file, line and field", async () => {
    const r = await run(["attacks", judge[0], "--json"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`${judge[0]}:1: field "run": missing`);
  });
  it("exits 2 on usage errors", async () => {
    for (const argv of [
      ["attacks", judge[0], "--set", "run"],
      ["attacks", judge[0], "--name-pattern", "("],
      ["attacks", judge[0], "--threshold", "high"],
      ["attacks"],
    ]) {
      const r = await run(argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.stderr).toMatch(/^error: /);
    }
  });
  it("--help lists the options and exits 0", async () => {
    const r = await run(["attacks", "--help"]);
    expect(r.code).toBe(0);
    for (const o of ["--threshold", "--set", "--name-pattern", "--skip-invalid", "--json"]) expect(r.stdout).toContain(o);
    const top = await run(["--help"]);
    expect(top.stdout).toContain("attacks");
  });
  it("--skip-invalid uses the valid lines and notes the rest", async () => {
    const r = await run(["attacks", judge[0], "--json", "--skip-invalid", "--set", "attack=prefill"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.rows).toEqual([]);
    expect(j.skipped).toEqual({ records: 4, by_reason: { "missing-field": 4 } });
    expect(r.stderr).toContain("skipped 4 of 4 records");
  });
});
