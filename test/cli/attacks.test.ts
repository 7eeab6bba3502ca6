/** `aligndepth attacks`: the JSON contract, the table, and the exit codes, through `main`. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { run } from "./run";

const fx = (name: string) => join(__dirname, "..", "fixtures", "attacks", name);
const judge = [fx("judge/m1_prefilled_3_harmful_tokens.jsonl"), fx("judge/m1_prefilled_10_harmful_tokens.jsonl.gz")];


// METRICS v2 adds the interval's method, the distinct examples and the not-judged count to every row.
const ROW_KEYS = ["run", "attack", "k", "prefix_len", "span_len", "n", "harmful", "asr", "ci", "ci_method", "examples", "not_judged"];

describe("aligndepth attacks", () => {
  it("--json follows the contract on judge files", async () => {
    const r = await run(["attacks", ...judge, "--json", "--set", "run=m1", "--set", "attack=prefill", "--name-pattern", "prefilled_(?<k>\\d+)_harmful"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j)).toEqual(["threshold", "scale", "not_judged", "warnings", "rows"]);
    expect(j).toMatchObject({ scale: [1, 5], not_judged: { values: [], records: 0 }, warnings: [] });
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
    expect(j.rows).toEqual([{ run: "m1", attack: "prefill", k: 3, prefix_len: null, span_len: null, n: 4, harmful: 3, asr: 0.75, ci: [expect.closeTo(0.300642, 5), expect.closeTo(0.954413, 5)], ci_method: "wilson", examples: 4, not_judged: 0 }]);
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

describe("aligndepth attacks: judge scales and not-judged values (case judge-sentinel)", () => {
  const files = [fx("judge-sentinel/modelx_prefilled_5_harmful_tokens_judge_results.jsonl"), fx("judge-sentinel/modely_prefilled_5_harmful_tokens_judge_results.jsonl.gz")];
  const base = ["--set", "attack=prefill", "--name-pattern", "^(?<run>model[xy])_prefilled_(?<k>\\d+)_harmful"];
  for (const file of files) {
    it(`${file.endsWith(".gz") ? "gzip" : "plain"}: -1 outside the 1:5 scale is an error naming field, reason and lines (exit 1)`, async () => {
      const r = await run(["attacks", file, ...base]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      const lines = r.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`${file}:4: field "score": score outside the judge scale 1:5`);
      expect(lines[0]).toContain("(3 lines: 4, 7, 10)");
    });
    it(`${file.endsWith(".gz") ? "gzip" : "plain"}: --not-judged=-1 gives n 7, harmful 4, ASR 0.5714 and says 3 were not judged`, async () => {
      const j = await run(["attacks", file, ...base, "--not-judged=-1", "--json"]);
      expect(j.code).toBe(0);
      const out = JSON.parse(j.stdout);
      expect(out.not_judged).toEqual({ values: [-1], records: 3 });
      expect(out.rows).toHaveLength(1);
      expect(out.rows[0]).toMatchObject({ k: 5, n: 7, harmful: 4, not_judged: 3, ci_method: "wilson" });
      expect(out.rows[0].asr).toBeCloseTo(4 / 7, 12);
      expect(j.stderr).toContain("3 records were not judged (score -1): left out of n");
      const t = await run(["attacks", file, ...base, "--not-judged", "-1"]);
      expect(t.code).toBe(0);
      const row = t.stdout.split("\n").find((l) => l.includes("prefill"))!.trim().split(/\s+/);
      expect(row.slice(5, 8)).toEqual(["7", "4", "0.5714"]);
      expect(row[row.length - 1]).toBe("3"); // the not_judged column
      expect(t.stdout).toContain("3 records were not judged");
    });
  }
  it("warns (stderr and JSON) when no score reaches the threshold", async () => {
    const r = await run(["attacks", files[0], ...base, "--not-judged=-1", "--scale", "-1:10", "--json"]).catch(() => null);
    expect(r!.code).toBe(2); // -1 inside the declared scale cannot also mean "not judged"
    const w = await run(["attacks", files[0], ...base, "--not-judged=-1", "--scale", "1:10", "--json"]);
    expect(w.code).toBe(0);
    const out = JSON.parse(w.stdout);
    expect(out.threshold).toBe(10);
    expect(out.warnings).toEqual([expect.stringContaining("no judge score reaches the threshold 10")]);
    expect(w.stderr).toContain("warning: no judge score reaches the threshold 10");
    expect(out.rows[0]).toMatchObject({ n: 7, harmful: 0 });
  });
  it("usage errors (exit 2): empty or invalid scale, bad --not-judged, bad --columns, --compare with one name", async () => {
    for (const extra of [["--scale", ""], ["--scale", "5:1"], ["--not-judged", "x"], ["--columns", "bogus=x"], ["--threshold", "7"], ["--compare", "modelx"], ["--recipe-pattern", "(?<r>x)"]]) {
      const r = await run(["attacks", files[0], ...base, ...extra]);
      expect(r.code, extra.join(" ")).toBe(2);
      expect(r.stderr).toMatch(/^error: /);
    }
  });
  it("--columns maps a judge file's own names", async () => {
    const r = await run(["attacks", files[0], ...base, "--not-judged=-1", "--columns", "example=idx", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).rows[0]).toMatchObject({ n: 7, harmful: 4 });
  });
});

describe("aligndepth attacks --compare and --by-example", () => {
  it("--compare A B: per-condition rows with McNemar, Newcombe, Cohen's h and Holm; text under 100 columns", async () => {
    const files = [fx("judge-sentinel/modelx_prefilled_5_harmful_tokens_judge_results.jsonl"), fx("judge-sentinel/modely_prefilled_5_harmful_tokens_judge_results.jsonl.gz")];
    const argv = ["attacks", ...files, "--set", "attack=prefill", "--name-pattern", "^(?<run>model[xy])_prefilled_(?<k>\\d+)_harmful", "--not-judged=-1", "--compare", "modelx", "modely"];
    const j = await run([...argv, "--json"]);
    expect(j.code).toBe(0);
    const out = JSON.parse(j.stdout);
    // the same scores in both files: a = 4 harmful in both, b = c = 0, d = 3: p = 1, diff 0
    expect(out.rows).toHaveLength(1);
    expect(out.rows[0]).toMatchObject({ attack: "prefill", k: 5, method: "mcnemar-newcombe-paired", table: { a: 4, b: 0, c: 0, d: 3 }, p: 1, p_holm: 1, diff: 0, cohen_h: 0, not_judged_a: 3, not_judged_b: 3 });
    const t = await run(argv);
    expect(t.code).toBe(0);
    for (const l of t.stdout.split("\n")) expect(l.length, l).toBeLessThan(100);
    expect(t.stdout).toContain("modelx vs modely");
    expect(t.stdout).toContain("\ninterval and p: one run per side: the interval and p ignore training randomness (seeds)\n");
    expect(out.rows[0].rule).toBe("runs fixed");
    expect(out.warnings).toContain("interval and p: one run per side: the interval and p ignore training randomness (seeds)");
    const bad = await run([...argv.slice(0, -2), "modelx", "nobody"]);
    expect(bad.code).toBe(2);
  });
  it("--by-example ranks prompts by harmful outcomes with their share", async () => {
    const r = await run(["attacks", fx("results.jsonl"), "--by-example", "--attack", "insertion", "--json"]);
    expect(r.code).toBe(0);
    const [b] = JSON.parse(r.stdout).breakdown;
    // insertion, sft: a harmful at (0,2) and (2,2), not at (0,4); b harmful at (0,2); c not harmful: 3 harmful in all
    expect(b).toMatchObject({ run: "sft", attack: "insertion", outcome: "harmful", harmful: 3, records: 6, examples: 3, examples_with_outcome: 2, examples_for_half: 1 });
    expect(b.rows.map((x: { example: string; harmful: number }) => [x.example, x.harmful])).toEqual([["a", 2], ["b", 1], ["c", 0]]);
    expect(b.rows[0].share).toBeCloseTo(2 / 3, 14);
    const t = await run(["attacks", fx("results.jsonl"), "--by-example"]);
    expect(t.stdout).toContain("1 of 3 examples carry half of the 3 harmful outcomes");
    const f = await run(["attacks", fx("results.jsonl"), "--by-example", "--attack", "insertion", "--outcome", "not_harmful", "--json"]);
    // not harmful: a once (0,4), b once (2,2), c once (2,2): 3 outcomes, ties by id
    expect(JSON.parse(f.stdout).breakdown[0].rows.map((x: { example: string; not_harmful: number }) => [x.example, x.not_harmful])).toEqual([["a", 1], ["b", 1], ["c", 1]]);
  });
});
